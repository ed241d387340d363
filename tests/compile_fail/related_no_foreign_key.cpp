// Must not compile: a related repository of a model with no foreign key to the parent's.
#include "models.hpp"

void make(const gocp::Database& db, const compile_fail::Author& author) {
  gocp::Repository<compile_fail::Book> books{db};
  auto related = gocp::related(books, author);
  static_cast<void>(related);
}
