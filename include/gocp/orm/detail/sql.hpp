#pragma once
// Writes the SQL of every repository verb from a model's runtime description and a
// backend's dialect. Values never enter the text: each one becomes a bound parameter,
// held by pointer (the values outlive the statement's run).

#include <cstddef>
#include <deque>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../../detail/reported_writes.hpp"
#include "../../dialect.hpp"
#include "../../model.hpp"
#include "../../query.hpp"
#include "../../spi/connection.hpp"
#include "statement_shape.hpp"

namespace gocp::detail {

class SqlWriter {
 public:
  SqlWriter(const Dialect& dialect, const ModelInfo& info) : dialect_(dialect), info_(&info) { sql_.reserve(160); }

  std::string& sql() noexcept { return sql_; }
  const BoundValues& params() const noexcept { return params_; }

  SqlWriter& text(std::string_view s) {
    sql_ += s;
    return *this;
  }
  SqlWriter& table() { return text(info_->quoted_table); }
  SqlWriter& column(std::size_t i) { return text(info_->quoted_columns[i]); }
  /// Binds `v` by address: it must outlive the statement's run (a temporary does not
  /// compile; param_owned keeps a value the writer computed).
  SqlWriter& param(Value&&) = delete;
  /// Binds a value the writer keeps for as long as it lives (a deque: addresses stay put).
  SqlWriter& param_owned(Value v) { return param(owned_.emplace_back(std::move(v))); }
  SqlWriter& param(const Value& v) {
    params_.emplace_back(&v);
    if (dialect_.numbered_placeholders) {
      sql_ += '$';
      sql_ += std::to_string(params_.size());
    } else {
      sql_ += '?';
    }
    return *this;
  }

  /// A writer over another model's columns continuing this one's text and parameters
  /// (for a subquery or a join over the other table).
  SqlWriter continue_with(const ModelInfo& other) && {
    SqlWriter next(dialect_, other);
    next.sql_ = std::move(sql_);
    next.params_ = std::move(params_);
    next.owned_ = std::move(owned_);  // moving a deque keeps its elements where they are
    return next;
  }

  /// `SELECT "id", "first_name", ... FROM "table"`
  SqlWriter& select_all_columns() { return text(info_->select_all); }

  /// ` WHERE ...` for the conjunction of `conditions` (skipping empty ones), or nothing.
  template <class T>
  SqlWriter& where(std::initializer_list<const Expr<T>*> conditions) {
    return conjunction(conditions, true);
  }

  /// ` AND (...)` for each non-empty condition, after a WHERE the caller wrote.
  template <class T>
  SqlWriter& and_where(std::initializer_list<const Expr<T>*> conditions) {
    return conjunction(conditions, false);
  }

  /// ` WHERE "pk" = ?`
  SqlWriter& where_pk(const Value& pk) {
    text(" WHERE ").column(info_->pk).text(" = ");
    return param(pk);
  }

 private:
  template <class T>
  SqlWriter& conjunction(std::initializer_list<const Expr<T>*> conditions, bool first) {
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
      case Op::in_query:
        subquery(n);
        return;
      default:
        comparison(n);
    }
  }

  /// `"c" IN (SELECT "s" FROM "inner" WHERE ...)`: the inner conditions name the inner
  /// table's columns, unqualified (the innermost FROM resolves them, even when both
  /// queries read one table); nothing refers to the outer row, so the database runs it once.
  void subquery(const Node& n) {
    const Subquery& sub = *n.subquery;
    column(n.column).text(" IN (SELECT ");
    const ModelInfo* outer = std::exchange(info_, sub.model);
    column(sub.column).text(" FROM ").table();
    if (!sub.nodes.empty()) {
      text(" WHERE ");
      std::size_t i = 0;
      condition(sub.nodes, i);
    }
    info_ = outer;
    text(")");
  }

  void comparison(const Node& n) {
    column(n.column);
    if (is_null_test(n)) {  // `field == nullopt` means IS NULL, as in Django
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
  const ModelInfo* info_;  ///< the model whose columns column() names (a subquery's, while it is written)
  std::string sql_;
  BoundValues params_;
  std::deque<Value> owned_;
};

/// Runs what `w` wrote on `c`, its text as its statement key (see query_keyed). The ORM
/// publishes the rows it writes itself (detail/reported_writes.hpp).
template <class OnRow>
std::size_t run_sql(Connection& c, SqlWriter& w, OnRow&& on_row) {
  const ReportedWrites reported;
  auto copy = [&](std::string& sql) { sql = w.sql(); };
  return c.query_keyed(w.sql(), copy, {w.params().begin(), w.params().size()}, on_row);
}

/// The SQL type of a column that is not an auto-increment key.
inline std::string column_type_sql(const Dialect& d, const ColumnInfo& col) {
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


/// `name` as an identifier of at most 63 bytes, shortened with a hash past PostgreSQL's
/// limit (which it would silently truncate, so two long names could collide).
inline std::string short_identifier(std::string name) {
  if (name.size() <= 63) return name;
  std::uint64_t h = 14695981039346656037ull;
  for (char ch : name) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  static constexpr char hex[] = "0123456789abcdef";
  std::string suffix = "_";
  for (int i = 0; i < 8; ++i) suffix += hex[(h >> (4 * i)) & 0xfu];
  return name.substr(0, 63 - suffix.size()) + suffix;
}

/// `<table>_<column>_idx`: the index on a foreign key column.
inline std::string index_name(const std::string& table, std::string_view column) {
  return short_identifier(table + "_" + std::string(column) + "_idx");
}

/// `<table>_<column>_fk`: the foreign key constraint of `column`.
inline std::string foreign_key_name(const ModelInfo& info, std::size_t column) {
  return short_identifier(info.table + "_" + std::string(info.columns[column].name) + "_fk");
}

/// Whether a delete must defer on_delete::restrict checks to the end of its own cascade
/// itself: PostgreSQL checks NO ACTION as soon as the parent row goes, before the
/// cascade it set off has removed the children (SQLite waits for the statement's end).
inline bool restrict_deferred(const Dialect& d) { return d.name == "postgresql"; }

/// The SQL action of each on_delete: PROTECT refuses at once (RESTRICT), Django's
/// RESTRICT only if the rows are still there at the end of the statement (NO ACTION),
/// which lets a cascade of the same delete remove them first.
inline std::string_view on_delete_sql(on_delete action) {
  switch (action) {
    case on_delete::cascade: return "CASCADE";
    case on_delete::set_null: return "SET NULL";
    case on_delete::protect: return "RESTRICT";
    default: return "NO ACTION";
  }
}

/// CREATE TABLE IF NOT EXISTS with the primary key, NOT NULL, UNIQUE,
/// UNIQUE(...) and REFERENCES constraints of the schema.
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

/// Every statement that creates the model's schema, each idempotent: the table, an
/// index on each foreign key column, then each many-to-many through table with its own.
inline std::vector<std::string> schema_sql(const Dialect& d, const ModelInfo& info) {
  std::vector<std::string> out{create_table_sql(d, info)};
  for (const ForeignKeyInfo& fk : info.foreign_keys)
    out.push_back("CREATE INDEX IF NOT EXISTS " + quote_identifier(index_name(info.table, info.columns[fk.column].name)) +
                  " ON " + info.quoted_table + " (" + info.quoted_columns[fk.column] + ")");
  for (const ManyToManyInfo& r : info.many_to_many)
    if (!r.explicit_through)
      for (std::string& sql : schema_sql(d, *r.through)) out.push_back(std::move(sql));
  return out;
}

}  // namespace gocp::detail
