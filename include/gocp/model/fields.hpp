#pragma once
/// \file
/// The first half of describing a model (see <gocp/model.hpp>, the header to include):
/// `gocp::model<T>`, the fields and their options, the primary key, unique sets, and
/// compile-time access to a model's fields.


#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../value.hpp"

namespace gocp {

/// Specialise for each model type; see the file comment. The primary template only marks
/// a type that has none, for the concept below.
template <class T>
struct model {
  /// Present only here, never in a specialisation: ModelType checks for it, and its name
  /// is the text a compiler shows when a type has no specialisation.
  using gocp_model_is_not_specialised_for_this_type = void;
};

/// A type with a `gocp::model<T>` specialisation giving its `name` and `schema`. gocp's
/// entry points (Repository, c()) require it, so forgetting the specialisation is one
/// error naming this concept, not a cascade from inside the library.
template <class T>
concept ModelType = !requires { typename model<T>::gocp_model_is_not_specialised_for_this_type; } && requires {
  { model<T>::name } -> std::convertible_to<std::string_view>;
  model<T>::schema;
};

// ---- field options -------------------------------------------------------------------

/// The longest text a field accepts; a longer value is a ValidationError naming the field.
struct max_length {
  std::size_t value;  ///< in characters (UTF-8 code points), not bytes
  /// `n` characters at most; applies only to text fields (a static_assert says so).
  constexpr explicit max_length(std::size_t n) noexcept : value(n) {}
};

/// The type of gocp::unique (a tag: pass the constant, never construct it).
struct unique_t {
  explicit unique_t() = default;
};
/// The field's values are unique across the table.
inline constexpr unique_t unique{};

/// The type of gocp::required (a tag: pass the constant).
struct required_t {
  explicit required_t() = default;
};
/// A field a get_or_create / update_or_create create must be given — by the lookup's
/// `==` terms, the repository's bound values or the defaults — as Django's field without
/// a default (`DateField()`): a create that leaves it out is an IntegrityError naming
/// it, raised before anything is written (C++ cannot tell a member initializer from the
/// value a caller set, so gocp cannot see this by itself). `create(obj)` and `save(obj)`
/// are not affected: the object carries a value. A create-time rule, not a constraint
/// of the table: it leaves the schema hash and the table as they are.
inline constexpr required_t required{};

/// The type of gocp::manual (a tag: pass the constant).
struct manual_t {
  explicit manual_t() = default;
};
/// An integer primary key the caller assigns (not auto-incremented).
inline constexpr manual_t manual{};

/// The value a create uses when neither the lookup nor the defaults give the field one
/// (bool, integer, floating-point, text and enum fields).
template <class V>
struct default_value {
  V value;  ///< of a type the field accepts (checked by a static_assert in gocp::field)
  /// `gocp::default_value(0)`, `gocp::default_value("draft")`, `gocp::default_value(Color::red)`.
  constexpr explicit default_value(V v) noexcept : value(v) {}
};

/// The type of gocp::auto_now (a tag: pass the constant).
struct auto_now_t {
  explicit auto_now_t() = default;
};
/// A timestamp field set to the current time on every create and every save() (and
/// update_or_create's update), as Django's `auto_now`; not by a bulk update(), as in Django.
inline constexpr auto_now_t auto_now{};

/// The type of gocp::auto_now_add (a tag: pass the constant).
struct auto_now_add_t {
  explicit auto_now_add_t() = default;
};
/// A timestamp field set to the current time when the row is created, as Django's
/// `auto_now_add`. Both read the process's clock (std::chrono::system_clock), rounded
/// down to the microsecond: the object written is the object returned, on every backend.
inline constexpr auto_now_add_t auto_now_add{};

namespace detail {
/// A compile-time constant a schema may carry (a field default).
using Constant = std::variant<std::monostate, std::int64_t, double, std::string_view>;

inline Value to_value(const Constant& c) {
  return std::visit(
      [](const auto& v) -> Value {
        using C = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<C, std::string_view>) return Value{std::string(v)};
        else return Value{v};
      },
      c);
}
}  // namespace detail

