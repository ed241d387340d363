// The README's quick start: a model, a repository, get_or_create and update_or_create
// on an SQLite file. Prints what it did.

#include <gocp/gocp.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

struct Author {
  std::int64_t id = 0;
  std::string first_name, last_name;
  int books_in_store = 0;
  std::optional<std::string> store;
};

template <>
struct gocp::model<Author> {
  static constexpr std::string_view name = "library.author";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Author::id, "id"),
      gocp::field(&Author::first_name, "first_name", gocp::max_length(255)),
      gocp::field(&Author::last_name, "last_name", gocp::max_length(255)),
      gocp::field(&Author::books_in_store, "books_in_store", gocp::default_value(0)),
      gocp::field(&Author::store, "store"),
      gocp::unique_together(&Author::first_name, &Author::last_name));
};

int main() {
  using gocp::c;
  auto db = gocp::Database::open("sqlite:///quickstart.db");
  gocp::Repository<Author> authors{db};
  authors.create_table();
  authors.remove_all();  // start afresh on every run

  auto tolstoy = c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy";
  auto [leo, created] = authors.get_or_create(tolstoy, gocp::defaults(c(&Author::store) = "Amazon"));
  std::printf("get_or_create: id %lld, created %s, store %s\n", static_cast<long long>(leo.id),
              created ? "true" : "false", leo.store.value_or("-").c_str());

  leo.books_in_store = 3;
  authors.save(leo);

  auto [again, created_again] =
      authors.filter(c(&Author::last_name) == "Smith" || c(&Author::last_name) == "Tolstoy").get_or_create(tolstoy);
  std::printf("get_or_create again: id %lld, created %s, books %d\n", static_cast<long long>(again.id),
              created_again ? "true" : "false", again.books_in_store);

  auto [updated, made] = authors.update_or_create(tolstoy, gocp::defaults(c(&Author::books_in_store) = 5));
  std::printf("update_or_create: created %s, books %d\n", made ? "true" : "false", updated.books_in_store);

  try {
    db.atomic([&] {
      authors.get_or_create(c(&Author::first_name) == "Anna" && c(&Author::last_name) == "Karenina");
      throw std::runtime_error("changed my mind");
    });
  } catch (const std::runtime_error&) {
  }
  std::printf("after a rolled-back transaction: %zu author(s)\n", authors.count());
  return created && !created_again && again.id == leo.id && updated.books_in_store == 5 && authors.count() == 1 ? 0 : 1;
}
