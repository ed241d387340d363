#pragma once
/// \file
/// The values that travel between a model's members and the database: one small
/// variant (`Value`), the column types a member may have, and the conversions
/// between the two. Anything a model field can hold is listed in `column_traits`.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "errors.hpp"

namespace gocp {

/// A database value: NULL, a 64-bit integer, a double or a text. Text is bytes, so a
/// string holding quotes, semicolons or NULs is stored and read back exactly.
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

enum class ColumnType : std::uint8_t { integer, real, text };

/// A row being read: backends implement it over their native result.
class Row {
 public:
  virtual bool is_null(int column) const = 0;
  virtual std::int64_t integer(int column) const = 0;
  virtual double real(int column) const = 0;
  virtual std::string_view text(int column) const = 0;

 protected:
  ~Row() = default;
};

namespace detail {

template <class>
inline constexpr bool always_false = false;

template <class M>
struct is_optional : std::false_type {};
template <class M>
struct is_optional<std::optional<M>> : std::true_type {};

template <class M>
using remove_optional_t = typename std::conditional_t<is_optional<M>::value, M, std::optional<M>>::value_type;

template <class B>
inline constexpr bool is_supported_base =
    std::is_same_v<B, bool> || (std::is_integral_v<B> && sizeof(B) <= sizeof(std::int64_t) &&
                                !(std::is_unsigned_v<B> && sizeof(B) == sizeof(std::int64_t))) ||
    std::is_floating_point_v<B> || std::is_same_v<B, std::string>;

template <class B>
constexpr ColumnType column_type_of() {
  if constexpr (std::is_floating_point_v<B>) return ColumnType::real;
  else if constexpr (std::is_same_v<B, std::string>) return ColumnType::text;
  else return ColumnType::integer;
}

template <class B, class V>
inline constexpr bool base_accepts = [] {
  using U = std::remove_cvref_t<V>;
  if constexpr (std::is_same_v<B, bool>) return std::is_same_v<U, bool>;
  else if constexpr (std::is_integral_v<B>) return std::is_integral_v<U> && !std::is_same_v<U, bool>;
  else if constexpr (std::is_floating_point_v<B>) return std::is_arithmetic_v<U> && !std::is_same_v<U, bool>;
  else return std::is_convertible_v<const U&, std::string_view>;
}();

/// The smallest and largest value an integer member of type B holds (bool: 0 and 1).
template <class B>
inline constexpr std::int64_t min_of = static_cast<std::int64_t>(std::numeric_limits<B>::min());
template <class B>
inline constexpr std::int64_t max_of = static_cast<std::int64_t>(std::numeric_limits<B>::max());

/// The ValidationError for `value` outside [lo, hi]; `what` names the field
/// ("library.item.qty"), built only when the error is raised.
template <class What>
[[noreturn]] void throw_out_of_range(const What& what, const std::string& value, std::int64_t lo, std::int64_t hi) {
  throw ValidationError("gocp: '" + std::string(what()) + "' cannot hold " + value + ": its range is [" +
                        std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

/// Reads column `column` of a row as a Value of the given type.
inline Value read_value(const Row& row, int column, ColumnType type) {
  if (row.is_null(column)) return Value{};
  switch (type) {
    case ColumnType::integer: return Value{row.integer(column)};
    case ColumnType::real: return Value{row.real(column)};
    default: return Value{std::string(row.text(column))};
  }
}

}  // namespace detail

/// What gocp knows about a member type M: whether it may be NULL, its column type, and
/// how it converts to and from a Value.
template <class M>
struct column_traits {
  using base = detail::remove_optional_t<M>;
  static constexpr bool supported = detail::is_supported_base<base>;
  static constexpr bool nullable = detail::is_optional<M>::value;
  static constexpr ColumnType type = detail::column_type_of<base>();

  /// Whether a value of type V may be compared with, or assigned to, a field of type M.
  template <class V>
  static constexpr bool accepts = detail::base_accepts<base, V> ||
                                  (nullable && (std::is_same_v<std::remove_cvref_t<V>, std::nullopt_t> ||
                                                std::is_same_v<std::remove_cvref_t<V>, M>));

  static Value base_to_value(const base& v) {
    if constexpr (type == ColumnType::integer) return Value{static_cast<std::int64_t>(v)};
    else if constexpr (type == ColumnType::real) return Value{static_cast<double>(v)};
    else return Value{v};
  }

  static Value to_value(const M& v) {
    if constexpr (nullable) return v ? base_to_value(*v) : Value{};
    else return base_to_value(v);
  }

  /// Converts a user's value of an accepted type V (see `accepts`). An integer is kept
  /// whole, never narrowed to the member's type: a lookup outside the member's range
  /// then matches nothing, and a write of it is refused by validation. A uint64 above
  /// INT64_MAX is no Value: a ValidationError naming the field (`what()`, called only then).
  template <class V, class What>
  static Value from_user(V&& v, const What& what) {
    using U = std::remove_cvref_t<V>;
    if constexpr (std::is_same_v<U, std::nullopt_t>) {
      return Value{};
    } else if constexpr (nullable && std::is_same_v<U, M>) {
      return to_value(v);
    } else if constexpr (type == ColumnType::text) {
      return Value{std::in_place_type<std::string>, std::string_view(v)};
    } else if constexpr (type == ColumnType::integer) {
      if constexpr (std::is_unsigned_v<U> && sizeof(U) == sizeof(std::int64_t)) {
        if (v > static_cast<U>(std::numeric_limits<std::int64_t>::max()))
          detail::throw_out_of_range(what, std::to_string(v), detail::min_of<base>, detail::max_of<base>);
      }
      return Value{static_cast<std::int64_t>(v)};
    } else {
      return base_to_value(static_cast<base>(v));
    }
  }

  /// Reads a column; a value the member cannot hold is a ValidationError naming the
  /// field (`what()`), never a truncation.
  template <class What>
  static M read(const Row& row, int column, const What& what) {
    if constexpr (nullable) {
      if (row.is_null(column)) return std::nullopt;
    }
    if constexpr (type == ColumnType::integer) return narrow(row.integer(column), what);
    else if constexpr (type == ColumnType::real) return static_cast<base>(row.real(column));
    else return base(row.text(column));
  }

  /// Converts a Value back; `what()` names the field for the error a mismatch raises
  /// (called only then, like from_user's and read's).
  template <class What>
  static M from_value(const Value& v, const What& what) {
    if (std::holds_alternative<std::monostate>(v)) {
      if constexpr (nullable) return std::nullopt;
      else throw ValidationError("gocp: field '" + std::string(what()) + "' cannot be NULL");
    }
    if constexpr (type == ColumnType::integer) {
      if (auto* i = std::get_if<std::int64_t>(&v)) return narrow(*i, what);
    } else if constexpr (type == ColumnType::real) {
      if (auto* d = std::get_if<double>(&v)) return static_cast<base>(*d);
      if (auto* i = std::get_if<std::int64_t>(&v)) return static_cast<base>(*i);
    } else {
      if (auto* s = std::get_if<std::string>(&v)) return *s;
    }
    throw ValidationError("gocp: value of the wrong type for field '" + std::string(what()) + "'");
  }

 private:
  template <class What>
  static base narrow(std::int64_t i, const What& what) {
    if (i < detail::min_of<base> || i > detail::max_of<base>)
      detail::throw_out_of_range(what, std::to_string(i), detail::min_of<base>, detail::max_of<base>);
    return static_cast<base>(i);
  }
};

}  // namespace gocp
