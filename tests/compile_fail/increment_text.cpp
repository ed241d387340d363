// Must not compile: += on a text field (F()-style increments are for numbers).
#include "models.hpp"

using compile_fail::Author;
using gocp::c;

gocp::Assignment<Author> make() { return c(&Author::first_name) += 1; }
