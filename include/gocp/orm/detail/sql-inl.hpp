#pragma once
// The definitions behind orm/detail/sql.hpp's DDL writers: included by it in header-only
// mode, compiled once by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sql.hpp"

namespace gocp::detail {

GOCP_INLINE std::string column_type_sql(const Dialect& d, const ColumnInfo& col) {
  switch (col.type) {
    case ColumnType::integer: return std::string(d.integer_type);
    case ColumnType::real: return std::string(d.real_type);
    case ColumnType::blob: return std::string(d.blob_type);
    case ColumnType::timestamp: return std::string(d.timestamp_type);
    case ColumnType::date: return std::string(d.date_type);
    case ColumnType::text: break;
  }
  return col.max_length ? "VARCHAR(" + std::to_string(col.max_length) + ")" : std::string(d.text_type);
}

GOCP_INLINE std::string short_identifier(std::string name) {
  if (name.size() <= 63) return name;
  std::uint64_t h = 14695981039346656037ull;
  for (char ch : name) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  static constexpr char hex[] = "0123456789abcdef";
  std::string suffix = "_";
  for (int i = 0; i < 8; ++i) suffix += hex[(h >> (4 * i)) & 0xfu];
  return name.substr(0, 63 - suffix.size()) + suffix;
}

GOCP_INLINE std::string index_name(const std::string& table, std::string_view column) {
  return short_identifier(table + "_" + std::string(column) + "_idx");
}

GOCP_INLINE std::string foreign_key_name(const ModelInfo& info, std::size_t column) {
  return short_identifier(info.table + "_" + std::string(info.columns[column].name) + "_fk");
}

GOCP_INLINE std::string_view on_delete_sql(on_delete action) {
  switch (action) {
    case on_delete::cascade: return "CASCADE";
    case on_delete::set_null: return "SET NULL";
    case on_delete::protect: return "RESTRICT";
    default: return "NO ACTION";
  }
}

GOCP_INLINE std::string create_table_sql(const Dialect& d, const ModelInfo& info) {
  SqlWriter w(d, info);
  w.text("CREATE TABLE IF NOT EXISTS ").table().text(" (");
  for (std::size_t i = 0; i < info.columns.size(); ++i) {
    const ColumnInfo& col = info.columns[i];
    if (i) w.text(", ");
    w.column(i).text(" ");
    if (col.auto_increment) {
      w.text(d.auto_primary_key);
      continue;
    }
    w.text(column_type_sql(d, col));
    if (col.primary_key) w.text(" PRIMARY KEY");
    else if (!col.nullable) w.text(" NOT NULL");
    if (col.unique) w.text(" UNIQUE");
    for (const ForeignKeyInfo& fk : info.foreign_keys) {
      if (fk.column != i) continue;
      w.text(" CONSTRAINT ").text(quote_identifier(foreign_key_name(info, fk.column)));
      w.text(" REFERENCES ").text(quote_identifier(fk.target_table)).text(" (");
      w.text(quote_identifier(fk.target_column)).text(") ON DELETE ").text(on_delete_sql(fk.action));
      // checked at once as usual; a delete may defer it to the end of its cascade (restrict_deferred)
      if (fk.action == on_delete::restrict) w.text(" DEFERRABLE INITIALLY IMMEDIATE");
    }
  }
  for (const auto& set : info.unique_sets) {
    if (set.size() < 2) continue;
    w.text(", UNIQUE (");
    for (std::size_t k = 0; k < set.size(); ++k) {
      if (k) w.text(", ");
      w.column(set[k]);
    }
    w.text(")");
  }
  w.text(")");
  return std::move(w.sql());
}

GOCP_INLINE std::vector<std::string> schema_sql(const Dialect& d, const ModelInfo& info) {
  std::vector<std::string> out{create_table_sql(d, info)};
  for (const ForeignKeyInfo& fk : info.foreign_keys)
    out.push_back("CREATE INDEX IF NOT EXISTS " + quote_identifier(index_name(info.table, info.columns[fk.column].name)) +
                  " ON " + info.quoted_table + " (" + info.quoted_columns[fk.column] + ")");
  for (const ManyToManyInfo& r : info.many_to_many)
    if (!r.explicit_through)
      for (std::string& sql : schema_sql(d, *r.through)) out.push_back(std::move(sql));
  return out;
}

GOCP_INLINE std::size_t run_sql(Connection& c, SqlWriter& w, FunctionRef<bool(const Row&)> on_row) {
  const ReportedWrites reported;
  auto copy = [&](std::string& sql) { sql = w.sql(); };
  return c.query_keyed(w.sql(), copy, {w.params().begin(), w.params().size()}, on_row);
}

}  // namespace gocp::detail
