// Must not compile: an integer column tested against a subquery selecting text.
#include "models.hpp"

using compile_fail::Author;
using compile_fail::Book;
using gocp::c;

auto make(const gocp::Repository<Author>& authors, const gocp::Repository<Book>& books) {
  return authors.filter(c(&Author::id).in(books, &Book::title));
}
