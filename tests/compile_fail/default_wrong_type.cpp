// Must not compile: a string assigned to an integer field in defaults(...).
#include "models.hpp"

using compile_fail::Author;
using gocp::c;

gocp::Defaults<Author> make() { return gocp::defaults(c(&Author::books_in_store) = "x"); }
