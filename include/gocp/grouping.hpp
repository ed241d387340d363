#pragma once
/// \file
/// Reads that compute in the database: `Repository::aggregate(...)`, one row of
/// aggregates over the rows the repository sees, and `Repository::group_by(...)`, a lazy
/// `GroupedQuery` of one row per distinct key (Django's `values(...).annotate(...)`):
///
///     auto [clicks] = links.filter(c(&Link::user_id) == 7).aggregate(gocp::sum(&Link::clicks));
///     auto top = links.group_by(&Link::user_id)
///                    .aggregate(gocp::count(), gocp::sum(&Link::clicks))
///                    .order_by(gocp::desc(gocp::sum(&Link::clicks)))
///                    .limit(20)
///                    .all();  // std::vector<std::tuple<std::int64_t, std::int64_t, std::optional<std::int64_t>>>
///
/// The repository's filters and bound values apply first (SQL's WHERE, before grouping).
/// A grouped result is ordered by the keys, ascending, unless order_by says otherwise;
/// the keys not named in order_by always follow, ascending, so the order is total and
/// slices of it never overlap. NULL sorts as the largest value (last ascending, first
/// descending) on every backend, as in every ordered read, and a NULL key is one group, as SQL groups it. The
/// aggregates and their types are gocp/aggregates.hpp's.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "aggregates.hpp"
#include "errors.hpp"
#include "executor.hpp"
#include "model.hpp"
#include "orm/detail/aggregate_sql.hpp"
#include "queryset.hpp"

namespace gocp {

/// An order_by term of a grouped query: `of` (a group key's member pointer or an
/// aggregate), descending or not. Made by gocp::asc / gocp::desc.
template <class X>
struct GroupOrderBy {
  X of;             ///< `&Link::user_id` or `gocp::sum(&Link::clicks)`
  bool descending;  ///< largest first (NULL first: it sorts as the largest value)
};

/// `of` ascending (NULL last), for GroupedQuery::order_by; the same as `of` alone.
template <class X>
GroupOrderBy<X> asc(X of) {
  return {std::move(of), false};
}
/// `of` descending (NULL first), for GroupedQuery::order_by: `gocp::desc(gocp::count())`.
template <class X>
GroupOrderBy<X> desc(X of) {
  return {std::move(of), true};
}

namespace detail {

/// Every aggregate is on model M (or on none: count()); else one readable error.
template <class M, class... A>
inline constexpr bool aggregates_of = ((std::is_void_v<typename A::model_type> || std::is_same_v<typename A::model_type, M>) && ...);

/// The key type and model of a group_by member pointer.
template <class P>
struct group_key {
  using model_type = void;
  using type = void;
};
template <class K, class T>
struct group_key<K T::*> {
  using model_type = T;
  using type = K;
};

/// Reads `aggregates` from `row`, the first at column `first`.
template <class... A, std::size_t... I>
std::tuple<typename A::result_type...> read_aggregates(const Row& row, int first, const std::tuple<A...>& aggregates,
                                                        std::index_sequence<I...>) {
  return std::tuple<typename A::result_type...>{std::get<I>(aggregates).read(row, first + static_cast<int>(I))...};
}

/// One row of `aggregates` over qs's rows: what Repository::aggregate runs.
template <class M, class... A>
std::tuple<typename A::result_type...> aggregate_row(const Executor<M>& exec, const QuerySet<M>& qs,
                                                     const std::tuple<A...>& aggregates) {
  const std::array<AggregateSpec, sizeof...(A)> specs = std::apply([](const A&... a) {
    return std::array<AggregateSpec, sizeof...(A)>{a.spec()...};
  }, aggregates);
  std::optional<std::tuple<typename A::result_type...>> out;
  // named by its shape: the text is written once per connection, not on every call
  StatementShape shape(exec.info(), 'A');
  shape.count(specs.size());
  for (const AggregateSpec& s : specs) {
    shape.code(static_cast<char>(s.function));
    shape.column(s.column);
    shape.code(static_cast<char>(int{s.rows} | int{s.distinct} << 1 | int{s.integer} << 2));
  }
  shape.where({&qs.scope()});
  try {
    exec.select(
        shape,
        [&](SqlWriter& w) {
          w.text("SELECT ");
          for (std::size_t i = 0; i < specs.size(); ++i) {
            if (i) w.text(", ");
            write_aggregate(w, exec.database().dialect(), specs[i]);
          }
          w.text(" FROM ").table().where({&qs.scope()});
        },
        [&](const Row& row) {
          out.emplace(read_aggregates(row, 0, aggregates, std::index_sequence_for<A...>{}));
          return false;
        });
  } catch (const DatabaseError& e) {
    rethrow_aggregate_error(e, exec.info(), specs);
  }
  if (!out) throw DatabaseError("gocp: an aggregate over '" + std::string(exec.info().name) + "' returned no row");
  return std::move(*out);
}

}  // namespace detail

template <class M, class Keys, class Aggregates>
class GroupedQuery;

/// One row per distinct value of the keys K... of M's rows, with the aggregates A...
/// of each group; made by Repository::group_by. A value: each narrowing returns a new
/// one, and nothing runs until all(). See the file comment.
template <class M, class... K, class... A>
class GroupedQuery<M, std::tuple<K...>, std::tuple<A...>> {
 public:
  /// A result row: the keys (as the members' types), then the aggregates' results.
  using row_type = std::tuple<K..., typename A::result_type...>;

