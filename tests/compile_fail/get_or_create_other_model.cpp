// Must not compile: Repository<Author>::get_or_create given a lookup on Book.
#include "models.hpp"

using compile_fail::Author;
using compile_fail::Book;
using gocp::c;

auto make(const gocp::Repository<Author>& authors) {
  return authors.get_or_create(c(&Book::title) == "War and Peace");
}
