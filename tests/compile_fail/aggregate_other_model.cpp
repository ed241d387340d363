// Must not compile: Repository<Author>::aggregate of a field of Book.
#include "models.hpp"

using compile_fail::Author;
using compile_fail::Book;

auto last(const gocp::Repository<Author>& authors) { return authors.aggregate(gocp::max(&Book::title)); }
