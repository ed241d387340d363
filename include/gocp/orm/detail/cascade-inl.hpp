#pragma once
// The definitions behind cascade.hpp's functions that are the same for every model: included
// by it in header-only mode, compiled once by src/gocp.cpp for gocp::gocp_compiled
// (detail/config.hpp).

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "cascade.hpp"

namespace gocp::detail {

GOCP_INLINE std::vector<Value> read_values(const Row& row, const ModelInfo& info) {
  std::vector<Value> out;
  out.reserve(info.columns.size());
  for (std::size_t i = 0; i < info.columns.size(); ++i) out.push_back(read_value(row, static_cast<int>(i), info.columns[i].type));
  return out;
}

GOCP_INLINE void collect_dependents(const Database& db, const ModelInfo& parent, const std::vector<Value>& pks,
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

}  // namespace gocp::detail