// ---- fields and constraints ----------------------------------------------------------

/// What a schema item is; table() accepts only the kinds listed here.
enum class SchemaItemKind { field, unique_together, foreign_key, many_to_many };

/// A column of model T backed by a member of type M, as gocp::field and gocp::primary_key
/// build it; a compile-time value read by table() and the model's ModelInfo.
template <class T, class M>
struct Field {
  static constexpr SchemaItemKind kind = SchemaItemKind::field;  ///< for table()'s sorting
  using model_type = T;   ///< the struct the member belongs to
  using member_type = M;  ///< the C++ type, mapped to SQL by gocp::column_traits
  M T::*member;           ///< the member the column reads and writes
  std::string_view name;  ///< the SQL column name

  ///@{
  /// What the options (and primary_key) set; see the option of the same name.
  bool primary_key = false;
  bool auto_increment = false;
  bool unique = false;
  std::size_t max_length = 0;  ///< in characters; 0: unlimited
  detail::Constant default_value{};
  bool auto_now = false;
  bool auto_now_add = false;
  bool required = false;
  ///@}
};

/// A UNIQUE constraint over several fields of T, as gocp::unique_together builds it.
template <class T, class... Ms>
struct UniqueTogether {
  static constexpr SchemaItemKind kind = SchemaItemKind::unique_together;  ///< for table()'s sorting
  using model_type = T;            ///< the model whose fields these are
  std::tuple<Ms T::*...> members;  ///< the fields, each also listed in the schema (checked)
};

namespace detail {

template <class T, class M>
constexpr void apply_option(Field<T, M>& f, max_length o) {
  static_assert(column_traits<M>::type == ColumnType::text, "gocp: max_length applies only to text fields");
  f.max_length = o.value;
}
template <class T, class M>
constexpr void apply_option(Field<T, M>& f, unique_t) {
  f.unique = true;
}
template <class T, class M>
constexpr void apply_option(Field<T, M>& f, required_t) {
  f.required = true;
}
template <class T, class M>
constexpr void apply_option(Field<T, M>& f, manual_t) {
  f.auto_increment = false;
}
template <class T, class M>
constexpr void apply_option(Field<T, M>& f, auto_now_t) {
  static_assert(column_traits<M>::type == ColumnType::timestamp, "gocp: auto_now applies only to timestamp fields");
  f.auto_now = true;
}
template <class T, class M>
constexpr void apply_option(Field<T, M>& f, auto_now_add_t) {
  static_assert(column_traits<M>::type == ColumnType::timestamp, "gocp: auto_now_add applies only to timestamp fields");
  f.auto_now_add = true;
}

/// An enum's stored form as a constant: its name (gocp::enum_names) or its integer.
template <class E>
constexpr Constant enum_constant(E e) {
  if constexpr (has_enum_names<E>) {
    for (const auto& [value, name] : enum_names<E>::values)
      if (value == e) return Constant(name);
    throw "gocp: default_value names an enum value missing from gocp::enum_names";  // a compile error
  } else {
    return Constant(static_cast<std::int64_t>(e));
  }
}

template <class T, class M, class V>
constexpr void apply_option(Field<T, M>& f, default_value<V> o) {
  static_assert(column_traits<M>::template accepts<V>,
                "gocp: default_value's type does not match the field's type");
  constexpr ColumnType type = column_traits<M>::type;
  static_assert(std::is_enum_v<V> || type == ColumnType::integer || type == ColumnType::real || type == ColumnType::text,
                "gocp: default_value applies to bool, integer, floating-point, text and enum fields; for a "
                "timestamp use gocp::auto_now_add, for others a default in the struct's member initializer");
  // Constant(...) spelled out: Clang 14 does not evaluate the converting assignment at compile time
  if constexpr (std::is_enum_v<V>) f.default_value = enum_constant(o.value);
  else if constexpr (std::is_convertible_v<V, std::string_view>) f.default_value = Constant(std::string_view(o.value));
  else if constexpr (std::is_floating_point_v<V>) f.default_value = Constant(static_cast<double>(o.value));
  else f.default_value = Constant(static_cast<std::int64_t>(o.value));
}

/// The option gives the field its value on every create (so gocp::required cannot apply).
template <class O>
inline constexpr bool gives_a_value = std::is_same_v<O, auto_now_t> || std::is_same_v<O, auto_now_add_t>;
template <class V>
inline constexpr bool gives_a_value<default_value<V>> = true;

}  // namespace detail

