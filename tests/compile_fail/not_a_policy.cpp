// Must not compile: a class that is not a policy (it does not derive from gocp::Policy)
// in a repository's policy list.
#include "models.hpp"

using compile_fail::Author;

struct Unrelated {};

void make(const gocp::Database& db) {
  gocp::Repository<Author, Unrelated> authors{db};
  static_cast<void>(authors);
}
