// The get_or_create article's book and authors: `book.authors.get_or_create(name=...)`
// searches only the book's authors, creates and links one in one step, and raises
// IntegrityError when an author of that (unique) name exists but is not the book's —
// exactly what Django does.

#include <gocp/gocp.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

struct Author {
  std::int64_t id = 0;
  std::string name;
};
struct Book {
  std::int64_t id = 0;
  std::string title;
};

template <>
struct gocp::model<Author> {
  static constexpr std::string_view name = "library.author";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Author::id, "id"), gocp::field(&Author::name, "name", gocp::unique));
};
template <>
struct gocp::model<Book> {
  static constexpr std::string_view name = "library.book";
  static constexpr auto authors = gocp::many_to_many<Author>("authors");  // through library_book_authors
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Book::id, "id"), gocp::field(&Book::title, "title", gocp::unique), authors);
};

int main() {
  using gocp::c;
  auto db = gocp::Database::open("sqlite::memory:");
  gocp::Repository<Author> authors{db};
  gocp::Repository<Book> books{db};
  authors.create_table();
  books.create_table();  // and its through table, library_book_authors

  auto [war, _] = books.get_or_create(c(&Book::title) == "War and Peace");
  auto war_authors = gocp::related(authors, war, gocp::model<Book>::authors);
  auto [leo, created] = war_authors.get_or_create(c(&Author::name) == "Leo Tolstoy");
  auto [again, created_again] = war_authors.get_or_create(c(&Author::name) == "Leo Tolstoy");
  std::printf("Leo Tolstoy: created %d, then %d (same id: %d); War and Peace has %zu author(s)\n", created,
              created_again, again.id == leo.id, war_authors.count());

  // An author who exists but did not write this book: Django raises IntegrityError.
  authors.create({0, "Sofia Tolstaya"});
  bool integrity_error = false;
  try {
    war_authors.get_or_create(c(&Author::name) == "Sofia Tolstaya");
  } catch (const gocp::IntegrityError& e) {
    integrity_error = true;
    std::printf("IntegrityError: %s\n", e.what());
  }
  // add() is how an existing author joins the book; the reverse side sees it
  war_authors.add(authors.get(c(&Author::name) == "Sofia Tolstaya"));
  const auto leos_books = gocp::related(books, leo, gocp::model<Book>::authors).all();
  std::printf("War and Peace has %zu authors; Leo wrote %zu book(s)\n", war_authors.count(), leos_books.size());

  const bool ok = created && !created_again && again.id == leo.id && integrity_error && war_authors.count() == 2 &&
                  leos_books.size() == 1;
  std::puts(ok ? "OK" : "UNEXPECTED");
  return ok ? 0 : 1;
}
