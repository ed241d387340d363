#pragma once
// What a delete does to other tables: before a parent row is deleted, the rows the
// database will delete with it (on_delete::cascade, through every level) or set NULL in
// (on_delete::set_null) are read and locked, so that each becomes a RowChange of its
// own table — a cached child never survives its parent's delete. The registry of
// foreign keys is detail/reverse_relations.hpp.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../../db/database.hpp"
#include "../../model.hpp"
#include "../../detail/config.hpp"
#include "sql.hpp"

namespace gocp::detail {

/// A change a delete causes in another table, with that table's description.
struct DependentChange {
  const ModelInfo* info;
  RowChange change;
};

/// Every column of a row read with `info.select_all`.
GOCP_INLINE std::vector<Value> read_values(const Row& row, const ModelInfo& info);

/// What a delete will do beyond its own table, read before it runs.
struct Dependents {
  std::vector<DependentChange> changes;
  /// The on_delete::restrict constraints on the tables it deletes from (see restrict_deferred).
  std::vector<std::string> restrict_constraints;
};

/// Appends to `out` the changes deleting the rows `pks` of `parent` will cause, read
/// (FOR UPDATE where the backend has it) on this thread's transaction. Call it inside
/// the transaction that deletes.
GOCP_INLINE void collect_dependents(const Database& db, const ModelInfo& parent, const std::vector<Value>& pks,
                               Dependents& dependents);

/// Runs `remove` (the delete) with the restrict constraints deferred to its end where the
/// backend needs it, then emits the collected changes (buffered until the commit).
template <class Remove>
std::size_t delete_with_dependents(const Database& db, Dependents& dependents, Remove&& remove) {
  const bool defer = restrict_deferred(db.dialect()) && !dependents.restrict_constraints.empty();
  auto set_constraints = [&](std::string_view mode) {
    std::string sql = "SET CONSTRAINTS ";
    for (std::size_t i = 0; i < dependents.restrict_constraints.size(); ++i)
      sql += (i ? ", " : "") + quote_identifier(dependents.restrict_constraints[i]);
    db.execute(sql + " " + std::string(mode));
  };
  if (defer) set_constraints("DEFERRED");
  const std::size_t removed = remove();
  if (defer) set_constraints("IMMEDIATE");  // checked now: refused unless the cascade removed the rows
  for (DependentChange& d : dependents.changes) DatabaseAccess::emit(db, d.info, std::move(d.change));
  return removed;
}

}  // namespace gocp::detail

#if !defined(GOCP_COMPILED)
#include "cascade-inl.hpp"
#endif
