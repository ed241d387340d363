#pragma once
/// \file
/// `AlwaysGetOrCreate`: get(lookup) never throws DoesNotExist; a missing row is created
/// (get(lookup) is get_or_create(lookup).first, through every other policy listed).
/// The repository's own verbs keep their plain internal get, so nothing recurses.

#include <type_traits>

#include "../query.hpp"

namespace gocp {

struct AlwaysGetOrCreate {
  template <class Base>
  class mixin : public Base {
   public:
    using Base::Base;

    template <class E>
    typename Base::model_type get(const E& lookup) const {
      return this->self().get_or_create(lookup).first;
    }
  };
};

}  // namespace gocp
