// The compile-time contract, checked by the compiler (STATIC_REQUIRE): what a field may
// hold and be compared with, where a member sits in the schema, the primary key's type,
// and that the schema hash moves with every change of layout. Also compiles the valid
// twins of the must-not-compile tests in compile_fail/, so those fail for their one
// reason only.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <tuple>
#include <vector>

#include "compile_fail/models.hpp"

namespace static_test {

// ---- schema_hash: one base layout and its variants ---------------------------------
// Every variant but Renamed keeps the model name "static.thing", as a new version of
// the same model would: only the change under test can move the hash.

struct Thing {
  std::int64_t id = 0;
  std::string name;
  int count = 0;
};
struct ThingRealCount {  // count: int -> double (column type)
  std::int64_t id = 0;
  std::string name;
  double count = 0;
};
struct ThingWideCount {  // count: int -> std::int64_t (same column type, wider)
  std::int64_t id = 0;
  std::string name;
  std::int64_t count = 0;
};
struct ThingNullableName {  // name: std::string -> std::optional<std::string>
  std::int64_t id = 0;
  std::optional<std::string> name;
  int count = 0;
};
/// Thing's exact layout, as distinct types for the variants that change only the schema.
template <int Variant>
struct Same {
  std::int64_t id = 0;
  std::string name;
  int count = 0;
};
using Twin = Same<0>;               // identical: same name, same schema
using LongerName = Same<1>;         // max_length 100 -> 200
using NoMaxLength = Same<2>;        // max_length dropped
using UniqueName = Same<3>;         // + gocp::unique on name
using UniqueTogether = Same<4>;     // + unique_together(name, count)
using Renamed = Same<5>;            // identical schema, another model name
using RenamedColumn = Same<6>;      // column "name" -> "title"

// ---- column_index / pk_type ------------------------------------------------------------

struct WithUnlisted {  // a member the schema does not list
  std::int64_t id = 0;
  std::string listed;
  std::string unlisted;
};
struct TextKey {  // a text primary key, declared after another field
  std::string label;
  std::string slug;
};
struct SmallKey {  // a 32-bit integer key the caller assigns
  int code = 0;
  double weight = 0;
};

}  // namespace static_test

namespace st = static_test;

