#pragma once
/// \file
/// The values that travel between a model's members and the database: one small
/// variant (`Value`), the column types a member may have, and the conversions
/// between the two. Anything a model field can hold is listed in `column_traits`;
/// other types are mapped onto those by `gocp::field_traits` (field_traits.hpp).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <ratio>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "detail/chrono.hpp"
#include "errors.hpp"
#include "field_traits.hpp"

namespace gocp {

/// Bytes of a BLOB (SQLite) / BYTEA (PostgreSQL) column, compared bytewise as both do.
struct BlobValue {
  std::string bytes;  ///< any bytes, NULs included
  /// Bytewise, so ordering and equality agree with the databases' own.
  friend auto operator<=>(const BlobValue&, const BlobValue&) = default;
};
/// A timestamp: microseconds since 1970-01-01T00:00:00Z, in the years 1 to 9999.
struct TimestampValue {
  std::int64_t micros = 0;  ///< UTC, so no time zone enters a comparison
  /// Chronological order.
  friend auto operator<=>(const TimestampValue&, const TimestampValue&) = default;
};
/// A date: days since 1970-01-01, in the years 1 to 9999.
struct DateValue {
  std::int64_t days = 0;  ///< negative before 1970
  /// Chronological order.
  friend auto operator<=>(const DateValue&, const DateValue&) = default;
};

/// A database value: NULL, a 64-bit integer, a double, a text, bytes, a timestamp or a
/// date. Text is bytes, so a string holding quotes, semicolons or NULs is stored and
/// read back exactly.
using Value = std::variant<std::monostate, std::int64_t, double, std::string, BlobValue, TimestampValue, DateValue>;

/// How a column is stored, one per Value alternative but NULL: what DDL, the codec and
/// Row's accessors are chosen by (the README's "Field types" maps C++ types onto them).
enum class ColumnType : std::uint8_t { integer, real, text, blob, timestamp, date };

/// A timestamp member holding exactly what gocp stores (microseconds): assigning a
/// finer time_point to it needs an explicit std::chrono::floor, so nothing is narrowed
/// behind the user's back.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

/// A row being read: backends implement it over their native result.
/// Columns are numbered from 0 in the SELECT's order; gocp calls an accessor only for a
/// column that is not NULL, and only the one its ColumnType names.
class Row {
 public:
  /// Whether the column is SQL NULL (the member's std::nullopt).
  virtual bool is_null(int column) const = 0;
  /// An INTEGER / BIGINT column (bools and enums too).
  virtual std::int64_t integer(int column) const = 0;
  /// A REAL / DOUBLE PRECISION column.
  virtual double real(int column) const = 0;
  /// A TEXT column's bytes, valid until the row is advanced or destroyed.
  virtual std::string_view text(int column) const = 0;
  /// A BLOB / BYTEA column's bytes (by default the text accessor's bytes).
  virtual std::string_view blob(int column) const { return text(column); }
  /// A timestamp column as microseconds since the Unix epoch (by default the integer).
  virtual std::int64_t timestamp(int column) const { return integer(column); }
  /// A date column as days since 1970-01-01 (by default the integer).
  virtual std::int64_t date(int column) const { return integer(column); }

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
struct is_sys_time : std::false_type {};
template <class D>
struct is_sys_time<std::chrono::time_point<std::chrono::system_clock, D>> : std::true_type {};

/// A duration converted to microseconds exactly, or known to be inexact: a whole number
/// of microseconds per tick (seconds, milliseconds) or of ticks per microsecond
/// (nanoseconds), with an integer count.
template <class D>
inline constexpr bool micro_convertible = std::is_integral_v<typename D::rep> &&
                                          (std::ratio_divide<typename D::period, std::micro>::den == 1 ||
                                           std::ratio_divide<typename D::period, std::micro>::num == 1);

/// How a (non-optional) member type is stored.
enum class Kind : std::uint8_t { unsupported, integer, real, text, blob, timestamp, date, mapped };

template <class B>
constexpr Kind kind_of() {
  if constexpr (std::is_same_v<B, bool> || (std::is_integral_v<B> && sizeof(B) <= sizeof(std::int64_t) &&
                                            !(std::is_unsigned_v<B> && sizeof(B) == sizeof(std::int64_t))))
    return Kind::integer;
  else if constexpr (std::is_floating_point_v<B>) return Kind::real;
  else if constexpr (std::is_same_v<B, std::string>) return Kind::text;
  else if constexpr (std::is_same_v<B, std::vector<std::byte>>) return Kind::blob;
  else if constexpr (std::is_same_v<B, std::chrono::sys_days> || std::is_same_v<B, std::chrono::year_month_day>)
    return Kind::date;
  else if constexpr (is_sys_time<B>::value)
    return micro_convertible<typename B::duration> ? Kind::timestamp : Kind::unsupported;
  else if constexpr (requires { typename field_traits<B>::storage; })
    return kind_of<typename field_traits<B>::storage>() == Kind::unsupported ? Kind::unsupported : Kind::mapped;
  else return Kind::unsupported;
}

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

template <class What>
[[noreturn]] void throw_wrong_type(const What& what) {
  throw ValidationError("gocp: value of the wrong type for field '" + std::string(what()) + "'");
}

/// Names no field: for conversions of values already known to be valid.
struct UnnamedField {
  std::string operator()() const { return "(unnamed field)"; }
};

/// How a member type B converts, by kind; column_traits adds NULL (std::optional).
template <class B, Kind K = kind_of<B>()>
struct base_traits {  // unsupported: field() stops at its static_assert; nothing here is called
  using stored = std::int64_t;
  static constexpr ColumnType type = ColumnType::integer;
  template <class V>
  static constexpr bool accepts = false;
};

template <class B>
struct base_traits<B, Kind::integer> {
  using stored = B;
  static constexpr ColumnType type = ColumnType::integer;
  template <class V>
  static constexpr bool accepts = std::is_same_v<B, bool>
                                      ? std::is_same_v<std::remove_cvref_t<V>, bool>
                                      : std::is_integral_v<std::remove_cvref_t<V>> && !std::is_same_v<std::remove_cvref_t<V>, bool>;

