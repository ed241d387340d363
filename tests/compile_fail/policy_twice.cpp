// Must not compile: the same policy listed twice.
#include "models.hpp"

using compile_fail::Author;

/// A trivial user policy: adds nothing.
struct P : gocp::Policy {};

void make(const gocp::Database& db) {
  gocp::Repository<Author, P, P> authors{db};
  static_cast<void>(authors);
}