template <>
struct gocp::model<st::Thing> {
  static constexpr std::string_view name = "static.thing";
  static constexpr auto schema = gocp::table(gocp::primary_key(&st::Thing::id, "id"),
                                             gocp::field(&st::Thing::name, "name", gocp::max_length(100)),
                                             gocp::field(&st::Thing::count, "count"));
};
template <>
struct gocp::model<st::ThingRealCount> {
  static constexpr std::string_view name = "static.thing";
  static constexpr auto schema = gocp::table(gocp::primary_key(&st::ThingRealCount::id, "id"),
                                             gocp::field(&st::ThingRealCount::name, "name", gocp::max_length(100)),
                                             gocp::field(&st::ThingRealCount::count, "count"));
};
template <>
struct gocp::model<st::ThingWideCount> {
  static constexpr std::string_view name = "static.thing";
  static constexpr auto schema = gocp::table(gocp::primary_key(&st::ThingWideCount::id, "id"),
                                             gocp::field(&st::ThingWideCount::name, "name", gocp::max_length(100)),
                                             gocp::field(&st::ThingWideCount::count, "count"));
};
template <>
struct gocp::model<st::ThingNullableName> {
  static constexpr std::string_view name = "static.thing";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&st::ThingNullableName::id, "id"),
                  gocp::field(&st::ThingNullableName::name, "name", gocp::max_length(100)),
                  gocp::field(&st::ThingNullableName::count, "count"));
};
template <>
struct gocp::model<st::Twin> {
  static constexpr std::string_view name = "static.thing";
  static constexpr auto schema = gocp::table(gocp::primary_key(&st::Twin::id, "id"),
                                             gocp::field(&st::Twin::name, "name", gocp::max_length(100)),
                                             gocp::field(&st::Twin::count, "count"));
};
template <>
struct gocp::model<st::LongerName> {
  static constexpr std::string_view name = "static.thing";
  static constexpr auto schema = gocp::table(gocp::primary_key(&st::LongerName::id, "id"),
                                             gocp::field(&st::LongerName::name, "name", gocp::max_length(200)),
                                             gocp::field(&st::LongerName::count, "count"));
};
template <>
struct gocp::model<st::NoMaxLength> {
  static constexpr std::string_view name = "static.thing";
  static constexpr auto schema = gocp::table(gocp::primary_key(&st::NoMaxLength::id, "id"),
                                             gocp::field(&st::NoMaxLength::name, "name"),
                                             gocp::field(&st::NoMaxLength::count, "count"));
};
template <>
struct gocp::model<st::UniqueName> {
  static constexpr std::string_view name = "static.thing";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&st::UniqueName::id, "id"),
                  gocp::field(&st::UniqueName::name, "name", gocp::max_length(100), gocp::unique),
                  gocp::field(&st::UniqueName::count, "count"));
};
template <>
struct gocp::model<st::UniqueTogether> {
  static constexpr std::string_view name = "static.thing";
  static constexpr auto schema = gocp::table(gocp::primary_key(&st::UniqueTogether::id, "id"),
                                             gocp::field(&st::UniqueTogether::name, "name", gocp::max_length(100)),
                                             gocp::field(&st::UniqueTogether::count, "count"),
                                             gocp::unique_together(&st::UniqueTogether::name, &st::UniqueTogether::count));
};
template <>
struct gocp::model<st::Renamed> {
  static constexpr std::string_view name = "static.other_thing";
  static constexpr auto schema = gocp::table(gocp::primary_key(&st::Renamed::id, "id"),
                                             gocp::field(&st::Renamed::name, "name", gocp::max_length(100)),
                                             gocp::field(&st::Renamed::count, "count"));
};
template <>
struct gocp::model<st::RenamedColumn> {
  static constexpr std::string_view name = "static.thing";
  static constexpr auto schema = gocp::table(gocp::primary_key(&st::RenamedColumn::id, "id"),
                                             gocp::field(&st::RenamedColumn::name, "title", gocp::max_length(100)),
                                             gocp::field(&st::RenamedColumn::count, "count"));
};
template <>
struct gocp::model<st::WithUnlisted> {
  static constexpr std::string_view name = "static.with_unlisted";
  static constexpr auto schema = gocp::table(gocp::primary_key(&st::WithUnlisted::id, "id"),
                                             gocp::field(&st::WithUnlisted::listed, "listed"));
};
template <>
struct gocp::model<st::TextKey> {
  static constexpr std::string_view name = "static.text_key";
  static constexpr auto schema = gocp::table(gocp::field(&st::TextKey::label, "label"),
                                             gocp::primary_key(&st::TextKey::slug, "slug", gocp::max_length(50)));
};
template <>
struct gocp::model<st::SmallKey> {
  static constexpr std::string_view name = "static.small_key";
  static constexpr auto schema = gocp::table(gocp::primary_key(&st::SmallKey::code, "code", gocp::manual),
                                             gocp::field(&st::SmallKey::weight, "weight"));
};

