// Must not compile: Repository<Author>::values given a member of Book.
#include "models.hpp"

using compile_fail::Author;
using compile_fail::Book;

auto read(const gocp::Repository<Author>& authors) { return authors.values(&Author::id, &Book::title); }
