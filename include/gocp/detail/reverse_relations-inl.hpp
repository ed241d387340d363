#pragma once
// The definitions behind reverse_relations.hpp: included by it in header-only mode,
// compiled once by src/gocp.cpp for gocp::gocp_compiled (config.hpp).

#include <mutex>
#include <string>
#include <vector>

#include "reverse_relations.hpp"

namespace gocp::detail {

GOCP_INLINE ReverseRelations& ReverseRelations::global() {
  static ReverseRelations registry;
  return registry;
}

GOCP_INLINE void ReverseRelations::add(const std::string& target_table, ReverseRelation relation) {
  std::lock_guard lock(mutex_);
  auto& list = by_target_[target_table];
  for (const ReverseRelation& r : list)
    if (r.child == relation.child && r.column == relation.column) return;
  list.push_back(relation);
}

GOCP_INLINE std::vector<ReverseRelation> ReverseRelations::of(const std::string& table) const {
  std::lock_guard lock(mutex_);
  const auto it = by_target_.find(table);
  return it == by_target_.end() ? std::vector<ReverseRelation>{} : it->second;
}

}  // namespace gocp::detail
