#pragma once
/// \file
/// `gocp::field_traits<T>`: the customisation point for a member type gocp does not
/// store natively. Like nlohmann's `adl_serializer`, it converts to and from a type gocp
/// does know (its `storage`: bool, an integer, double, std::string,
/// std::vector<std::byte>, a std::chrono timestamp or date, or another mapped type):
///
///     struct Email { std::string address; };
///     template <> struct gocp::field_traits<Email> {
///       using storage = std::string;
///       static std::string to_storage(const Email& e) { return e.address; }
///       static Email from_storage(std::string s) { return Email{std::move(s)}; }
///     };
///
/// The column then has the storage type's column type, comparisons compare storage
/// values (so `<` on a mapped type is its storage's order), and a ValidationError either
/// function throws is reported naming the field. A field of a mapped type is compared
/// with, and assigned, values of that type (or convertible to it).
///
/// Enums are mapped already: as their underlying integer, or by name (TEXT) when
/// `gocp::enum_names<E>` lists them:
///
///     enum class Plan { free, pro };
///     template <> struct gocp::enum_names<Plan> {
///       static constexpr std::pair<Plan, std::string_view> values[] = {{Plan::free, "free"}, {Plan::pro, "pro"}};
///     };
///
/// A value missing from the list, written or read, is a ValidationError naming the field.

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "errors.hpp"

namespace gocp {

/// Specialise for a user type (see the file comment); the primary template maps nothing.
template <class T>
struct field_traits {};

/// Specialise with `static constexpr std::pair<E, std::string_view> values[]` to store
/// enum E by name rather than by its underlying integer.
template <class E>
struct enum_names {};

namespace detail {
template <class E>
inline constexpr bool has_enum_names = requires { enum_names<E>::values; };
}  // namespace detail

/// An enum: its underlying integer, or its name when enum_names<E> is specialised.
template <class E>
  requires std::is_enum_v<E>
struct field_traits<E> {
  /// std::string with enum_names<E>, else the underlying integer type.
  using storage = std::conditional_t<detail::has_enum_names<E>, std::string, std::underlying_type_t<E>>;

  /// The stored form; a value missing from enum_names<E> is a ValidationError.
  static storage to_storage(E e) {
    if constexpr (detail::has_enum_names<E>) {
      for (const auto& [value, name] : enum_names<E>::values)
        if (value == e) return std::string(name);
      throw ValidationError("enum value " + std::to_string(static_cast<long long>(e)) +
                            " has no name in gocp::enum_names");
    } else {
      return static_cast<storage>(e);
    }
  }

  /// The enum back; a stored name enum_names<E> does not list is a ValidationError (an
  /// integer is cast as it is, unchecked, as a C++ enum allows).
  static E from_storage(const storage& s) {
    if constexpr (detail::has_enum_names<E>) {
      for (const auto& [value, name] : enum_names<E>::values)
        if (name == s) return value;
      throw ValidationError("'" + s + "' is not a name listed in gocp::enum_names");
    } else {
      return static_cast<E>(s);
    }
  }
};

}  // namespace gocp