  template <class What>
  static Value to_value(const B& v, const What&) { return Value{static_cast<std::int64_t>(v)}; }
  /// An integer is kept whole, never narrowed to the member's type: a lookup outside
  /// the member's range then matches nothing, and a write of it is refused by
  /// validation. A uint64 above INT64_MAX is no Value: a ValidationError.
  template <class V, class What>
  static Value from_user(V&& v, const What& what) {
    using U = std::remove_cvref_t<V>;
    if constexpr (std::is_unsigned_v<U> && sizeof(U) == sizeof(std::int64_t)) {
      if (v > static_cast<U>(std::numeric_limits<std::int64_t>::max()))
        throw_out_of_range(what, std::to_string(v), min_of<B>, max_of<B>);
    }
    return Value{static_cast<std::int64_t>(v)};
  }
  template <class What>
  static B read(const Row& row, int column, const What& what) { return narrow(row.integer(column), what); }
  template <class What>
  static B from_value(const Value& v, const What& what) {
    if (auto* i = std::get_if<std::int64_t>(&v)) return narrow(*i, what);
    throw_wrong_type(what);
  }
  template <class What>
  static B narrow(std::int64_t i, const What& what) {
    if (i < min_of<B> || i > max_of<B>) throw_out_of_range(what, std::to_string(i), min_of<B>, max_of<B>);
    return static_cast<B>(i);
  }
};

template <class B>
struct base_traits<B, Kind::real> {
  using stored = B;
  static constexpr ColumnType type = ColumnType::real;
  template <class V>
  static constexpr bool accepts = std::is_arithmetic_v<std::remove_cvref_t<V>> && !std::is_same_v<std::remove_cvref_t<V>, bool>;

