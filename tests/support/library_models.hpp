#pragma once
// Models shared by the policy and coherence tests: a mutable author, an immutable
// country, and a parent with children.

#include <gocp/gocp.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace gocp::test {

struct Author {
  std::int64_t id = 0;
  std::string first_name;
  std::string last_name;
  int books_in_store = 0;
  std::optional<std::string> store;
};

struct Country {
  std::int64_t id = 0;
  std::string code;
  std::string name;
};

struct Parent {
  std::int64_t id = 0;
  std::string name;
};

struct Child {
  std::int64_t id = 0;
  std::int64_t parent_id = 0;
  std::string name;
};

}  // namespace gocp::test

template <>
struct gocp::model<gocp::test::Author> {
  using Author = gocp::test::Author;
  static constexpr std::string_view name = "library.author";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Author::id, "id"),
                  gocp::field(&Author::first_name, "first_name", gocp::max_length(255)),
                  gocp::field(&Author::last_name, "last_name", gocp::max_length(255)),
                  gocp::field(&Author::books_in_store, "books_in_store", gocp::default_value(0)),
                  gocp::field(&Author::store, "store"),
                  gocp::unique_together(&Author::first_name, &Author::last_name));
};

template <>
struct gocp::model<gocp::test::Country> {
  using Country = gocp::test::Country;
  static constexpr std::string_view name = "geo.country";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Country::id, "id"),
                  gocp::field(&Country::code, "code", gocp::max_length(2), gocp::unique),
                  gocp::field(&Country::name, "name", gocp::default_value("")));
};

template <>
struct gocp::model<gocp::test::Parent> {
  using Parent = gocp::test::Parent;
  static constexpr std::string_view name = "family.parent";
  static constexpr auto schema = gocp::table(gocp::primary_key(&Parent::id, "id"),
                                             gocp::field(&Parent::name, "name", gocp::unique));
};

template <>
struct gocp::model<gocp::test::Child> {
  using Child = gocp::test::Child;
  static constexpr std::string_view name = "family.child";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Child::id, "id"), gocp::field(&Child::parent_id, "parent_id"),
                  gocp::field(&Child::name, "name"), gocp::unique_together(&Child::parent_id, &Child::name));
};

namespace gocp::test {

/// The author most tests look up: Leo Tolstoy, by the unique (first_name, last_name).
inline gocp::Expr<Author> leo() {
  return gocp::c(&Author::first_name) == "Leo" && gocp::c(&Author::last_name) == "Tolstoy";
}

}  // namespace gocp::test
