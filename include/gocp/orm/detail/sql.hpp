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

#include "../../detail/config.hpp"
#include "../../detail/function_ref.hpp"
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
GOCP_INLINE std::size_t run_sql(Connection& c, SqlWriter& w, FunctionRef<bool(const Row&)> on_row);

/// The SQL type of a column that is not an auto-increment key.
GOCP_INLINE std::string column_type_sql(const Dialect& d, const ColumnInfo& col);

/// `name` as an identifier of at most 63 bytes, shortened with a hash past PostgreSQL's
/// limit (which it would silently truncate, so two long names could collide).
GOCP_INLINE std::string short_identifier(std::string name);

/// `<table>_<column>_idx`: the index on a foreign key column.
GOCP_INLINE std::string index_name(const std::string& table, std::string_view column);

/// `<table>_<column>_fk`: the foreign key constraint of `column`.
GOCP_INLINE std::string foreign_key_name(const ModelInfo& info, std::size_t column);

/// Whether a delete must defer on_delete::restrict checks to the end of its own cascade
/// itself: PostgreSQL checks NO ACTION as soon as the parent row goes, before the
/// cascade it set off has removed the children (SQLite waits for the statement's end).
inline bool restrict_deferred(const Dialect& d) { return d.name == "postgresql"; }

/// The SQL action of each on_delete: PROTECT refuses at once (RESTRICT), Django's
/// RESTRICT only if the rows are still there at the end of the statement (NO ACTION),
/// which lets a cascade of the same delete remove them first.
GOCP_INLINE std::string_view on_delete_sql(on_delete action);

/// CREATE TABLE IF NOT EXISTS with the primary key, NOT NULL, UNIQUE,
/// UNIQUE(...) and REFERENCES constraints of the schema.
GOCP_INLINE std::string create_table_sql(const Dialect& d, const ModelInfo& info);

/// Every statement that creates the model's schema, each idempotent: the table, an
/// index on each foreign key column, then each many-to-many through table with its own.
GOCP_INLINE std::vector<std::string> schema_sql(const Dialect& d, const ModelInfo& info);

}  // namespace gocp::detail

#if !defined(GOCP_COMPILED)
#include "sql-inl.hpp"
#endif
