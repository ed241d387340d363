// Must not compile: Repository<Author>::filter given a condition on Book.
#include "models.hpp"

using compile_fail::Author;
using compile_fail::Book;
using gocp::c;

auto make(const gocp::Repository<Author>& authors) { return authors.filter(c(&Book::title) == "War and Peace"); }
