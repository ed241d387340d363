// Must not compile: a many-to-many relation used from a model that has none to the
// repository's model (compile_fail::Author has no gocp::many_to_many to Book).
#include "models.hpp"

void make(const gocp::Database& db, const compile_fail::Author& author) {
  gocp::Repository<compile_fail::Book> books{db};
  static constexpr auto books_rel = gocp::many_to_many<compile_fail::Book>("books");
  auto related = gocp::related(books, author, books_rel);
  static_cast<void>(related);
}
