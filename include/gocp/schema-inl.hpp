#pragma once
/// \file
/// The definitions behind <gocp/schema.hpp>: included by it in header-only mode, compiled
/// once by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp).

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "schema.hpp"

namespace gocp {
namespace detail {

GOCP_INLINE TableShape read_table_shape(Connection& conn, const Dialect& d, const ModelInfo& info) {
  TableShape shape;
  const Value table[] = {info.table};
  conn.query(d.table_columns_sql, table, [&](const Row& row) {
    shape.columns.push_back({std::string(row.text(0)), row.is_null(1) ? std::string() : std::string(row.text(1))});
    return true;
  });
  struct Index {
    std::string name;
    std::vector<std::string> columns;
    bool on_expression = false;  // an index on an expression backs no set of columns
  };
  std::vector<Index> indexes;  // the query orders its rows by index
  conn.query(d.unique_indexes_sql, table, [&](const Row& row) {
    if (indexes.empty() || indexes.back().name != row.text(0)) indexes.push_back({std::string(row.text(0)), {}, false});
    if (row.is_null(1)) indexes.back().on_expression = true;
    else indexes.back().columns.emplace_back(row.text(1));
    return true;
  });
  for (Index& index : indexes)
    if (!index.on_expression) shape.unique_indexes.push_back(std::move(index.columns));
  return shape;
}

GOCP_INLINE bool unique_set_backed(const ModelInfo& info, const std::vector<std::size_t>& set, const TableShape& shape) {
  if (std::find(set.begin(), set.end(), info.pk) != set.end()) return true;
  return std::any_of(shape.unique_indexes.begin(), shape.unique_indexes.end(), [&](const auto& index) {
    return !index.empty() && std::all_of(index.begin(), index.end(), [&](const std::string& name) {
      return std::any_of(set.begin(), set.end(), [&](std::size_t c) { return info.columns[c].name == name; });
    });
  });
}

GOCP_INLINE SchemaDrift compare_schema(const ModelInfo& info, const Dialect& d, const TableShape& shape) {
  SchemaDrift drift;
  for (std::size_t i = 0; i < info.columns.size(); ++i) {
    const auto* existing = shape.column(info.columns[i].name);
    if (!existing) drift.missing_columns.push_back(i);
    else if (!d.declared_type_holds(info.columns[i].type, existing->declared_type)) drift.mistyped_columns.push_back(i);
  }
  for (std::size_t s = 0; s < info.unique_sets.size(); ++s)
    if (!unique_set_backed(info, info.unique_sets[s], shape)) drift.unbacked_unique_sets.push_back(s);
  return drift;
}

GOCP_INLINE std::string_view column_type_name(ColumnType type) {
  switch (type) {
    case ColumnType::integer: return "integer";
    case ColumnType::real: return "floating-point";
    case ColumnType::blob: return "bytes";
    case ColumnType::timestamp: return "timestamp";
    case ColumnType::date: return "date";
    case ColumnType::text: break;
  }
  return "text";
}

GOCP_INLINE std::string column_list(const ModelInfo& info, const std::vector<std::size_t>& columns) {
  std::string out;
  for (std::size_t c : columns) (out.empty() ? out : out += ", ") += info.columns[c].name;
  return out;
}

GOCP_INLINE std::string describe_drift(const ModelInfo& info, const TableShape& shape, const SchemaDrift& drift) {
  std::string out;
  const auto part = [&](std::string text) { (out.empty() ? out : out += "; ") += text; };
  if (!drift.missing_columns.empty()) part("missing columns: " + column_list(info, drift.missing_columns));
  for (std::size_t c : drift.mistyped_columns) {
    const auto& col = info.columns[c];
    part("column " + std::string(col.name) + " is declared '" + shape.column(col.name)->declared_type +
         "', which cannot hold the model's " + std::string(column_type_name(col.type)) + " values");
  }
  for (std::size_t s : drift.unbacked_unique_sets)
    part("no unique index on (" + column_list(info, info.unique_sets[s]) + "), which get_or_create needs");
  return out;
}

GOCP_INLINE std::string sql_literal(const Value& v, std::string_view table, std::string_view column, const Dialect& d) {
  const auto refuse = [&](std::string_view why) -> std::string {
    throw ConfigurationError("gocp: sync_schema cannot add column " + std::string(table) + "." + std::string(column) +
                             ": its default " + std::string(why));
  };
  if (std::holds_alternative<std::monostate>(v)) return "NULL";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* r = std::get_if<double>(&v)) {
    if (!std::isfinite(*r)) return refuse("is not finite");
    char buf[32];
    const auto end = std::to_chars(buf, buf + sizeof buf, *r).ptr;  // shortest form that reads back exactly
    std::string out(buf, end);
    if (out.find_first_of(".eE") == std::string::npos) out += ".0";  // a REAL literal, not an integer
    return out;
  }
  // bytes, timestamps and dates: SQLite stores them as X'..' and whole numbers, PostgreSQL as its own types
  const bool sqlite = d.name == "sqlite";
  if (const auto* t = std::get_if<TimestampValue>(&v))
    return sqlite ? std::to_string(t->micros) : "'" + format_timestamp(t->micros) + "'::timestamptz";
  if (const auto* day = std::get_if<DateValue>(&v))
    return sqlite ? std::to_string(day->days) : "'" + format_date(day->days) + "'::date";
  if (const auto* b = std::get_if<BlobValue>(&v)) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char ch : b->bytes) (hex += digits[ch >> 4]) += digits[ch & 15];
    return sqlite ? "X'" + hex + "'" : "'\\x" + hex + "'::bytea";
  }
  const auto& s = std::get<std::string>(v);
  if (s.find('\0') != std::string::npos) return refuse("holds a NUL character");
  std::string out = "'";
  for (char ch : s) (ch == '\'' ? out += "''" : out += ch);
  return out + "'";
}

