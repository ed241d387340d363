// Must not compile: conditions on two different models combined with &&.
#include "models.hpp"

using compile_fail::Author;
using compile_fail::Book;
using gocp::c;

auto make() { return c(&Author::last_name) == "Tolstoy" && c(&Book::title) == "War and Peace"; }
