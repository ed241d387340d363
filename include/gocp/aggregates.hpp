#pragma once
/// \file
/// The aggregates a repository computes in the database, typed from the members they
/// read (Django's Sum, Avg, Min, Max, Count):
///
///     auto [total, newest] = links.aggregate(gocp::sum(&Link::clicks), gocp::max(&Link::created_at));
///     // total: std::optional<std::int64_t>, newest: std::optional<gocp::Timestamp>
///     auto [rows, users] = links.aggregate(gocp::count(), gocp::count(&Link::user_id, gocp::distinct));
///     auto per_user = links.group_by(&Link::user_id)
///                         .aggregate(gocp::count(), gocp::sum(&Link::clicks))
///                         .order_by(gocp::desc(gocp::sum(&Link::clicks)))
///                         .limit(10)
///                         .all();  // std::vector<std::tuple<std::int64_t, std::int64_t, std::optional<std::int64_t>>>
///
/// | aggregate                      | result                                        |
/// |--------------------------------|-----------------------------------------------|
/// | `count()`                      | `std::int64_t`, the rows                      |
/// | `count(&M::f[, distinct])`     | `std::int64_t`, the non-NULL (distinct) values |
/// | `sum(&M::f[, distinct])`       | `std::optional<std::int64_t>` of an integer field, `std::optional<double>` of a floating one |
/// | `avg(&M::f[, distinct])`       | `std::optional<double>`                       |
/// | `min(&M::f)`, `max(&M::f)`     | `std::optional` of the member's type (text, timestamps, mapped types too) |
///
/// Over no row (or only NULLs) sum, avg, min and max are std::nullopt, as SQL's NULL, and
/// count is 0. A sum past the 64-bit range is an error (DatabaseError naming the field),
/// never a wrapped number. sum and avg of a text, bytes, time or mapped field do not
/// compile, nor does an aggregate of another model's field.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "model.hpp"

namespace gocp {

/// Tag for count / sum / avg over the distinct values only (SQL's DISTINCT, Django's distinct=True).
struct Distinct {
  explicit Distinct() = default;
};
/// `gocp::count(&Link::user_id, gocp::distinct)`.
inline constexpr Distinct distinct{};

namespace detail {

enum class AggregateFunction : std::uint8_t { count, sum, avg, min, max };

/// One aggregate as the SQL writer needs it: the function, the column (none for
/// count()), DISTINCT, and whether a sum is of integers (cast back to a 64-bit integer).
struct AggregateSpec {
  AggregateFunction function;
  std::uint32_t column;  ///< in the model's columns; unused when `rows`
  bool rows;             ///< count(): COUNT(*)
  bool distinct;
  bool integer;  ///< the column is an integer one (sum's result type)

  friend bool operator==(const AggregateSpec&, const AggregateSpec&) = default;
};

/// The result type of F over a member of type M (void: count()'s rows).
template <AggregateFunction F, class M>
struct aggregate_result {
  using base = typename column_traits<M>::base;
  static constexpr Kind kind = kind_of<base>();
  using type = std::conditional_t<
      F == AggregateFunction::avg, std::optional<double>,
      std::conditional_t<F == AggregateFunction::sum,
                         std::optional<std::conditional_t<kind == Kind::integer, std::int64_t, double>>,
                         std::optional<base>>>;
};
template <class M>
struct aggregate_result<AggregateFunction::count, M> {
  using type = std::int64_t;
};

}  // namespace detail

/// An aggregate over model T's rows (T void: count(), valid on every model), computing F
/// over a member of type M; made by gocp::count / sum / avg / min / max.
template <class T, class M, detail::AggregateFunction F>
class Aggregate {
 public:
  using model_type = T;  ///< the model whose field it reads; void for count()
  /// What it reads back as (see the file comment's table).
  using result_type = typename detail::aggregate_result<F, M>::type;

  /// Made by gocp::count / sum / avg / min / max; not for users.
  Aggregate(std::uint32_t column, bool rows, bool distinct)
      : spec_{F, column, rows, distinct, integer_column()} {}

  /// What the SQL writer renders.
  const detail::AggregateSpec& spec() const noexcept { return spec_; }

