#pragma once
/// \file
/// `NonAtomicGetOrCreate`: get_or_create's create runs without its own savepoint, for
/// many nested creates inside one transaction the caller owns (a parent and its
/// children): the caller's transaction is what makes the whole atomic, and each create
/// saves the savepoint's round trips. It claims the create step.
///
///     db.atomic([&] {
///       auto [parent, _] = parents.get_or_create(c(&Parent::name) == "p");
///       for (auto& n : names) children.get_or_create(c(&Child::parent_id) == parent.id && c(&Child::name) == n);
///     });
///
/// On PostgreSQL a failed create (a lost race) aborts the caller's transaction: retry the
/// whole transaction, or use the atomic default where races are expected.

#include "../policy.hpp"

namespace gocp {

/// get_or_create creates without a savepoint of its own, relying on the caller's
/// transaction (see the file comment). Claims the create step.
struct NonAtomicGetOrCreate : Policy {
 private:
  friend class PolicyAccess;
  template <class Repo, class M>
  M create(const Repo& repo, const PendingCreate<M>& pending) const {
    return PolicyAccess::executor(repo).insert(pending.build());
  }
};

}  // namespace gocp