  /// Made by Repository::group_by; not for users.
  GroupedQuery(Executor<M> exec, QuerySet<M> qs, detail::GroupSpec spec, std::tuple<A...> aggregates)
      : exec_(std::move(exec)), qs_(std::move(qs)), spec_(std::move(spec)), aggregates_(std::move(aggregates)) {}

  /// This query with `more` aggregates of each group after the ones it has.
  template <class... B>
  GroupedQuery<M, std::tuple<K...>, std::tuple<A..., B...>> aggregate(const B&... more) const {
    static_assert(detail::aggregates_of<M, B...>,
                  "gocp: aggregate(...): an aggregate over a field of another model than the repository's");
    detail::GroupSpec spec = spec_;
    (spec.aggregates.push_back(more.spec()), ...);
    return {exec_, qs_, std::move(spec), std::tuple_cat(aggregates_, std::tuple<B...>(more...))};
  }

  /// This query ordered by `terms` (replacing any order given before): each a group key
  /// (`&Link::user_id`), an aggregate (`gocp::count()`, not necessarily one it selects),
  /// or either wrapped in gocp::asc / gocp::desc. A member that is not a key is a
  /// ConfigurationError (SQL cannot order groups by it).
  template <class... O>
  GroupedQuery order_by(const O&... terms) const {
    GroupedQuery out = *this;
    out.spec_.order.clear();
    (out.spec_.order.push_back(order_term(terms)), ...);
    return out;
  }

  /// At most `n` groups (SQL LIMIT); a negative `n` is a ConfigurationError.
  GroupedQuery limit(std::int64_t n) const {
    GroupedQuery out = *this;
    out.spec_.limit = static_cast<std::uint64_t>(non_negative("limit", n));
    return out;
  }

  /// Skips the first `n` groups (SQL OFFSET); a negative `n` is a ConfigurationError.
  GroupedQuery offset(std::int64_t n) const {
    GroupedQuery out = *this;
    out.spec_.offset = static_cast<std::uint64_t>(non_negative("offset", n));
    return out;
  }

  /// Runs it: one SELECT ... GROUP BY, the rows in the query's order.
  std::vector<row_type> all() const {
    std::vector<row_type> rows;
    try {
      exec_.select([&](detail::SqlWriter& w) { detail::write_grouped(w, exec_.database().dialect(), spec_, qs_.scope()); },
                   [&](const Row& row) {
                     rows.push_back(read_row(row, std::index_sequence_for<K...>{}));
                     return true;
                   });
    } catch (const DatabaseError& e) {
      detail::rethrow_aggregate_error(e, exec_.info(), spec_.aggregates);
    }
    return rows;
  }

