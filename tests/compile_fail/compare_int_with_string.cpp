// Must not compile: an integer field compared with a string.
#include "models.hpp"

using compile_fail::Author;
using gocp::c;

gocp::Expr<Author> make() { return c(&Author::books_in_store) == "x"; }
