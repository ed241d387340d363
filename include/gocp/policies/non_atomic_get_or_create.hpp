#pragma once
/// \file
/// `NonAtomicGetOrCreate`: get_or_create's create runs without its own savepoint, for
/// many nested creates inside one transaction the caller owns (a parent and its
/// children): the caller's transaction is what makes the whole atomic, and each create
/// saves the savepoint's round trips.
///
///     db.atomic([&] {
///       auto [parent, _] = parents.get_or_create(c(&Parent::name) == "p");
///       for (auto& n : names) children.get_or_create(c(&Child::parent_id) == parent.id && c(&Child::name) == n);
///     });
///
/// On PostgreSQL a failed create (a lost race) aborts the caller's transaction: retry the
/// whole transaction, or use the atomic default where races are expected.

#include "../repository.hpp"  // detail::ColumnValues, the create hook's argument

namespace gocp {

struct NonAtomicGetOrCreate {
  template <class Base>
  class mixin : public Base {
   public:
    using Base::Base;

    typename Base::model_type create_for_get_or_create(const detail::ColumnValues& values) const {
      return this->insert(values);
    }
  };
};

}  // namespace gocp