namespace {

using gocp::schema_hash;
using gocp::detail::column_index;
using gocp::detail::npos;

template <class M>
using traits = gocp::column_traits<M>;

TEST_CASE("schema_hash is a compile-time constant, equal for identical schemas", "[compile][schema_hash]") {
  STATIC_REQUIRE(schema_hash<st::Thing> != 0);
  STATIC_REQUIRE(schema_hash<st::Thing> == schema_hash<st::Thing>);
  // Another C++ type with the same model name and schema: the same layout in the database.
  STATIC_REQUIRE(schema_hash<st::Twin> == schema_hash<st::Thing>);
}

TEST_CASE("schema_hash changes with a field's type", "[compile][schema_hash]") {
  STATIC_REQUIRE(schema_hash<st::ThingRealCount> != schema_hash<st::Thing>);  // integer -> real
  STATIC_REQUIRE(schema_hash<st::ThingWideCount> != schema_hash<st::Thing>);  // int -> int64
  STATIC_REQUIRE(schema_hash<st::ThingRealCount> != schema_hash<st::ThingWideCount>);
}

TEST_CASE("schema_hash changes with a field's nullability", "[compile][schema_hash]") {
  STATIC_REQUIRE(schema_hash<st::ThingNullableName> != schema_hash<st::Thing>);
}

TEST_CASE("schema_hash changes with max_length", "[compile][schema_hash]") {
  STATIC_REQUIRE(schema_hash<st::LongerName> != schema_hash<st::Thing>);
  STATIC_REQUIRE(schema_hash<st::NoMaxLength> != schema_hash<st::Thing>);
  STATIC_REQUIRE(schema_hash<st::NoMaxLength> != schema_hash<st::LongerName>);
}

TEST_CASE("schema_hash changes with an added unique constraint", "[compile][schema_hash]") {
  STATIC_REQUIRE(schema_hash<st::UniqueName> != schema_hash<st::Thing>);
  STATIC_REQUIRE(schema_hash<st::UniqueTogether> != schema_hash<st::Thing>);
  STATIC_REQUIRE(schema_hash<st::UniqueTogether> != schema_hash<st::UniqueName>);
}

TEST_CASE("schema_hash differs for identical layouts under different names", "[compile][schema_hash]") {
  STATIC_REQUIRE(schema_hash<st::Renamed> != schema_hash<st::Thing>);        // model name
  STATIC_REQUIRE(schema_hash<st::RenamedColumn> != schema_hash<st::Thing>);  // column name
}

TEST_CASE("column_traits: column type and nullability of each supported member type", "[compile][column_traits]") {
  using gocp::ColumnType;
  STATIC_REQUIRE(traits<int>::supported);
  STATIC_REQUIRE(!traits<int>::nullable);
  STATIC_REQUIRE(traits<int>::type == ColumnType::integer);
  STATIC_REQUIRE(traits<std::int64_t>::type == ColumnType::integer);
  STATIC_REQUIRE(traits<std::int8_t>::supported);
  STATIC_REQUIRE(traits<std::uint32_t>::supported);
  STATIC_REQUIRE(traits<bool>::type == ColumnType::integer);
  STATIC_REQUIRE(traits<double>::type == ColumnType::real);
  STATIC_REQUIRE(traits<float>::type == ColumnType::real);
  STATIC_REQUIRE(traits<std::string>::type == ColumnType::text);
  STATIC_REQUIRE(!traits<std::string>::nullable);

  STATIC_REQUIRE(traits<std::optional<std::string>>::supported);
  STATIC_REQUIRE(traits<std::optional<std::string>>::nullable);
  STATIC_REQUIRE(traits<std::optional<std::string>>::type == ColumnType::text);
  STATIC_REQUIRE(traits<std::optional<int>>::nullable);
  STATIC_REQUIRE(traits<std::optional<int>>::type == ColumnType::integer);
  STATIC_REQUIRE(std::is_same_v<traits<std::optional<int>>::base, int>);
  STATIC_REQUIRE(std::is_same_v<traits<std::string>::base, std::string>);
}

TEST_CASE("column_traits: unsupported member types", "[compile][column_traits]") {
  STATIC_REQUIRE(!traits<std::uint64_t>::supported);  // does not fit SQLite's signed 64-bit integer
  STATIC_REQUIRE(!traits<std::optional<std::uint64_t>>::supported);
  STATIC_REQUIRE(!traits<std::vector<int>>::supported);
  STATIC_REQUIRE(!traits<const char*>::supported);
  STATIC_REQUIRE(!traits<std::string_view>::supported);  // a view cannot own what it reads
}

TEST_CASE("column_traits: which values a field accepts", "[compile][column_traits]") {
  // integers take integers of any width, never bool, text or floating point
  STATIC_REQUIRE(traits<int>::accepts<int>);
  STATIC_REQUIRE(traits<int>::accepts<long long>);
  STATIC_REQUIRE(traits<int>::accepts<const unsigned&>);
  STATIC_REQUIRE(!traits<int>::accepts<bool>);
  STATIC_REQUIRE(!traits<int>::accepts<double>);
  STATIC_REQUIRE(!traits<int>::accepts<const char*>);
  STATIC_REQUIRE(!traits<int>::accepts<const char (&)[2]>);
  STATIC_REQUIRE(!traits<int>::accepts<std::nullopt_t>);
  // bool takes only bool
  STATIC_REQUIRE(traits<bool>::accepts<bool>);
  STATIC_REQUIRE(!traits<bool>::accepts<int>);
  // floating point takes any number but bool
  STATIC_REQUIRE(traits<double>::accepts<double>);
  STATIC_REQUIRE(traits<double>::accepts<int>);
  STATIC_REQUIRE(!traits<double>::accepts<bool>);
  STATIC_REQUIRE(!traits<double>::accepts<std::string>);
  // text takes anything that views as text, never a number
  STATIC_REQUIRE(traits<std::string>::accepts<const char (&)[4]>);
  STATIC_REQUIRE(traits<std::string>::accepts<const char*>);
  STATIC_REQUIRE(traits<std::string>::accepts<std::string_view>);
  STATIC_REQUIRE(traits<std::string>::accepts<std::string&&>);
  STATIC_REQUIRE(!traits<std::string>::accepts<int>);
  STATIC_REQUIRE(!traits<std::string>::accepts<char>);
  STATIC_REQUIRE(!traits<std::string>::accepts<std::nullopt_t>);
  // a nullable field also takes nullopt and its own optional type
  STATIC_REQUIRE(traits<std::optional<std::string>>::accepts<std::nullopt_t>);
  STATIC_REQUIRE(traits<std::optional<std::string>>::accepts<const std::optional<std::string>&>);
  STATIC_REQUIRE(traits<std::optional<std::string>>::accepts<const char*>);
  STATIC_REQUIRE(!traits<std::optional<std::string>>::accepts<int>);
  STATIC_REQUIRE(traits<std::optional<int>>::accepts<std::nullopt_t>);
  STATIC_REQUIRE(traits<std::optional<int>>::accepts<short>);
  STATIC_REQUIRE(!traits<std::optional<int>>::accepts<std::optional<std::string>>);
}

TEST_CASE("detail::column_index finds a member's position at compile time", "[compile][column_index]") {
  using compile_fail::Author;
  STATIC_REQUIRE(column_index<Author>(&Author::id) == 0);
  STATIC_REQUIRE(column_index<Author>(&Author::first_name) == 1);
  STATIC_REQUIRE(column_index<Author>(&Author::last_name) == 2);  // same type as first_name: told apart
  STATIC_REQUIRE(column_index<Author>(&Author::books_in_store) == 3);
  STATIC_REQUIRE(column_index<Author>(&Author::store) == 4);
  STATIC_REQUIRE(gocp::detail::field_count<Author> == 5);

  STATIC_REQUIRE(column_index<st::WithUnlisted>(&st::WithUnlisted::listed) == 1);
  STATIC_REQUIRE(column_index<st::WithUnlisted>(&st::WithUnlisted::unlisted) == npos);

  STATIC_REQUIRE(column_index<st::TextKey>(&st::TextKey::slug) == 1);
}

TEST_CASE("detail::pk_type deduces the primary key's member type", "[compile][pk_type]") {
  using compile_fail::Author;
  STATIC_REQUIRE(std::is_same_v<gocp::detail::pk_type<Author>, std::int64_t>);
  STATIC_REQUIRE(gocp::detail::pk_index<Author> == 0);
  STATIC_REQUIRE(std::is_same_v<gocp::Repository<Author>::pk_type, std::int64_t>);

  // a key that is not the first field
  STATIC_REQUIRE(std::is_same_v<gocp::detail::pk_type<st::TextKey>, std::string>);
  STATIC_REQUIRE(gocp::detail::pk_index<st::TextKey> == 1);
  STATIC_REQUIRE(std::is_same_v<gocp::Repository<st::TextKey>::pk_type, std::string>);

  STATIC_REQUIRE(std::is_same_v<gocp::detail::pk_type<st::SmallKey>, int>);
}

TEST_CASE("primary keys: an integer key auto-increments unless manual, a text key never", "[compile][pk_type]") {
  using compile_fail::Author;
  STATIC_REQUIRE(std::get<0>(gocp::model<Author>::schema.fields).primary_key);
  STATIC_REQUIRE(std::get<0>(gocp::model<Author>::schema.fields).auto_increment);
  STATIC_REQUIRE(!std::get<1>(gocp::model<Author>::schema.fields).primary_key);
  STATIC_REQUIRE(!std::get<1>(gocp::model<st::TextKey>::schema.fields).auto_increment);
  STATIC_REQUIRE(!std::get<0>(gocp::model<st::SmallKey>::schema.fields).auto_increment);
  STATIC_REQUIRE(std::get<1>(gocp::model<st::TextKey>::schema.fields).max_length == 50);
}

/// The trivial policy of compile_fail/policy_twice.cpp, listed once.
struct P : gocp::Policy {};

/// compile_fail/two_create_steps.cpp's create step, alone: one create step is fine.
struct LoggedCreate : gocp::Policy {
  template <class Repo, class M>
  M create(const Repo& repo, const gocp::PendingCreate<M>& pending) const {
    return gocp::PolicyAccess::create_in_savepoint(repo, pending);
  }
};

TEST_CASE("the valid twins of the must-not-compile cases compile and run", "[compile]") {
  using compile_fail::Author;
  using compile_fail::Book;
  using gocp::c;

  auto db = gocp::Database::open("sqlite::memory:");
  gocp::Repository<Author, P> authors{db};  // compile_fail/policy_twice.cpp lists P twice
  authors.create_table();

  const auto by_count = c(&Author::books_in_store) == 3;         // compare_int_with_string.cpp
  const auto by_name = c(&Author::last_name) == "Tolstoy";       // compare_string_with_number.cpp
  const auto defaults = gocp::defaults(c(&Author::books_in_store) = 3);  // default_wrong_type.cpp
  const auto both = c(&Author::first_name) == "Leo" && by_name;  // and_two_models.cpp
  STATIC_REQUIRE(std::is_same_v<std::remove_cvref_t<decltype(both)>, gocp::Expr<Author>>);

  auto [leo, created] = authors.filter(by_name).get_or_create(both, defaults);  // *_other_model.cpp
  CHECK(created);
  CHECK(leo.books_in_store == 3);
  CHECK(authors.filter(by_count).count() == 1);
  // order_by_other_model.cpp / values_other_model.cpp, on the repository's own model
  CHECK(authors.order_by(c(&Author::first_name).desc()).first()->id == leo.id);
  CHECK(authors.values(&Author::id, &Author::first_name) ==
        std::vector<std::tuple<std::int64_t, std::string>>{{leo.id, "Leo"}});

  // max_length_on_int.cpp / no_primary_key.cpp: Book has a key and max_length on text only
  gocp::Repository<Book> books{db};
  books.create_table();
  CHECK(books.get_or_create(c(&Book::title) == "War and Peace").second);
  // bulk_create_other_model.cpp, with the repository's own fields
  const std::vector<Book> more{{0, "War and Peace"}, {0, "Emma"}};
  const auto upserted = books.bulk_create(more, {.update_conflicts = gocp::update_conflicts(
                                                     gocp::unique_fields(&Book::title), gocp::update_fields(&Book::title))});
  CHECK(upserted.size() == 2);
  CHECK(books.count() == 2);

  gocp::Repository<Book, LoggedCreate> logged{db};  // two_create_steps.cpp with one create step
  CHECK(logged.get_or_create(c(&Book::title) == "Anna Karenina").second);
}

}  // namespace
