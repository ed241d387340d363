// Must not compile: Repository<Author>::order_by given a key on Book's field.
#include "models.hpp"

using compile_fail::Author;
using compile_fail::Book;
using gocp::c;

auto make(const gocp::Repository<Author>& authors) { return authors.order_by(c(&Book::title).desc()); }
