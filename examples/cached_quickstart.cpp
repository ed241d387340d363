// The GetOrCreatePlus quick start, in C++: a cached immutable model, a cached mutable
// model, a parent with children created non-atomically in one transaction, and the
// policy combinations. Prints what happens, with the stats that show it.

#include <gocp/gocp.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

struct Country {  // immutable once created: ideal for caching
  std::int64_t id = 0;
  std::string code, name;
};
struct Author {  // mutable: every save invalidates its cache entries
  std::int64_t id = 0;
  std::string first_name, last_name;
  int books_in_store = 0;
};
struct Shelf {
  std::int64_t id = 0;
  std::string name;
};
struct Book {
  std::int64_t id = 0;
  std::int64_t shelf_id = 0;
  std::string title;
};

template <>
struct gocp::model<Country> {
  static constexpr std::string_view name = "geo.country";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Country::id, "id"), gocp::field(&Country::code, "code", gocp::unique),
                  gocp::field(&Country::name, "name", gocp::default_value("")));
};
template <>
struct gocp::model<Author> {
  static constexpr std::string_view name = "library.author";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Author::id, "id"), gocp::field(&Author::first_name, "first_name"),
      gocp::field(&Author::last_name, "last_name"),
      gocp::field(&Author::books_in_store, "books_in_store", gocp::default_value(0)),
      gocp::unique_together(&Author::first_name, &Author::last_name));
};
template <>
struct gocp::model<Shelf> {
  static constexpr std::string_view name = "library.shelf";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Shelf::id, "id"), gocp::field(&Shelf::name, "name", gocp::unique));
};
template <>
struct gocp::model<Book> {
  static constexpr std::string_view name = "library.book";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Book::id, "id"), gocp::field(&Book::shelf_id, "shelf_id"),
                  gocp::field(&Book::title, "title"), gocp::unique_together(&Book::shelf_id, &Book::title));
};

namespace {
void show(const char* what, const gocp::Stats& s) {
  std::printf("  %-34s hits %llu, misses %llu, db queries %llu\n", what, static_cast<unsigned long long>(s.hits),
              static_cast<unsigned long long>(s.misses), static_cast<unsigned long long>(s.db_queries));
}
}  // namespace

int main() {
  using gocp::c;
  auto db = gocp::Database::open("sqlite::memory:");
  gocp::CacheRegistry caches{{"default", "locmem:///"},
                             {"geo.country", "locmem:///"},
                             {"library.author", "locmem:///?ttl_s=300"},
                             {"library.shelf", "locmem:///"},
                             {"library.book", "locmem:///"}};
  bool ok = true;

  std::puts("1. a cached immutable model");
  gocp::Repository<Country, gocp::CachedGetOrCreate> countries{db, caches};
  countries.create_table();
  countries.get_or_create(c(&Country::code) == "FR", gocp::defaults(c(&Country::name) = "France"));
  show("first get_or_create:", countries.stats());
  auto [france, created] = countries.get_or_create(c(&Country::code) == "FR");
  show("second get_or_create (a hit):", countries.stats());
  ok = ok && !created && france.name == "France" && countries.stats().hits == 1;

  std::puts("2. a cached mutable model");
  gocp::Repository<Author, gocp::CachedGetOrCreate> authors{db, caches};
  authors.create_table();
  auto tolstoy = c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy";
  auto [leo, made] = authors.get_or_create(tolstoy);
  leo.books_in_store = 3;
  authors.save(leo);
  show("after save (invalidated):", authors.stats());
  authors.get_or_create(tolstoy);
  show("next call reads the database:", authors.stats());
  auto [again, _] = authors.get_or_create(tolstoy);
  show("the one after is a hit:", authors.stats());
  ok = ok && again.books_in_store == 3 && authors.stats().hits == 1;

  std::puts("3. a parent with children, created non-atomically in one transaction");
  gocp::Repository<Shelf, gocp::NonAtomicGetOrCreate> shelves{db, caches};
  gocp::Repository<Book, gocp::NonAtomicGetOrCreate, gocp::CachedGetOrCreate> books{db, caches};
  shelves.create_table();
  books.create_table();
  const auto savepoints = db.savepoints_begun();
  db.atomic([&] {
    auto [shelf, created_shelf] = shelves.get_or_create(c(&Shelf::name) == "Russian classics");
    for (const char* title : {"War and Peace", "Anna Karenina", "Resurrection"})
      books.get_or_create(c(&Book::shelf_id) == shelf.id && c(&Book::title) == title);
  });
  std::printf("  %zu books, %llu savepoints used\n", books.count(),
              static_cast<unsigned long long>(db.savepoints_begun() - savepoints));
  ok = ok && books.count() == 3 && db.savepoints_begun() == savepoints;

  std::puts("4. combinations");
  gocp::Repository<Author, gocp::NonAtomicGetOrCreate, gocp::AlwaysGetOrCreate> non_atomic_always{db, caches};
  gocp::Repository<Author, gocp::AlwaysGetOrCreate, gocp::CachedGetOrCreate> always_cached{db, caches};
  gocp::Repository<Author, gocp::CachedGetOrCreate, gocp::AlwaysGetOrCreate, gocp::NonAtomicGetOrCreate> all_three{
      db, caches};
  const Author chekhov = non_atomic_always.get(c(&Author::first_name) == "Anton" && c(&Author::last_name) == "Chekhov");
  const Author gogol = always_cached.get(c(&Author::first_name) == "Nikolai" && c(&Author::last_name) == "Gogol");
  const Author gogol_again = all_three.get(c(&Author::first_name) == "Nikolai" && c(&Author::last_name) == "Gogol");
  std::printf("  get() created Chekhov (id %lld) and Gogol (id %lld); all three found Gogol again: %s\n",
              static_cast<long long>(chekhov.id), static_cast<long long>(gogol.id),
              gogol_again.id == gogol.id ? "yes" : "no");
  ok = ok && chekhov.id != 0 && gogol_again.id == gogol.id && authors.count() == 3;

  std::puts(ok ? "all as expected" : "UNEXPECTED RESULT");
  return ok ? 0 : 1;
}