/// A column backed by `member`, named `name` in SQL; options: max_length(n), unique,
/// default_value(v), auto_now, auto_now_add, required.
template <class T, class M, class... Options>
constexpr Field<T, M> field(M T::*member, std::string_view name, Options... options) {
  static_assert(!((std::is_same_v<Options, required_t> || ...) && (detail::gives_a_value<Options> || ...)),
                "gocp::required: a field with default_value, auto_now or auto_now_add always has a value");
  static_assert(column_traits<M>::supported,
                "gocp::field: unsupported member type; use bool, an integer of at most 64 bits, float/double, "
                "std::string, std::vector<std::byte>, std::chrono::system_clock::time_point (any sys_time), "
                "std::chrono::sys_days or year_month_day, an enum, or std::optional of one of them -- or map your "
                "type onto one of these with a gocp::field_traits<T> specialisation (gocp/field_traits.hpp)");
  Field<T, M> f{member, name};
  (detail::apply_option(f, options), ...);
  return f;
}

/// The primary key. An integer key auto-increments (0 means "not saved yet") unless
/// `gocp::manual` is passed; any other type is assigned by the caller.
template <class T, class M, class... Options>
constexpr Field<T, M> primary_key(M T::*member, std::string_view name, Options... options) {
  static_assert(!column_traits<M>::nullable, "gocp::primary_key: a primary key cannot be std::optional");
  Field<T, M> f = field(member, name);
  f.primary_key = true;
  f.auto_increment = column_traits<M>::type == ColumnType::integer && !std::is_same_v<M, bool>;
  (detail::apply_option(f, options), ...);
  return f;
}

/// The combination of these fields is unique across the table.
template <class T, class... Ms>
constexpr UniqueTogether<T, Ms...> unique_together(Ms T::*... members) {
  static_assert(sizeof...(Ms) >= 2, "gocp::unique_together needs at least two fields (use gocp::unique for one)");
  return {{members...}};
}

// ---- compile-time access to a model's fields ------------------------------------------

namespace detail {

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

template <class T>
constexpr const auto& fields_of() {
  return model<T>::schema.fields;
}

template <class T>
inline constexpr std::size_t field_count = std::tuple_size_v<std::remove_cvref_t<decltype(model<T>::schema.fields)>>;

/// Calls fn(field, index) for each field of T, in declaration order.
template <class T, class Fn>
constexpr void for_each_field(Fn&& fn) {
  std::apply(
      [&](const auto&... f) {
        std::size_t i = 0;
        (fn(f, i++), ...);
      },
      fields_of<T>());
}


/// The index of the primary key in the schema.
template <class T>
inline constexpr std::size_t pk_index = [] {
  std::size_t pk = 0;
  for_each_field<T>([&](const auto& f, std::size_t i) {
    if (f.primary_key) pk = i;
  });
  return pk;
}();

/// The primary key member's type.
template <class T>
using pk_type =
    typename std::tuple_element_t<pk_index<T>, std::remove_cvref_t<decltype(model<T>::schema.fields)>>::member_type;

}  // namespace detail

}  // namespace gocp
