// Must not compile: a text field compared with a number.
#include "models.hpp"

using compile_fail::Author;
using gocp::c;

gocp::Expr<Author> make() { return c(&Author::last_name) == 42; }
