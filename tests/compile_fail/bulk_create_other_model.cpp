// Must not compile: Repository<Author>::bulk_create given an upsert over Book's fields.
#include <vector>

#include "models.hpp"

using compile_fail::Author;
using compile_fail::Book;

auto make(const gocp::Repository<Author>& authors, const std::vector<Author>& rows) {
  return authors.bulk_create(rows, {.update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Book::title),
                                                                               gocp::update_fields(&Book::title))});
}