 private:
  template <std::size_t... I>
  row_type read_row(const Row& row, std::index_sequence<I...>) const {
    const ModelInfo& info = exec_.info();
    std::tuple<K...> keys{column_traits<K>::read(row, static_cast<int>(I), [&] {
      return detail::qualified_name(info.name, info.columns[spec_.keys[I]].name);
    })...};
    return std::tuple_cat(std::move(keys), detail::read_aggregates(row, static_cast<int>(sizeof...(K)), aggregates_,
                                                                   std::index_sequence_for<A...>{}));
  }

  template <class X>
  detail::GroupOrder order_term(const X& term) const {
    if constexpr (requires { term.of; term.descending; }) {
      detail::GroupOrder o = order_term(term.of);
      o.descending = term.descending;
      return o;
    } else if constexpr (std::is_member_object_pointer_v<X>) {
      if constexpr (!std::is_same_v<typename detail::group_key<X>::model_type, M>) {
        static_assert(detail::always_false<X>,
                      "gocp: order_by(...) of a grouped query: this field is not on the repository's model");
        return {};
      } else {
      const std::size_t column = detail::column_index<M>(term);
      bool is_key = false;
      for (std::uint32_t k : spec_.keys) is_key = is_key || k == column;
      if (!is_key)
        throw ConfigurationError("gocp: order_by(...) of a grouped query on '" + std::string(model<M>::name) +
                                 "': a field that is not one of its group_by keys cannot order the groups");
      return {true, static_cast<std::uint32_t>(column), {}, false};
      }
    } else {
      static_assert(detail::aggregates_of<M, X>,
                    "gocp: order_by(...) of a grouped query takes its keys (&Model::field), aggregates of its model, "
                    "or either in gocp::asc / gocp::desc");
      return {false, 0, term.spec(), false};
    }
  }

  std::int64_t non_negative(const char* what, std::int64_t n) const {
    if (n < 0)
      throw ConfigurationError("gocp: " + std::string(what) + "(" + std::to_string(n) + ") of a grouped query on '" +
                               std::string(model<M>::name) + "': it must not be negative");
    return n;
  }

  Executor<M> exec_;
  QuerySet<M> qs_;
  detail::GroupSpec spec_;
  std::tuple<A...> aggregates_;
};

namespace detail {
/// What Repository::group_by returns for the member pointers P... of M.
template <class M, class... P>
using grouped_by = GroupedQuery<M, std::tuple<typename group_key<P>::type...>, std::tuple<>>;

/// The grouped query of qs's rows by `keys`: what Repository::group_by makes.
template <class M, class... P>
grouped_by<M, P...> group_rows_by(const Executor<M>& exec, const QuerySet<M>& qs, P... keys) {
  static_assert(sizeof...(P) > 0, "gocp: group_by(...) needs at least one field (for one row of aggregates: aggregate(...))");
  constexpr bool ours = (std::is_same_v<typename group_key<P>::model_type, M> && ...);
  static_assert(ours, "gocp: group_by(...) takes fields of the repository's model: &Model::field");
  GroupSpec spec;
  auto add = [&](auto member) {
    if constexpr (!ours) return;
    else {
    const std::size_t column = column_index<M>(member);
    if (column == npos)
      throw ConfigurationError("gocp: a member of '" + std::string(model<M>::name) +
                               "' used in group_by is not listed in gocp::model<...>::schema");
    spec.keys.push_back(static_cast<std::uint32_t>(column));
    }
  };
  (add(keys), ...);
  return {exec, qs, std::move(spec), std::tuple<>{}};
}
}  // namespace detail

}  // namespace gocp
