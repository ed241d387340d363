#pragma once
// The SELECT of a QuerySet, written in one place for every read verb that returns rows
// (all, first, last, values, values_list; a sliced count or exists as its subquery; a
// cursor): its columns, WHERE, ORDER BY with the tie-break, LIMIT/OFFSET and the row
// lock. SelectStatement names the statement by a StatementShape (so each connection
// keeps it prepared and its text is written once) and writes the same text and
// parameters with a SqlWriter when a connection first prepares it.
//
// Ordering rules, the same on every backend:
// - NULLs sort as the largest value unless a key says otherwise (ASC NULLS LAST, DESC
//   NULLS FIRST: PostgreSQL's default, and Django's there; SQLite's own default is the
//   opposite, NULLs smallest). The clause is written out, which SQLite reads since 3.30
//   (gocp requires 3.35, for RETURNING), and only for nullable columns: elsewhere it
//   changes nothing and would keep SQLite from reading an index in order.
// - The result is total: after the keys comes the primary key, unless a key is the
//   primary key already, in the direction of the last key (ascending when there is no
//   key, descending when reversed), so that an index on (filter column, key) serves
//   the whole ORDER BY -- SQLite's and PostgreSQL's indexes end in the row's key. A
//   DISTINCT read of some columns breaks ties by those columns instead (the primary
//   key is not among them).
// - The slice's bounds are bound parameters: the text is the same whatever the numbers.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "../../db/database.hpp"
#include "../../detail/small_vector.hpp"
#include "../../errors.hpp"
#include "../../model.hpp"
#include "../../queryset.hpp"
#include "../../detail/config.hpp"
#include "sql.hpp"
#include "statement_shape.hpp"

namespace gocp::detail {

/// The locking clause of `mode` on `dialect`; empty where the backend has no row locks
/// (SQLite: its transactions are BEGIN IMMEDIATE, so the writer already holds the whole
/// database and no other writer can change the rows read; see require_lock_allowed).
inline std::string_view lock_clause(const Dialect& dialect, LockMode mode) noexcept {
  if (!dialect.supports_for_update) return {};
  switch (mode) {
    case LockMode::plain: return " FOR UPDATE";
    case LockMode::skip_locked: return " FOR UPDATE SKIP LOCKED";
    case LockMode::nowait: return " FOR UPDATE NOWAIT";
    case LockMode::none: break;
  }
  return {};
}

/// Throws unless a read of `model_name` locking as `mode` may run now: only inside a
/// transaction (TransactionManagementError, as Django); skip_locked / nowait only on a
/// backend with row locks (NotSupportedError); never with DISTINCT (PostgreSQL refuses
/// FOR UPDATE there; refused on every backend alike). Nothing to check for LockMode::none.
GOCP_INLINE void require_lock_allowed(const Database& db, std::string_view model_name, LockMode mode, bool distinct);

/// What one SELECT over a QuerySet reads; the rest (filters, ordering, slice, lock) is
/// the QuerySet's.
struct SelectOptions {
  std::span<const std::uint32_t> columns{};  ///< the columns read, in order; empty: every column
  bool distinct = false;                     ///< SELECT DISTINCT
  bool ordered = true;                       ///< ORDER BY the queryset's keys and the tie-break
  bool locked = true;                        ///< with the queryset's row lock
  const Slice* slice = nullptr;              ///< instead of the queryset's (first(): its first row)
};

/// The SELECT of `qs` as `options` describe it: shape() names it, write() writes it. It
/// binds its own LIMIT/OFFSET values by address, so it must outlive the statement's run.
template <class M>
class SelectStatement {
 public:
  /// ConfigurationError, naming the field, when a DISTINCT read of some columns is
  /// ordered by a column it does not read (PostgreSQL refuses that; refused everywhere).
  SelectStatement(const QuerySet<M>& qs, const SelectOptions& options, const Dialect& dialect)
      : qs_(qs), options_(options), lock_(options.locked ? lock_clause(dialect, qs.lock()) : std::string_view{}) {
    const Slice& slice = options.slice ? *options.slice : qs.slice();
    sliced_ = slice.active();
    if (sliced_) {
      // no end: the largest int64, which both backends take as "no limit" (SQLite has no
      // OFFSET without a LIMIT, and a bound number keeps one text for every slice)
      limit_ = Value{slice.high ? *slice.high - slice.low : std::numeric_limits<std::int64_t>::max()};
      offset_ = Value{slice.low};
      offset_written_ = slice.low != 0;  // a plain limit(n) has none: SQLite then counts no skipped rows
    }
    if (options.ordered) order_keys();
  }

