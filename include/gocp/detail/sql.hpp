#pragma once
// Writes the SQL of every repository verb from a model's runtime description and a
// backend's dialect. Values never enter the text: each one becomes a bound parameter.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../dialect.hpp"
#include "../model.hpp"
#include "../query.hpp"

namespace gocp::detail {

class SqlWriter {
 public:
  SqlWriter(const Dialect& dialect, const ModelInfo& info) : dialect_(dialect), info_(info) { sql_.reserve(160); }

  std::string& sql() noexcept { return sql_; }
  std::vector<Value>& params() noexcept { return params_; }

  SqlWriter& text(std::string_view s) {
    sql_ += s;
    return *this;
  }
  SqlWriter& table() { return text(info_.quoted_table); }
  SqlWriter& column(std::size_t i) { return text(info_.quoted_columns[i]); }
  SqlWriter& param(Value v) {
    params_.push_back(std::move(v));
    if (dialect_.numbered_placeholders) {
      sql_ += '$';
      sql_ += std::to_string(params_.size());
    } else {
      sql_ += '?';
    }
    return *this;
  }

  /// `SELECT "id", "first_name", ... FROM "table"`
  SqlWriter& select_all_columns() { return text(info_.select_all); }

  /// ` WHERE ...` for the conjunction of `conditions` (skipping empty ones), or nothing.
  template <class T>
  SqlWriter& where(std::initializer_list<const Expr<T>*> conditions) {
    bool first = true;
    for (const Expr<T>* e : conditions) {
      if (e->empty()) continue;
      text(first ? " WHERE (" : " AND (");
      first = false;
      std::size_t i = 0;
      condition(e->nodes(), i);
      text(")");
    }
    return *this;
  }

  /// ` WHERE "pk" = ?`
  SqlWriter& where_pk(Value pk) {
    text(" WHERE ").column(info_.pk).text(" = ");
    return param(std::move(pk));
  }

 private:
  void condition(std::span<const Node> nodes, std::size_t& i) {
    const Node& n = nodes[i++];
    switch (n.op) {
      case Op::and_:
      case Op::or_:
        text("(");
        condition(nodes, i);
        text(n.op == Op::and_ ? " AND " : " OR ");
        condition(nodes, i);
        text(")");
        return;
      case Op::not_:
        // NOT COALESCE(..., FALSE): a row where the inner test is NULL is *not* excluded
        // from the negation, as Django's exclude() behaves on nullable columns.
        text("NOT COALESCE((");
        condition(nodes, i);
        text("), FALSE)");
        return;
      case Op::nothing:
        text("1 = 0");
        return;
      case Op::is_null:
      case Op::not_null:
        column(n.column).text(n.op == Op::is_null ? " IS NULL" : " IS NOT NULL");
        return;
      case Op::in:
        if (n.list.empty()) {
          text("1 = 0");
          return;
        }
        column(n.column).text(" IN (");
        for (std::size_t k = 0; k < n.list.size(); ++k) {
          if (k) text(", ");
          param(n.list[k]);
        }
        text(")");
        return;
      case Op::like:
        column(n.column).text(" LIKE ");
        param(n.value).text(" ESCAPE '\\'");
        return;
      default:
        comparison(n);
    }
  }

  void comparison(const Node& n) {
    const bool null = std::holds_alternative<std::monostate>(n.value);
    column(n.column);
    if (null && (n.op == Op::eq || n.op == Op::ne)) {  // `field == nullopt` means IS NULL, as in Django
      text(n.op == Op::eq ? " IS NULL" : " IS NOT NULL");
      return;
    }
    switch (n.op) {
      case Op::eq: text(" = "); break;
      case Op::ne: text(" ").text(dialect_.distinct_from).text(" "); break;  // NULL rows are "not equal"
      case Op::lt: text(" < "); break;
      case Op::le: text(" <= "); break;
      case Op::gt: text(" > "); break;
      default: text(" >= "); break;
    }
    param(n.value);
  }

  const Dialect& dialect_;
  const ModelInfo& info_;
  std::string sql_;
  std::vector<Value> params_;
};

/// The SQL type of a column that is not an auto-increment key.
inline std::string column_type_sql(const Dialect& d, const ColumnInfo& col) {
  switch (col.type) {
    case ColumnType::integer: return std::string(d.integer_type);
    case ColumnType::real: return std::string(d.real_type);
    case ColumnType::text: break;
  }
  return col.max_length ? "VARCHAR(" + std::to_string(col.max_length) + ")" : std::string(d.text_type);
}

/// CREATE TABLE IF NOT EXISTS with the primary key, NOT NULL, UNIQUE and
/// UNIQUE(...) constraints of the schema.
inline std::string create_table_sql(const Dialect& d, const ModelInfo& info) {
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

}  // namespace gocp::detail