  template <class What>
  static Value to_value(const B& v, const What&) { return Value{static_cast<double>(v)}; }
  template <class V, class What>
  static Value from_user(V&& v, const What&) { return Value{static_cast<double>(static_cast<B>(v))}; }
  template <class What>
  static B read(const Row& row, int column, const What&) { return static_cast<B>(row.real(column)); }
  template <class What>
  static B from_value(const Value& v, const What& what) {
    if (auto* d = std::get_if<double>(&v)) return static_cast<B>(*d);
    if (auto* i = std::get_if<std::int64_t>(&v)) return static_cast<B>(*i);
    throw_wrong_type(what);
  }
};

template <class B>
struct base_traits<B, Kind::text> {
  using stored = B;
  static constexpr ColumnType type = ColumnType::text;
  template <class V>
  static constexpr bool accepts = std::is_convertible_v<const std::remove_cvref_t<V>&, std::string_view>;

  template <class What>
  static Value to_value(const B& v, const What&) { return Value{v}; }
  template <class V, class What>
  static Value from_user(V&& v, const What&) { return Value{std::in_place_type<std::string>, std::string_view(v)}; }
  template <class What>
  static B read(const Row& row, int column, const What&) { return B(row.text(column)); }
  template <class What>
  static B from_value(const Value& v, const What& what) {
    if (auto* s = std::get_if<std::string>(&v)) return *s;
    throw_wrong_type(what);
  }
};

template <class B>
struct base_traits<B, Kind::blob> {
  using stored = B;
  static constexpr ColumnType type = ColumnType::blob;
  template <class V>
  static constexpr bool accepts = std::is_same_v<std::remove_cvref_t<V>, B>;

  template <class What>
  static Value to_value(const B& v, const What&) {
    return Value{BlobValue{std::string(reinterpret_cast<const char*>(v.data()), v.size())}};
  }
  template <class V, class What>
  static Value from_user(V&& v, const What& what) { return to_value(v, what); }
  template <class What>
  static B read(const Row& row, int column, const What&) { return bytes(row.blob(column)); }
  template <class What>
  static B from_value(const Value& v, const What& what) {
    if (auto* b = std::get_if<BlobValue>(&v)) return bytes(b->bytes);
    throw_wrong_type(what);
  }
  static B bytes(std::string_view s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return B(p, p + s.size());
  }
};

template <class What>
[[noreturn]] void throw_bad_time(const What& what, const std::string& value, std::string_view why) {
  throw ValidationError("gocp: '" + std::string(what()) + "' cannot hold " + value + ": " + std::string(why));
}

/// Microseconds since the epoch of a time point, rounded down, and whether that is
/// exact; a ValidationError outside the years 1 to 9999.
template <class D, class What>
std::pair<std::int64_t, bool> micros_of(std::chrono::time_point<std::chrono::system_clock, D> t, const What& what) {
  using P = std::ratio_divide<typename D::period, std::micro>;
  const auto count = static_cast<std::int64_t>(t.time_since_epoch().count());
  std::int64_t micros = 0;
  bool exact = true;
  if constexpr (P::den == 1) {  // a tick is a whole number of microseconds
    if (count < kMinMicros / P::num || count > kMaxMicros / P::num)
      throw_bad_time(what, std::to_string(count) + " ticks", "outside the years 1 to 9999");
    micros = count * P::num;
  } else {
    micros = floor_div(count, P::den);
    exact = count % P::den == 0;
  }
  if (micros < kMinMicros || micros > kMaxMicros)
    throw_bad_time(what, std::to_string(micros) + " microseconds since 1970", "outside the years 1 to 9999");
  return {micros, exact};
}

template <class B>
struct base_traits<B, Kind::timestamp> {
  using stored = B;
  using duration = typename B::duration;
  static constexpr ColumnType type = ColumnType::timestamp;
  template <class V>
  static constexpr bool accepts = [] {
    using U = std::remove_cvref_t<V>;
    if constexpr (is_sys_time<U>::value) return micro_convertible<typename U::duration>;
    else return false;
  }();

