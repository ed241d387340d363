#pragma once
// Two small, valid models shared by the must-not-compile tests, so each test's only
// error is the one line it is about.

#include <gocp/gocp.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace compile_fail {

struct Author {
  std::int64_t id = 0;
  std::string first_name, last_name;
  int books_in_store = 0;
  std::optional<std::string> store;
};

struct Book {
  std::int64_t id = 0;
  std::string title;
};

}  // namespace compile_fail

template <>
struct gocp::model<compile_fail::Author> {
  static constexpr std::string_view name = "compile_fail.author";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&compile_fail::Author::id, "id"),
      gocp::field(&compile_fail::Author::first_name, "first_name", gocp::max_length(255)),
      gocp::field(&compile_fail::Author::last_name, "last_name", gocp::max_length(255)),
      gocp::field(&compile_fail::Author::books_in_store, "books_in_store", gocp::default_value(0)),
      gocp::field(&compile_fail::Author::store, "store"),
      gocp::unique_together(&compile_fail::Author::first_name, &compile_fail::Author::last_name));
};

template <>
struct gocp::model<compile_fail::Book> {
  static constexpr std::string_view name = "compile_fail.book";
  static constexpr auto schema = gocp::table(gocp::primary_key(&compile_fail::Book::id, "id"),
                                             gocp::field(&compile_fail::Book::title, "title", gocp::unique));
};
