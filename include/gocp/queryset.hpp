#pragma once
/// \file
/// `gocp::QuerySet<M>`: what a repository sees, as a value — the filters its reads
/// apply, its *bound values*, its ordering, slice and flags (distinct, row locks). A bound value (`parent_id == 7` for a
/// parent's children, Django's `core_filters`) filters every read, seeds every create
/// and fixes its column for the unique-coverage check; a related manager is a
/// repository with bound values, nothing more. Cheap to copy; never touches a database.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/small_vector.hpp"
#include "query.hpp"

namespace gocp {

template <class Model, class... Policies>
class Repository;

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

/// Whether reads use the query cache: as the repository's policies say (`unset`: get and
/// find with CachedQueries), always (Repository::cache), or never (Repository::no_cache).
enum class QueryCaching : std::uint8_t { unset, on, off };

/// How a read locks the rows it returns (Repository::select_for_update).
enum class LockMode : std::uint8_t { none, plain, skip_locked, nowait };

/// A slice as Django keeps one: the rows [low, high) of the ordered result, to its end
/// without a high mark. Each limit()/offset() narrows it within itself.
struct Slice {
  std::int64_t low = 0;               ///< rows skipped
  std::optional<std::int64_t> high;   ///< one past the last row kept; none: to the end

  /// Whether the result is cut at all (Django's is_sliced).
  bool active() const noexcept { return low != 0 || high.has_value(); }
  /// Whether it keeps no row at all (limit(0)): no statement needs to run.
  bool empty() const noexcept { return high && *high == low; }
};

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
/// manager's `parent_id == 7`), its ordering and slice, and flags. Immutable: each
/// narrowing returns a new one. Holds no connection and runs nothing (the Executor
/// does); every part is typed (column indexes, directions, numbers), never SQL text,
/// so a cache can key and analyse it.
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
    out.narrow_filter(condition);
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
    out.narrow_allow_non_unique();
    return out;
  }

  // ---- ordering, slice, distinct, locks (the reads' shape) ------------------------------

  /// The keys order_by() gave, as given: reverse() does not rewrite them (see order_reversed()).
  std::span<const detail::OrderTerm> ordering() const noexcept { return ordering_; }
  /// Whether reverse() was applied an odd number of times: every key, and the
  /// primary-key tie-break, is read the other way round (Django's standard_ordering).
  bool order_reversed() const noexcept { return reversed_; }
  /// The slice limit()/offset() made.
  const detail::Slice& slice() const noexcept { return slice_; }
  /// Whether limit()/offset() cut the result (the verbs Django refuses then are refused).
  bool sliced() const noexcept { return slice_.active(); }
  /// Whether reads are SELECT DISTINCT.
  bool is_distinct() const noexcept { return distinct_; }
  /// How reads lock their rows (select_for_update).
  detail::LockMode lock() const noexcept { return lock_; }

  /// This queryset ordered by `keys` instead of any earlier ordering (Django's
  /// order_by; a reverse() applied before still applies, as in Django).
  QuerySet ordered_by(std::vector<detail::OrderTerm> keys) const {
    refuse_if_sliced("order_by");
    QuerySet out = *this;
    out.narrow_order(keys);
    return out;
  }

  /// This queryset read the other way round (Django's reverse()).
  QuerySet reversed() const {
    refuse_if_sliced("reverse");
    QuerySet out = *this;
    out.narrow_reverse();
    return out;
  }

  /// At most `n` rows of the current result (Django's qs[:n] on it). ValidationError
  /// for a negative `n` or an end past the largest int64.
  QuerySet limited_to(std::int64_t n) const {
    bound_sum("limit", n);  // refused before the copy
    QuerySet out = *this;
    out.narrow_limit(n);
    return out;
  }

  /// The current result without its first `m` rows (Django's qs[m:] on it).
  /// ValidationError for a negative `m` or a start past the largest int64.
  QuerySet offset_by(std::int64_t m) const {
    bound_sum("offset", m);  // refused before the copy
    QuerySet out = *this;
    out.narrow_offset(m);
    return out;
  }

  /// This queryset with SELECT DISTINCT reads.
  QuerySet made_distinct() const {
    refuse_if_sliced("distinct");
    QuerySet out = *this;
    out.narrow_distinct();
    return out;
  }

  /// This queryset with reads that lock their rows as `mode` says.
  QuerySet locking(detail::LockMode mode) const {
    QuerySet out = *this;
    out.narrow_lock(mode);
    return out;
  }

  /// Whether its reads use the query cache (Repository::cache / no_cache).
  detail::QueryCaching caching() const noexcept { return caching_; }
  /// The column whose versions alone a cached read depends on (Repository::cache(&F)).
  std::optional<std::uint32_t> cache_field() const noexcept { return cache_field_; }

  /// This queryset with its reads using the query cache as `mode` says, depending on
  /// `field`'s versions only when given.
  QuerySet caching_as(detail::QueryCaching mode, std::optional<std::uint32_t> field = std::nullopt) const {
    QuerySet out = *this;
    out.narrow_caching(mode, field);
    return out;
  }

  /// ConfigurationError when the queryset is sliced: `verb` cannot apply to a slice, as
  /// Django refuses it ("gocp: cannot update a sliced query (limit/offset) of 'app.link'").
  void refuse_if_sliced(std::string_view verb) const {
    if (sliced()) [[unlikely]]
      throw_sliced(verb);
  }

  /// ConfigurationError when the queryset orders, slices, is distinct or locks rows:
  /// for the readers that do not apply those yet (`reader` names it), rather than
  /// ignoring them silently.
  void refuse_read_shape(std::string_view reader) const {
    if (ordering_.empty() && !reversed_ && !sliced() && !distinct_ && lock_ == detail::LockMode::none) return;
    throw ConfigurationError("gocp: " + std::string(reader) + " of '" + std::string(model<M>::name) +
                             "' does not apply order_by/reverse/limit/offset/distinct/select_for_update: give it "
                             "a repository without them");
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
  // A repository narrows the queryset of a temporary of itself in place (a fluent chain
  // copies nothing): the steps each public narrowing above applies to its copy.
  template <class, class...>
  friend class Repository;

  template <class E>  // Expr<M> or const Expr<M>&
  void narrow_filter(E&& condition) {
    if (scope_.empty())
      scope_ = std::forward<E>(condition);  // the first filter: taken as it is
    else
      scope_ = std::move(scope_) && Expr<M>(std::forward<E>(condition));
  }
  void narrow_allow_non_unique() noexcept { allow_non_unique_ = true; }
  void narrow_order(std::span<const detail::OrderTerm> keys) {
    refuse_if_sliced("order_by");
    ordering_.clear();
    ordering_.append(keys.begin(), keys.end());
  }
  void narrow_reverse() {
    refuse_if_sliced("reverse");
    reversed_ = !reversed_;
  }
  void narrow_limit(std::int64_t n) {
    const std::int64_t high = bound_sum("limit", n);
    slice_.high = slice_.high ? std::min(*slice_.high, high) : high;
  }
  void narrow_offset(std::int64_t m) {
    const std::int64_t low = bound_sum("offset", m);
    slice_.low = slice_.high ? std::min(*slice_.high, low) : low;
  }
  void narrow_distinct() {
    refuse_if_sliced("distinct");
    distinct_ = true;
  }
  void narrow_lock(detail::LockMode mode) noexcept { lock_ = mode; }
  void narrow_caching(detail::QueryCaching mode, std::optional<std::uint32_t> field) noexcept {
    caching_ = mode;
    cache_field_ = field;
  }

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

  [[noreturn, gnu::cold]] static void throw_sliced(std::string_view verb) {
    throw ConfigurationError("gocp: cannot " + std::string(verb) + " a sliced query (limit/offset) of '" +
                             std::string(model<M>::name) + "'; apply it before limit()/offset()");
  }

  /// The current slice's start plus `n` (a limit's end or an offset's start), checked.
  std::int64_t bound_sum(std::string_view verb, std::int64_t n) const {
    const auto what = [&] {
      return "gocp: " + std::string(verb) + "(" + std::to_string(n) + ") on '" + std::string(model<M>::name) + "'";
    };
    if (n < 0) throw ValidationError(what() + ": a bound must be 0 or more");
    std::int64_t sum = 0;
    if (__builtin_add_overflow(slice_.low, n, &sum))
      throw ValidationError(what() + ": the slice would reach past the largest int64 (it already skips " +
                            std::to_string(slice_.low) + " rows)");
    return sum;
  }

  Expr<M> scope_;
  detail::ColumnValues bound_;
  std::uint64_t bound_mask_ = 0;
  bool allow_non_unique_ = false;
  bool reversed_ = false;
  bool distinct_ = false;
  detail::LockMode lock_ = detail::LockMode::none;
  detail::QueryCaching caching_ = detail::QueryCaching::unset;
  std::optional<std::uint32_t> cache_field_;
  detail::SmallVector<detail::OrderTerm, 2> ordering_;  // inline: an order_by of a key or two allocates nothing
  detail::Slice slice_;
};

}  // namespace gocp