  template <class What>
  static Value to_value(const B& v, const What& what) { return from_user(v, what); }
  /// Refuses a time finer than a microsecond rather than rounding it silently (Django
  /// truncates to microseconds without a word; C++ itself refuses to assign a finer time
  /// to a gocp::Timestamp member without a floor or a cast, and gocp says the same), in
  /// an update or a default for a gocp::Timestamp member too: floor it first.
  template <class V, class What>
  static Value from_user(V&& v, const What& what) {
    const auto [micros, exact] = micros_of(v, what);
    if (!exact) throw_finer_than_microsecond(micros, what);
    return Value{TimestampValue{micros}};
  }
  /// The error of from_user, saying what to do for this member's type.
  template <class What>
  [[noreturn]] static void throw_finer_than_microsecond(std::int64_t micros, const What& what) {
    if constexpr (std::ratio_less_v<typename duration::period, std::micro>)  // the member holds the fraction
      throw_bad_time(what, format_timestamp(micros) + " and a fraction of a microsecond",
                     "gocp stores timestamps to the microsecond (as PostgreSQL); round it first with "
                     "std::chrono::floor<std::chrono::microseconds>(t), or declare the member as gocp::Timestamp");
    else  // the time given is finer than the member it is for
      throw_bad_time(what, format_timestamp(micros) + " and a fraction of a microsecond",
                     "the member counts whole microseconds (or coarser) and the time given for it is finer; floor it "
                     "first, as assigning it to the member would need: std::chrono::floor<std::chrono::microseconds>(t)"
                     " (for gocp::Timestamp; std::chrono::floor<the member's duration>(t) otherwise)");
  }
  /// For `<`, `<=`, `>`, `>=` and `==`: the value rounded down, and whether that was
  /// exact (the comparison is then rewritten to stay exact, see Col::compare).
  template <class V, class What>
  static std::pair<Value, bool> for_comparison(V&& v, const What& what) {
    const auto [micros, exact] = micros_of(v, what);
    return {Value{TimestampValue{micros}}, exact};
  }
  template <class What>
  static B read(const Row& row, int column, const What& what) { return from_micros(row.timestamp(column), what); }
  template <class What>
  static B from_value(const Value& v, const What& what) {
    if (auto* t = std::get_if<TimestampValue>(&v)) return from_micros(t->micros, what);
    throw_wrong_type(what);
  }
  /// A stored time in the member's duration; one it cannot hold exactly is an error.
  template <class What>
  static B from_micros(std::int64_t micros, const What& what) {
    using P = std::ratio_divide<typename duration::period, std::micro>;
    using Rep = typename duration::rep;
    std::int64_t count = 0;
    if constexpr (P::den == 1) {
      if (micros % P::num != 0) throw_bad_time(what, format_timestamp(micros), "it is finer than the member's type");
      count = micros / P::num;
    } else {
      if (micros > std::numeric_limits<std::int64_t>::max() / P::den ||
          micros < std::numeric_limits<std::int64_t>::min() / P::den)
        throw_bad_time(what, format_timestamp(micros), "it is outside the range of the member's type");
      count = micros * P::den;
    }
    if (count < static_cast<std::int64_t>(std::numeric_limits<Rep>::min()) ||
        count > static_cast<std::int64_t>(std::numeric_limits<Rep>::max()))
      throw_bad_time(what, format_timestamp(micros), "it is outside the range of the member's type");
    return B{duration{static_cast<Rep>(count)}};
  }
};

template <class B>
struct base_traits<B, Kind::date> {
  using stored = B;
  static constexpr ColumnType type = ColumnType::date;
  template <class V>
  static constexpr bool accepts = std::is_same_v<std::remove_cvref_t<V>, std::chrono::sys_days> ||
                                  std::is_same_v<std::remove_cvref_t<V>, std::chrono::year_month_day>;

