#pragma once
/// \file
/// `gocp::QuerySet<M>`: what a repository sees, as a value — the filters its reads
/// apply, its *bound values* and its flags. A bound value (`parent_id == 7` for a
/// parent's children, Django's `core_filters`) filters every read, seeds every create
/// and fixes its column for the unique-coverage check; a related manager is a
/// repository with bound values, nothing more. Cheap to copy; never touches a database.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "query.hpp"

namespace gocp {

namespace detail {
/// Column -> value, in the order given; a later value for the same column wins. A
/// column listed in `increments` has its value added to the row's (`c(&M::n) += 1`).
struct ColumnValues : std::vector<std::pair<std::size_t, Value>> {
  std::vector<std::size_t> increments;

  bool is_increment(std::size_t column) const {
    return std::find(increments.begin(), increments.end(), column) != increments.end();
  }
};

inline void assign(ColumnValues& values, std::size_t column, Value v, bool increment = false) {
  std::erase(values.increments, column);
  if (increment) values.increments.push_back(column);
  for (auto& [c, existing] : values) {
    if (c == column) {
      existing = std::move(v);
      return;
    }
  }
  values.emplace_back(column, std::move(v));
}

/// A bit per column that a top-level `column == value` term fixes to one non-NULL
/// value. `column == nullopt` fixes nothing: a UNIQUE constraint never rejects a second
/// NULL, so it cannot make get_or_create race-free. A subquery term (`in_query`, one
/// node) fixes nothing either: it allows a set of values.
inline std::uint64_t equality_mask(std::span<const Node> nodes) {
  // In prefix order, stepping into every AND and over every other subtree visits the
  // top-level terms one after the other: one pass, no recursion (a hot check).
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < nodes.size();) {
    const Node& n = nodes[i];
    if (n.op == Op::and_) {
      ++i;
      continue;
    }
    if (n.op == Op::eq && n.column < 64 && !std::holds_alternative<std::monostate>(n.value))
      mask |= std::uint64_t{1} << n.column;
    i = n.op == Op::or_ || n.op == Op::not_ ? subtree_end(nodes, i) : i + 1;
  }
  return mask;
}
}  // namespace detail

/// What a repository sees, as a value: its filters, its bound values (a related
/// manager's `parent_id == 7`) and flags. Immutable: each narrowing returns a new one.
/// Holds no connection and runs nothing (the Executor does).
template <class M>
class QuerySet {
 public:
  /// Every row matches: the filters and bound values together (what reads apply).
  const Expr<M>& scope() const noexcept { return scope_; }
  /// The bound values, seeded into every create.
  const detail::ColumnValues& bound() const noexcept { return bound_; }
  /// Whether get_or_create accepts a lookup no unique constraint covers.
  bool allows_non_unique() const noexcept { return allow_non_unique_; }

  /// This queryset, seeing only the rows that also match `condition`.
  QuerySet filtered(const Expr<M>& condition) const {
    QuerySet out = *this;
    out.scope_ = scope_ && condition;
    return out;
  }

  /// This queryset with `column` bound to `v`: reads filter on `column == v`, creates
  /// write it, and it counts as fixed for the unique-coverage check.
  QuerySet bound_to(std::size_t column, Value v) const {
    QuerySet out = *this;
    detail::Node eq{detail::Op::eq, static_cast<std::uint32_t>(column), v};
    out.scope_ = Expr<M>(std::move(eq)) && scope_;
    if (column < 64 && !std::holds_alternative<std::monostate>(v)) out.bound_mask_ |= std::uint64_t{1} << column;
    detail::assign(out.bound_, column, std::move(v));
    return out;
  }

  /// This queryset, with get_or_create accepting lookups no unique constraint covers
  /// (Repository::allow_non_unique_lookups).
  QuerySet allowing_non_unique() const {
    QuerySet out = *this;
    out.allow_non_unique_ = true;
    return out;
  }

  /// The columns `lookup` and the bound values fix to one non-NULL value each.
  std::uint64_t fixed_columns(const Expr<M>& lookup) const {
    return bound_mask_ | detail::equality_mask(lookup.nodes());
  }

  /// True when `lookup` and the bound values fix every column of one of the model's
  /// unique sets: at most one row can match, so get_or_create cannot race into two.
  bool fixes_a_unique_set(const Expr<M>& lookup) const {
    const std::uint64_t fixed = fixed_columns(lookup);
    for (const std::uint64_t set : unique_masks())
      if ((fixed & set) == set) return true;
    return false;
  }

 private:
  /// Each unique set as a mask of its columns, computed once (a hot check on every
  /// get_or_create); a set with a column past 63 is left out: it is never covered.
  static const std::vector<std::uint64_t>& unique_masks() {
    static const std::vector<std::uint64_t> masks = [] {
      std::vector<std::uint64_t> out;
      for (const auto& set : model_info<M>().unique_sets) {
        std::uint64_t mask = 0;
        bool fits = true;
        for (std::size_t column : set) {
          fits = fits && column < 64;
          if (fits) mask |= std::uint64_t{1} << column;
        }
        if (fits) out.push_back(mask);
      }
      return out;
    }();
    return masks;
  }

  Expr<M> scope_;
  detail::ColumnValues bound_;
  std::uint64_t bound_mask_ = 0;
  bool allow_non_unique_ = false;
};

}  // namespace gocp