  /// The value in column `at` of a result row.
  result_type read(const Row& row, int at) const {
    if constexpr (F == detail::AggregateFunction::count) {
      return row.integer(at);
    } else if constexpr (F == detail::AggregateFunction::min || F == detail::AggregateFunction::max) {
      return column_traits<result_type>::read(row, at, [column = spec_.column] {
        return detail::qualified_name(model<T>::name, model_info<T>().columns[column].name);
      });
    } else {
      if (row.is_null(at)) return std::nullopt;
      if constexpr (std::is_same_v<result_type, std::optional<std::int64_t>>) return row.integer(at);
      else return row.real(at);
    }
  }

 private:
  static constexpr bool integer_column() {
    if constexpr (std::is_void_v<M>) return false;
    else return column_traits<M>::type == ColumnType::integer;
  }

  detail::AggregateSpec spec_;
};

namespace detail {
/// The column of `member`; a member the schema does not list is a ConfigurationError.
template <class T, class M>
std::uint32_t aggregated_column(M T::*member) {
  const std::size_t column = column_index<T>(member);
  if (column == npos)
    throw ConfigurationError("gocp: a member of '" + std::string(model<T>::name) +
                             "' used in an aggregate is not listed in gocp::model<...>::schema");
  return static_cast<std::uint32_t>(column);
}

/// sum and avg read numbers only: bool and integers, floating point (not an enum or a
/// mapped type, whose numbers mean something else).
template <class M>
inline constexpr bool summable = kind_of<typename column_traits<M>::base>() == Kind::integer ||
                                 kind_of<typename column_traits<M>::base>() == Kind::real;
}  // namespace detail

/// COUNT(*): how many rows (on any model).
inline Aggregate<void, void, detail::AggregateFunction::count> count() { return {0, true, false}; }

/// COUNT(field): how many rows have a non-NULL value in it.
template <ModelType T, class M>
Aggregate<T, M, detail::AggregateFunction::count> count(M T::*member) {
  return {detail::aggregated_column(member), false, false};
}
/// COUNT(DISTINCT field): how many distinct non-NULL values it holds.
template <ModelType T, class M>
Aggregate<T, M, detail::AggregateFunction::count> count(M T::*member, Distinct) {
  return {detail::aggregated_column(member), false, true};
}

///@{
/// SUM(field) of an integer (std::int64_t) or floating-point (double) field; nullopt over
/// no non-NULL value. With gocp::distinct, of its distinct values.
template <ModelType T, class M>
Aggregate<T, M, detail::AggregateFunction::sum> sum(M T::*member) {
  static_assert(detail::summable<M>, "gocp: sum and avg apply only to integer and floating-point fields");
  return {detail::aggregated_column(member), false, false};
}
template <ModelType T, class M>
Aggregate<T, M, detail::AggregateFunction::sum> sum(M T::*member, Distinct) {
  static_assert(detail::summable<M>, "gocp: sum and avg apply only to integer and floating-point fields");
  return {detail::aggregated_column(member), false, true};
}
///@}

///@{
/// AVG(field) of an integer or floating-point field, as a double; nullopt over no
/// non-NULL value. With gocp::distinct, of its distinct values.
template <ModelType T, class M>
Aggregate<T, M, detail::AggregateFunction::avg> avg(M T::*member) {
  static_assert(detail::summable<M>, "gocp: sum and avg apply only to integer and floating-point fields");
  return {detail::aggregated_column(member), false, false};
}
template <ModelType T, class M>
Aggregate<T, M, detail::AggregateFunction::avg> avg(M T::*member, Distinct) {
  static_assert(detail::summable<M>, "gocp: sum and avg apply only to integer and floating-point fields");
  return {detail::aggregated_column(member), false, true};
}
///@}

/// MIN(field), read back as the member's type (the database's order: text by its
/// collation); nullopt over no non-NULL value.
template <ModelType T, class M>
Aggregate<T, M, detail::AggregateFunction::min> min(M T::*member) {
  return {detail::aggregated_column(member), false, false};
}

/// MAX(field), read back as the member's type; nullopt over no non-NULL value.
template <ModelType T, class M>
Aggregate<T, M, detail::AggregateFunction::max> max(M T::*member) {
  return {detail::aggregated_column(member), false, false};
}

}  // namespace gocp
