// Must not compile: two policies both claim get_or_create's create step.
#include "models.hpp"

using compile_fail::Author;

/// A user policy with its own create step.
struct LoggedCreate : gocp::Policy {
  template <class Repo, class M>
  M create(const Repo& repo, const gocp::PendingCreate<M>& pending) const {
    return gocp::PolicyAccess::create_in_savepoint(repo, pending);
  }
};

void make(const gocp::Database& db) {
  gocp::Repository<Author, LoggedCreate, gocp::NonAtomicGetOrCreate> authors{db};
  static_cast<void>(authors);
}
