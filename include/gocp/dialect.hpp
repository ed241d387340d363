#pragma once
/// \file
/// `gocp::Dialect`: how a SQL backend spells the few things that differ between
/// backends. Plain data, no I/O, so the SQL writer (orm/detail/sql.hpp) can use it without
/// depending on the backend interface; backends define one (spi/connection.hpp).

#include <string_view>

#include "value.hpp"

namespace gocp {

/// One backend's SQL spellings and capabilities; a backend defines one constant of it.
struct Dialect {
  std::string_view name;                 ///< "sqlite", "postgresql"
  bool numbered_placeholders;            ///< `$1` rather than `?`
  bool supports_for_update;              ///< SELECT ... FOR UPDATE locks rows
  std::string_view begin_transaction;    ///< the outermost BEGIN
  std::string_view auto_primary_key;     ///< column type + constraint of an auto-increment key

  ///@{
  /// The column types of integer (bool, enum), floating-point and text fields.
  std::string_view integer_type;
  std::string_view real_type;
  std::string_view text_type;
  ///@}
  std::string_view distinct_from;        ///< NULL-safe "!=": IS NOT / IS DISTINCT FROM
  bool stores_nan;                       ///< a NaN double is stored as NaN (SQLite makes it NULL)
  bool stores_negative_zero;             ///< -0.0 reads back as -0.0 (SQLite stores an integral REAL as an integer: +0.0)
  bool bytewise_text_order;              ///< text `<` is bytewise (SQLite's BINARY), not a locale's collation
  std::string_view blob_type;            ///< the column type of std::vector<std::byte>
  std::string_view timestamp_type;       ///< of a time_point (microseconds since 1970, UTC)
  std::string_view date_type;            ///< of a date (days since 1970)

  // Reading a table's shape (schema.hpp), each query taking the table name as its one parameter:
  std::string_view table_columns_sql;    ///< rows of (column name, declared type), in order
  std::string_view unique_indexes_sql;   ///< rows of (index name, column name or NULL for an expression),
                                         ///< for plain (not partial) unique indexes, ordered by index
  std::string_view ddl_lock_sql;         ///< run first in a schema-changing transaction; "" if none is needed
  /// Whether a column declared `declared` stores and compares a field of type `type`
  /// as gocp writes it (SQLite: by type affinity; PostgreSQL: by data type).
  bool (*declared_type_holds)(ColumnType type, std::string_view declared);
};

}  // namespace gocp