GOCP_INLINE std::string unique_index_name(const ModelInfo& info, const std::vector<std::size_t>& set) {
  std::string name(info.table);
  for (std::size_t c : set) (name += '_') += info.columns[c].name;
  return short_identifier(name + "_uniq");
}

}  // namespace detail
GOCP_INLINE void check_schema(const Database& db, const ModelInfo& info) {
  const auto shape = db.with_connection([&](Connection& c) { return detail::read_table_shape(c, db.dialect(), info); });
  if (!shape.exists())
    throw ConfigurationError("gocp: table " + info.table + " (model " + std::string(info.name) +
                             ") does not exist in " + db.url() + "; call create_table() or sync_schema() first");
  const auto drift = detail::compare_schema(info, db.dialect(), shape);
  if (!drift.empty())
    throw ConfigurationError("gocp: table " + info.table + " does not match model " + std::string(info.name) + " (" +
                             detail::describe_drift(info, shape, drift) +
                             "). sync_schema() adds missing columns and unique indexes; it never changes or drops "
                             "a column, so a mistyped one needs a migration of your own");
}

GOCP_INLINE void check_related_tables(const Database& db, const ModelInfo& info) {
  struct Needed {
    std::string table, why, call;
  };
  std::vector<Needed> needed;
  const auto need = [&](const std::string& table, std::string why, std::string call) {
    if (table == info.table) return;
    for (const Needed& n : needed)
      if (n.table == table) return;
    needed.push_back({table, std::move(why), std::move(call)});
  };
  const auto on_repository_of = [](std::string_view model) {
    return "call create_table() on a Repository of " + std::string(model) + " (or sync_schema())";
  };
  for (const ManyToManyInfo& r : info.many_to_many) {
    const std::string relation = detail::qualified_name(info.name, r.name);
    if (r.explicit_through)
      need(r.through->table, "model " + std::string(r.through->name) + ", the through model of " + relation,
           on_repository_of(r.through->name));
    else
      need(r.through->table, "the through table of " + relation, on_repository_of(info.name));
    for (const ForeignKeyInfo& fk : r.through->foreign_keys)
      if (fk.column == r.target_column)
        need(fk.target_table, "model " + std::string(r.target_model) + ", the target of " + relation,
             on_repository_of(r.target_model));
  }
  for (const ForeignKeyInfo& fk : info.foreign_keys)
    need(fk.target_table,
         "model " + std::string(fk.target_model) + ", referenced by " +
             detail::qualified_name(info.name, info.columns[fk.column].name),
         on_repository_of(fk.target_model));
  for (const detail::ReverseRelation& r : detail::ReverseRelations::global().of(info.table))
    need(r.child->table,
         "which references " + std::string(info.name) + " through its column " +
             std::string(r.child->columns[r.column].name) + ", so a delete of " + std::string(info.name) +
             " reaches it",
         "call create_table() on a Repository of the model that declares it (or sync_schema())");
  if (needed.empty()) return;
  std::string missing;
  db.with_connection([&](Connection& conn) {
    for (const Needed& n : needed) {
      const Value table[] = {n.table};
      bool exists = false;
      conn.query(db.dialect().table_columns_sql, table, [&](const Row&) {
        exists = true;
        return false;  // one column is enough
      });
      if (!exists)
        (missing.empty() ? missing : missing += "; ") += "table " + n.table + " (" + n.why + ") does not exist: " + n.call;
    }
  });
  if (!missing.empty())
    throw ConfigurationError("gocp: model " + std::string(info.name) + " needs tables missing from " + db.url() + ": " +
                             missing);
}

