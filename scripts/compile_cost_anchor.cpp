// The anchor of scripts/compile_cost: examples/quickstart.cpp's program shape written with
// sqlite_orm (a 5-field model, insert, get with a two-term condition, update, a rolled-back
// transaction, count). Not built by CMake: sqlite_orm is not a dependency of gocp.
#include <sqlite_orm/sqlite_orm.h>
#include <cstdio>
#include <optional>
#include <string>
struct Author {
  std::int64_t id = 0;
  std::string first_name, last_name;
  int books_in_store = 0;
  std::optional<std::string> store;
};
int main() {
  using namespace sqlite_orm;
  auto storage = make_storage("quickstart_so.db",
      make_table("library_author",
                 make_column("id", &Author::id, primary_key()),
                 make_column("first_name", &Author::first_name),
                 make_column("last_name", &Author::last_name),
                 make_column("books_in_store", &Author::books_in_store, default_value(0)),
                 make_column("store", &Author::store),
                 unique(&Author::first_name, &Author::last_name)));
  storage.sync_schema();
  storage.remove_all<Author>();
  auto cond = c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy";
  auto found = storage.get_all<Author>(where(cond));
  bool created = false;
  Author leo;
  if (found.empty()) {
    leo = Author{0, "Leo", "Tolstoy", 0, "Amazon"};
    leo.id = storage.insert(leo);
    created = true;
  } else {
    leo = found.front();
  }
  std::printf("created %d\n", created);
  auto again = storage.get_all<Author>(where(cond));
  leo.books_in_store = 3;
  storage.update(leo);
  storage.update_all(set(c(&Author::books_in_store) = 5), where(cond));
  struct ChangedMyMind {};
  try {
    storage.transaction([&] {
      auto anna = storage.get_all<Author>(where(c(&Author::first_name) == "Anna" && c(&Author::last_name) == "Karenina"));
      if (anna.empty()) storage.insert(Author{0, "Anna", "Karenina", 0, std::nullopt});
      throw ChangedMyMind{};
      return false;
    });
  } catch (const ChangedMyMind&) {
  }
  std::printf("%d author(s)\n", storage.count<Author>());
  return created && again.size() == 1 && storage.count<Author>() == 1 ? 0 : 1;
}