  template <class What>
  static Value to_value(const B& v, const What& what) { return from_user(v, what); }
  template <class V, class What>
  static Value from_user(V&& v, const What& what) {
    using U = std::remove_cvref_t<V>;
    if constexpr (std::is_same_v<U, std::chrono::year_month_day>) {
      if (!v.ok())
        throw ValidationError("gocp: '" + std::string(what()) + "' cannot hold " + std::to_string(int(v.year())) + "-" +
                              std::to_string(unsigned(v.month())) + "-" + std::to_string(unsigned(v.day())) +
                              ": it is not a valid date");
    }
    const std::int64_t days = std::chrono::sys_days(v).time_since_epoch().count();
    if (days < kMinDay || days > kMaxDay) throw_bad_time(what, std::to_string(days) + " days since 1970", "outside the years 1 to 9999");
    return Value{DateValue{days}};
  }
  template <class What>
  static B read(const Row& row, int column, const What&) { return from_days(row.date(column)); }
  template <class What>
  static B from_value(const Value& v, const What& what) {
    if (auto* d = std::get_if<DateValue>(&v)) return from_days(d->days);
    throw_wrong_type(what);
  }
  static B from_days(std::int64_t days) {
    return B{std::chrono::sys_days{std::chrono::days{static_cast<std::chrono::days::rep>(days)}}};
  }
};

/// A type mapped by gocp::field_traits onto its storage type, converted through it.
template <class B>
struct base_traits<B, Kind::mapped> {
  using mapping = field_traits<B>;
  using storage = typename mapping::storage;
  using inner = base_traits<storage>;
  using stored = typename inner::stored;
  static constexpr ColumnType type = inner::type;
  template <class V>
  static constexpr bool accepts = std::is_same_v<std::remove_cvref_t<V>, B> ||
                                  (std::is_class_v<B> && std::is_convertible_v<const std::remove_cvref_t<V>&, B>);

  template <class What>
  static Value to_value(const B& v, const What& what) { return inner::to_value(to_storage(v, what), what); }
  template <class V, class What>
  static Value from_user(V&& v, const What& what) { return to_value(B(std::forward<V>(v)), what); }
  template <class V, class What>
  static std::pair<Value, bool> for_comparison(V&& v, const What& what) {
    if constexpr (requires { inner::for_comparison(std::declval<storage>(), what); })
      return inner::for_comparison(to_storage(B(std::forward<V>(v)), what), what);
    else return {from_user(std::forward<V>(v), what), true};
  }
  template <class What>
  static B read(const Row& row, int column, const What& what) { return from_storage(inner::read(row, column, what), what); }
  template <class What>
  static B from_value(const Value& v, const What& what) { return from_storage(inner::from_value(v, what), what); }

 private:
  // The user's conversions name no field: their ValidationError is reported with it.
  template <class What>
  static storage to_storage(const B& v, const What& what) {
    try {
      return mapping::to_storage(v);
    } catch (const ValidationError& e) {
      throw ValidationError("gocp: '" + std::string(what()) + "': " + e.what());
    }
  }
  template <class What>
  static B from_storage(storage s, const What& what) {
    try {
      return mapping::from_storage(std::move(s));
    } catch (const ValidationError& e) {
      throw ValidationError("gocp: '" + std::string(what()) + "': " + e.what());
    }
  }
};

/// Reads column `column` of a row as a Value of the given type.
inline Value read_value(const Row& row, int column, ColumnType type) {
  if (row.is_null(column)) return Value{};
  switch (type) {
    case ColumnType::integer: return Value{row.integer(column)};
    case ColumnType::real: return Value{row.real(column)};
    case ColumnType::blob: return Value{BlobValue{std::string(row.blob(column))}};
    case ColumnType::timestamp: return Value{TimestampValue{row.timestamp(column)}};
    case ColumnType::date: return Value{DateValue{row.date(column)}};
    default: return Value{std::string(row.text(column))};
  }
}

}  // namespace detail

/// What gocp knows about a member type M: whether it may be NULL, its column type, and
/// how it converts to and from a Value. Types it does not know natively are mapped by
/// gocp::field_traits (field_traits.hpp).
template <class M>
struct column_traits {
  using base = detail::remove_optional_t<M>;      ///< M without std::optional
  using conversions = detail::base_traits<base>;  ///< the conversions of `base` (internal)
  /// The native type the column stores (an enum's underlying integer, a mapped type's storage).
  using stored = typename conversions::stored;
  /// False for a type gocp cannot store; gocp::field then fails with a static_assert.
  static constexpr bool supported = detail::kind_of<base>() != detail::Kind::unsupported;
  static constexpr bool nullable = detail::is_optional<M>::value;  ///< M is a std::optional: NULL-able
  static constexpr ColumnType type = conversions::type;           ///< how the column is stored