namespace detail {

GOCP_INLINE void watch_tables(const Database& db, const ModelInfo& info) {
  db.watch_table(info.table);
  for (const ManyToManyInfo& r : info.many_to_many)
    if (!r.explicit_through) watch_tables(db, *r.through);
}

}  // namespace detail
GOCP_INLINE SchemaChanges sync_schema(const Database& db, const ModelInfo& info, const std::vector<Value>& column_defaults) {
  SchemaChanges changes;
  db.atomic([&] {
    db.with_connection([&](Connection& conn) {
      const Dialect& d = db.dialect();
      if (!d.ddl_lock_sql.empty()) conn.execute(d.ddl_lock_sql);  // another process syncing waits, then sees ours
      auto shape = detail::read_table_shape(conn, d, info);
      if (!shape.exists()) {
        for (const std::string& sql : detail::schema_sql(d, info)) conn.execute(sql);
        changes.created_table = true;
        return;
      }
      const auto drift = detail::compare_schema(info, d, shape);
      for (std::size_t c : drift.missing_columns) {
        const ColumnInfo& col = info.columns[c];
        if (col.primary_key)
          throw ConfigurationError("gocp: sync_schema cannot add the primary key " + info.table + "." +
                                   std::string(col.name) + " to an existing table; that needs a migration");
        std::string sql = "ALTER TABLE " + info.quoted_table + " ADD COLUMN " + info.quoted_columns[c] + " " +
                          detail::column_type_sql(d, col);
        if (!col.nullable)
          sql += " NOT NULL DEFAULT " + detail::sql_literal(column_defaults[c], info.table, col.name, d);
        conn.execute(sql);
        changes.added_columns.emplace_back(col.name);
      }
      for (std::size_t s : drift.unbacked_unique_sets) {
        const auto& set = info.unique_sets[s];
        std::string name = detail::unique_index_name(info, set);
        std::string sql = "CREATE UNIQUE INDEX " + detail::quote_identifier(name) + " ON " + info.quoted_table + " (";
        for (std::size_t k = 0; k < set.size(); ++k) (k ? sql += ", " : sql) += info.quoted_columns[set[k]];
        conn.execute(sql + ")");
        changes.added_indexes.push_back(std::move(name));
      }
    });
  });
  detail::watch_tables(db, info);  // every writer seen, where the URL asks for it (Database::watch_table)
  check_schema(db, info);
  return changes;
}

}  // namespace gocp
