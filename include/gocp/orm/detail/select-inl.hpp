#pragma once
// The definitions behind select.hpp's functions that are the same for every model: included
// by it in header-only mode, compiled once by src/gocp.cpp for gocp::gocp_compiled
// (detail/config.hpp).

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "select.hpp"

namespace gocp::detail {

GOCP_INLINE void require_lock_allowed(const Database& db, std::string_view model_name, LockMode mode, bool distinct) {
  if (mode == LockMode::none) return;
  const std::string model = "'" + std::string(model_name) + "'";
  if (!db.in_transaction())
    throw TransactionManagementError("gocp: select_for_update cannot be used outside of a transaction (reading " +
                                     model + "): run the read inside db.atomic(...)");
  if (mode != LockMode::plain && !db.dialect().supports_for_update)
    throw NotSupportedError(std::string("gocp: select_for_update(") +
                            (mode == LockMode::skip_locked ? "{.skip_locked = true}" : "{.nowait = true}") +
                            ") is not supported on " + std::string(db.dialect().name) + " (reading " + model +
                            "): it has no row locks; a plain select_for_update() is (its transaction already "
                            "holds the database's write lock)");
  if (distinct)
    throw ConfigurationError("gocp: select_for_update cannot be combined with distinct() (reading " + model +
                             "): PostgreSQL refuses FOR UPDATE with DISTINCT");
}

}  // namespace gocp::detail