  /// The keys of the ORDER BY, the tie-break included, in order (empty: no ORDER BY).
  std::span<const OrderTerm> order() const noexcept { return {order_.begin(), order_.size()}; }

  /// Everything the text depends on, into `shape`, and the values it binds, in order.
  void shape(StatementShape& shape) const {
    shape.count(options_.columns.size());
    for (std::uint32_t c : options_.columns) shape.column(c);
    shape.code(options_.distinct ? 'd' : '-');
    shape.code(static_cast<char>('0' + (lock_.empty() ? 0 : static_cast<int>(qs_.lock()))));
    shape.count(order_.size());
    for (const OrderTerm& t : order_) {
      shape.column(t.column);
      shape.code(static_cast<char>('a' + (t.descending ? 1 : 0) + (t.nulls_first ? 2 : 0)));
    }
    shape.where({&qs_.scope()});
    shape.code(!sliced_ ? '-' : offset_written_ ? 'o' : 's');
    if (sliced_) shape.bind(limit_);
    if (offset_written_) shape.bind(offset_);
  }

  /// `SELECT [DISTINCT] columns FROM table [WHERE ...] [ORDER BY ...] [LIMIT ? [OFFSET ?]] [FOR UPDATE ...]`
  void write(SqlWriter& w) const {
    const ModelInfo& info = model_info<M>();
    if (options_.columns.empty() && !options_.distinct) {
      w.select_all_columns();
    } else {
      w.text(options_.distinct ? "SELECT DISTINCT " : "SELECT ");
      if (options_.columns.empty()) {
        for (std::size_t i = 0; i < info.columns.size(); ++i) (i ? w.text(", ") : w).column(i);
      } else {
        for (std::size_t i = 0; i < options_.columns.size(); ++i) (i ? w.text(", ") : w).column(options_.columns[i]);
      }
      w.text(" FROM ").table();
    }
    w.where({&qs_.scope()});
    for (std::size_t i = 0; i < order_.size(); ++i) {
      const OrderTerm& t = order_[i];
      w.text(i ? ", " : " ORDER BY ").column(t.column);
      if (t.descending) w.text(" DESC");
      if (info.columns[t.column].nullable) w.text(t.nulls_first ? " NULLS FIRST" : " NULLS LAST");
    }
    if (sliced_) w.text(" LIMIT ").param(limit_);
    if (offset_written_) w.text(" OFFSET ").param(offset_);
    w.text(lock_);
  }

 private:
  /// The queryset's keys (each flipped when it is reversed), then the tie-break.
  void order_keys() {
    const bool reversed = qs_.order_reversed();
    const bool by_selected = options_.distinct && !options_.columns.empty();
    for (const OrderTerm& t : qs_.ordering()) {
      if (by_selected && !selects(t.column)) throw unselected_key(t.column);
      order_.emplace_back(reversed ? t.flipped() : t);
    }
    // the tie-break runs the way the last key does, so that an index on (filter column,
    // key) -- which ends in the primary key -- serves the whole ORDER BY in one walk,
    // either way round; NULLs stay the largest value (first when descending)
    const bool descending = order_.empty() ? reversed : order_[order_.size() - 1].descending;
    auto tie_break = [&](std::uint32_t column) {
      for (const OrderTerm& t : order_)
        if (t.column == column) return;
      order_.emplace_back(OrderTerm{column, descending, descending});
    };
    if (by_selected) {
      for (std::uint32_t c : options_.columns) tie_break(c);
    } else {
      tie_break(static_cast<std::uint32_t>(pk_index<M>));
    }
  }

  bool selects(std::uint32_t column) const {
    for (std::uint32_t c : options_.columns)
      if (c == column) return true;
    return false;
  }

  static ConfigurationError unselected_key(std::uint32_t column) {
    return ConfigurationError("gocp: distinct() reads only the selected fields of '" + std::string(model<M>::name) +
                              "', but the ordering names '" +
                              qualified_name(model<M>::name, model_info<M>().columns[column].name) +
                              "': order by selected fields only (PostgreSQL refuses ORDER BY a column a SELECT "
                              "DISTINCT does not read)");
  }

  const QuerySet<M>& qs_;
  SelectOptions options_;
  std::string_view lock_;
  bool sliced_ = false;
  bool offset_written_ = false;  ///< OFFSET ? only when the slice skips rows
  Value limit_{}, offset_{};
  SmallVector<OrderTerm, 6> order_;
};

}  // namespace gocp::detail

#if !defined(GOCP_COMPILED)
#include "select-inl.hpp"
#endif
