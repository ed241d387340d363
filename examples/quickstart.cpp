#include <gocp/gocp.hpp>

#include <cstdio>

struct Author {
  std::int64_t id = 0;
  std::string first_name, last_name;
  int books_in_store = 0;
  std::optional<std::string> store;
};

template <>
struct gocp::model<Author> {  // once, beside the struct
  static constexpr std::string_view name = "library.author";  // the table and the cache alias
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
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"library.author", "locmem:///?max_entries=10000"}};
  gocp::Repository<Author, gocp::CachedGetOrCreate> authors{db, caches};
  authors.create_table();
  authors.remove_all();  // start afresh on every run

  auto tolstoy = c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy";
  auto [leo, created] = authors.get_or_create(tolstoy, gocp::defaults(c(&Author::store) = "Amazon"));
  std::printf("get_or_create: created %d, store %s\n", created, leo.store->c_str());

  auto [same, again] = authors.get_or_create(tolstoy);  // answered by the cache
  std::printf("again: created %d, cache hits %llu\n", again, (unsigned long long)authors.stats().hits);

  leo.books_in_store = 3;
  authors.save(leo);  // writes, then invalidates the cached entries
  auto [updated, made] = authors.update_or_create(tolstoy, gocp::defaults(c(&Author::books_in_store) = 5));
  std::printf("update_or_create: created %d, books %d\n", made, updated.books_in_store);

  struct ChangedMyMind {};  // our own type: catching std::runtime_error would also hide gocp's errors
  try {
    db.atomic([&] {
      authors.get_or_create(c(&Author::first_name) == "Anna" && c(&Author::last_name) == "Karenina");
      throw ChangedMyMind{};  // rolls back; nothing reaches the cache
    });
  } catch (const ChangedMyMind&) {
  }
  std::printf("after a rolled-back transaction: %zu author(s)\n", authors.count());
  return created && !again && same.id == leo.id && updated.books_in_store == 5 && authors.count() == 1 ? 0 : 1;
}
