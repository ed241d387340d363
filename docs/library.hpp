// The models every example in docs/tutorial.md uses.
#pragma once

#include <gocp/gocp.hpp>

#include <cstdint>
#include <optional>
#include <string>

struct Author {
  std::int64_t id = 0;
  std::string name;
  int books_in_store = 0;
  std::optional<std::string> country;
};

struct Book {
  std::int64_t id = 0;
  std::int64_t author_id = 0;
  std::string title;
  int sales = 0;
  std::optional<int> year;  // unknown for some
};

struct Login {
  std::int64_t id = 0;
  std::string user;
  std::string day;  // "2026-12-01"
  int count = 0;
};

template <>
struct gocp::model<Author> {
  static constexpr std::string_view name = "library.author";  // table library_author, cache alias library.author
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Author::id, "id"),
      gocp::field(&Author::name, "name", gocp::max_length(200), gocp::unique),
      gocp::field(&Author::books_in_store, "books_in_store"),
      gocp::field(&Author::country, "country"));
};

template <>
struct gocp::model<Book> {
  static constexpr std::string_view name = "library.book";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Book::id, "id"),
      gocp::foreign_key(&Book::author_id, "author_id", gocp::references<Author>, gocp::on_delete::cascade),
      gocp::field(&Book::title, "title"),
      gocp::field(&Book::sales, "sales"),
      gocp::field(&Book::year, "year"));
};

template <>
struct gocp::model<Login> {
  static constexpr std::string_view name = "app.login";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Login::id, "id"),
      gocp::field(&Login::user, "user"),
      gocp::field(&Login::day, "day"),
      gocp::field(&Login::count, "count"),
      gocp::unique_together(&Login::user, &Login::day));  // one row per user and day
};
