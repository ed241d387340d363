// Must not compile: a sum of a text field.
#include "models.hpp"

using compile_fail::Author;

auto total(const gocp::Repository<Author>& authors) { return authors.aggregate(gocp::sum(&Author::first_name)); }