  /// Whether a value of type V may be compared with, or assigned to, a field of type M.
  template <class V>
  static constexpr bool accepts = conversions::template accepts<V> ||
                                  (nullable && (std::is_same_v<std::remove_cvref_t<V>, std::nullopt_t> ||
                                                std::is_same_v<std::remove_cvref_t<V>, M>));

  /// `what()` names the field in the ValidationError a value gocp cannot store raises
  /// (a timestamp finer than a microsecond, a date outside the years 1 to 9999).
  template <class What = detail::UnnamedField>
  static Value to_value(const M& v, const What& what = {}) {
    if constexpr (nullable) return v ? conversions::to_value(*v, what) : Value{};
    else return conversions::to_value(v, what);
  }

  /// Converts a user's value of an accepted type V (see `accepts`); `what()` names the
  /// field in the error a value gocp cannot store raises (called only then).
  template <class V, class What>
  static Value from_user(V&& v, const What& what) {
    using U = std::remove_cvref_t<V>;
    if constexpr (std::is_same_v<U, std::nullopt_t>) return Value{};
    else if constexpr (nullable && std::is_same_v<U, M>) return to_value(v, what);
    else return conversions::from_user(std::forward<V>(v), what);
  }

  /// As from_user, for a comparison: a timestamp finer than a microsecond is rounded
  /// down and reported inexact (second) instead of refused.
  template <class V, class What>
  static std::pair<Value, bool> for_comparison(V&& v, const What& what) {
    using U = std::remove_cvref_t<V>;
    if constexpr (std::is_same_v<U, std::nullopt_t> || (nullable && std::is_same_v<U, M>))
      return {from_user(std::forward<V>(v), what), true};
    else if constexpr (requires { conversions::for_comparison(std::forward<V>(v), what); })
      return conversions::for_comparison(std::forward<V>(v), what);
    else return {conversions::from_user(std::forward<V>(v), what), true};
  }

  /// Reads a column; a value the member cannot hold is a ValidationError naming the
  /// field (`what()`), never a truncation.
  template <class What>
  static M read(const Row& row, int column, const What& what) {
    if constexpr (nullable) {
      if (row.is_null(column)) return std::nullopt;
    }
    return conversions::read(row, column, what);
  }

  /// read() into `out`; text goes into the member's own buffer when it is large enough,
  /// else into a string made to size (assign() into a small one reallocates through the
  /// general replace path: about 50 instructions more per value of a fresh object).
  template <class What>
  static void read_into(M& out, const Row& row, int column, const What& what) {
    if constexpr (std::is_same_v<M, std::string>) {
      assign_text(out, row.text(column));
    } else if constexpr (std::is_same_v<M, std::optional<std::string>>) {
      if (row.is_null(column)) out.reset();
      else if (out) assign_text(*out, row.text(column));
      else out.emplace(row.text(column));
    } else {
      out = read(row, column, what);
    }
  }

  /// `out = text`, in out's buffer if it fits, else in a new one made to size.
  static void assign_text(std::string& out, std::string_view text) {
    if (text.size() <= out.capacity()) out.assign(text);
    else out = std::string(text);
  }

  /// Converts a Value back; `what()` names the field for the error a mismatch raises
  /// (called only then, like from_user's and read's).
  template <class What>
  static M from_value(const Value& v, const What& what) {
    if (std::holds_alternative<std::monostate>(v)) {
      if constexpr (nullable) return std::nullopt;
      else throw ValidationError("gocp: field '" + std::string(what()) + "' cannot be NULL");
    }
    return conversions::from_value(v, what);
  }
};

}  // namespace gocp
