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
#include "sql.hpp"

namespace gocp::detail {

/// A change a delete causes in another table, with that table's description.
struct DependentChange {
  const ModelInfo* info;
  RowChange change;
};

/// Every column of a row read with `info.select_all`.
inline std::vector<Value> read_values(const Row& row, const ModelInfo& info) {
  std::vector<Value> out;
  out.reserve(info.columns.size());
  for (std::size_t i = 0; i < info.columns.size(); ++i) out.push_back(read_value(row, static_cast<int>(i), info.columns[i].type));
  return out;
}

/// What a delete will do beyond its own table, read before it runs.
struct Dependents {
  std::vector<DependentChange> changes;
  /// The on_delete::restrict constraints on the tables it deletes from (see restrict_deferred).
  std::vector<std::string> restrict_constraints;
};

/// Appends to `out` the changes deleting the rows `pks` of `parent` will cause, read
/// (FOR UPDATE where the backend has it) on this thread's transaction. Call it inside
/// the transaction that deletes.
inline void collect_dependents(const Database& db, const ModelInfo& parent, const std::vector<Value>& pks,
                               Dependents& dependents) {
  static constexpr std::size_t chunk = 500;
  auto& out = dependents.changes;
  for (const ReverseRelation& r : ReverseRelations::global().of(parent.table)) {
    if (r.action == on_delete::restrict) {
      std::string name = foreign_key_name(*r.child, r.column);
      if (std::find(dependents.restrict_constraints.begin(), dependents.restrict_constraints.end(), name) ==
          dependents.restrict_constraints.end())
        dependents.restrict_constraints.push_back(std::move(name));
    }
    if (r.action != on_delete::cascade && r.action != on_delete::set_null) continue;  // the database refuses
    const ModelInfo& child = *r.child;
    std::vector<Value> cascaded;
    for (std::size_t start = 0; start < pks.size(); start += chunk) {
      SqlWriter w(db.dialect(), child);
      w.select_all_columns().text(" WHERE ").column(r.column).text(" IN (");
      for (std::size_t k = start; k < std::min(pks.size(), start + chunk); ++k) (k > start ? w.text(", ") : w).param(pks[k]);
      w.text(")");
      if (db.dialect().supports_for_update) w.text(" FOR UPDATE");
      db.with_connection([&](Connection& c) {
        return detail::run_sql(c, w, [&](const Row& row) {
          std::vector<Value> before = read_values(row, child);
          const Value pk = before[child.pk];
          const bool seen = std::any_of(out.begin(), out.end(), [&](const DependentChange& d) {
            return d.info == &child && d.change.pk == pk && d.change.is_delete();
          });
          if (seen) return true;  // a cycle of cascades reached it again
          std::optional<std::vector<Value>> after;
          if (r.action == on_delete::set_null) {
            after = before;
            (*after)[r.column] = Value{};
          } else {
            cascaded.push_back(pk);
          }
          const bool kept = after.has_value();
          out.push_back({&child, RowChange{child.table, pk, std::move(before), std::move(after), true, kept}});
          return true;
        });
      });
    }
    if (!cascaded.empty()) collect_dependents(db, child, cascaded, dependents);
  }
}

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
