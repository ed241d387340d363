#pragma once
/// \file
/// `AlwaysGetOrCreate`: get(lookup) never throws DoesNotExist; a missing row is created
/// (through get_or_create, so through every other policy listed). Its one hook is
/// `missing`: the other verbs (find, filter, ...) still report what is not there.

#include <optional>

#include "../policy.hpp"

namespace gocp {

/// get(lookup) creates the row it does not find instead of throwing DoesNotExist (see
/// the file comment); list it after CachedGetOrCreate and that create is cached too.
struct AlwaysGetOrCreate : Policy {
 private:
  friend class PolicyAccess;
  template <class Repo, class M>
  std::optional<M> missing(const Repo& repo, const Expr<M>& lookup) const {
    return repo.get_or_create(lookup).first;
  }
};

}  // namespace gocp
