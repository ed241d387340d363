#pragma once
/// \file
/// The table a model says it has, against the table the database has.
///
/// `CREATE TABLE IF NOT EXISTS` does nothing to a table that exists, so a field added to
/// a model meets last week's table without it. gocp checks the table when a repository
/// first uses it (and after `create_table()`): a missing column, a column whose declared
/// type cannot hold the field's values, or a unique set (unique field, unique_together)
/// with no unique index behind it is a ConfigurationError naming the table and the
/// columns. The last matters as much as the first: get_or_create is race-free only
/// because the database rejects the second row.
///
/// `sync_schema()` is the explicit, additive repair (sqlite_orm's `sync_schema()` is the
/// model): it creates a missing table, adds missing columns (a NOT NULL one with the
/// model's default object's value as its DEFAULT, so existing rows get what `Model{}`
/// has) and missing unique indexes. It never drops, renames or retypes anything; that is
/// a migration, which gocp does not do.
///
/// Both `create_table()` and `sync_schema()` then call Database::watch_table() for the
/// model's tables: on PostgreSQL opened with `?watch=notify`, that installs the triggers
/// that make every writer's changes reach the caches (backends/postgres.hpp).

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "db/database.hpp"
#include "detail/config.hpp"
#include "detail/chrono.hpp"
#include "detail/reverse_relations.hpp"
#include "orm/detail/sql.hpp"
#include "errors.hpp"
#include "model.hpp"

namespace gocp {

/// What sync_schema() changed; all empty when the table already matched the model.
struct SchemaChanges {
  bool created_table = false;  ///< the table did not exist and was created whole
  std::vector<std::string> added_columns;  ///< column names
  std::vector<std::string> added_indexes;  ///< index names
  /// Nothing was changed.
  bool empty() const noexcept { return !created_table && added_columns.empty() && added_indexes.empty(); }
};

namespace detail {

/// A table as the database describes it.
struct TableShape {
  struct Column {
    std::string name;
    std::string declared_type;
  };
  std::vector<Column> columns;                           ///< empty: no such table
  std::vector<std::vector<std::string>> unique_indexes;  ///< the columns of each plain unique index

  bool exists() const noexcept { return !columns.empty(); }
  const Column* column(std::string_view name) const {
    for (const Column& c : columns)
      if (c.name == name) return &c;
    return nullptr;
  }
};

GOCP_INLINE TableShape read_table_shape(Connection& conn, const Dialect& d, const ModelInfo& info);

/// How the model's table differs from the database's.
struct SchemaDrift {
  std::vector<std::size_t> missing_columns;
  std::vector<std::size_t> mistyped_columns;
  std::vector<std::size_t> unbacked_unique_sets;  ///< indexes into ModelInfo::unique_sets

  bool empty() const noexcept {
    return missing_columns.empty() && mistyped_columns.empty() && unbacked_unique_sets.empty();
  }
};

/// A unique set is backed when a unique index covers some of its columns and nothing
/// else: the database then rejects a second row with the set's values. The primary key
/// is the table's own (SQLite's INTEGER PRIMARY KEY is the rowid, with no index to list).
GOCP_INLINE bool unique_set_backed(const ModelInfo& info, const std::vector<std::size_t>& set, const TableShape& shape);

GOCP_INLINE SchemaDrift compare_schema(const ModelInfo& info, const Dialect& d, const TableShape& shape);

GOCP_INLINE std::string_view column_type_name(ColumnType type);

GOCP_INLINE std::string column_list(const ModelInfo& info, const std::vector<std::size_t>& columns);

GOCP_INLINE std::string describe_drift(const ModelInfo& info, const TableShape& shape, const SchemaDrift& drift);

/// A NOT NULL column added to a table with rows needs a DEFAULT: the model's own.
GOCP_INLINE std::string sql_literal(const Value& v, std::string_view table, std::string_view column, const Dialect& d);

/// Django's index name shape, `<table>_<columns>_uniq`, kept under PostgreSQL's 63 bytes.
GOCP_INLINE std::string unique_index_name(const ModelInfo& info, const std::vector<std::size_t>& set);

}  // namespace detail

/// The ConfigurationError that says how `info`'s table differs from the model, or
/// nothing when it matches. A table that does not exist is an error too, saying to
/// call create_table() or sync_schema().
GOCP_INLINE void check_schema(const Database& db, const ModelInfo& info);

/// The ConfigurationError naming each table `info`'s relations need that does not
/// exist, or nothing when all do: the through tables and targets of its many-to-many
/// relations, the targets of its foreign keys, and the tables whose foreign keys point
/// at it (a delete cascades into them; those of models this process has described so
/// far). Without it the first statement to touch one fails naming a table it does not
/// mention (SQLite checks a foreign key's parent table on every write to the child).
GOCP_INLINE void check_related_tables(const Database& db, const ModelInfo& info);

namespace detail {
/// Database::watch_table() for `info`'s table and its many-to-many through tables that
/// it creates (not an explicit through model's: its own repository does that one).
GOCP_INLINE void watch_tables(const Database& db, const ModelInfo& info);
}  // namespace detail

/// Brings `info`'s table up to the model, additively, in one transaction (see the file
/// comment); `column_defaults[i]` is column i's value in the model's default object.
/// Then checks it: a column of the wrong type is still a ConfigurationError.
GOCP_INLINE SchemaChanges sync_schema(const Database& db, const ModelInfo& info, const std::vector<Value>& column_defaults);

}  // namespace gocp

#if !defined(GOCP_COMPILED)
#include "schema-inl.hpp"
#endif
