#pragma once
// The definitions behind query_dependencies.hpp: included by it in header-only mode,
// compiled once by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp).

#include <optional>
#include <span>
#include <string>

#include "query_dependencies.hpp"

namespace gocp::detail {
namespace query_dependencies {

GOCP_INLINE bool keyed(std::span<const Node> nodes, std::size_t& i, std::optional<std::uint32_t> only, Fields& fields,
                       Dependencies& deps) {
  const Node& n = nodes[i++];
  switch (n.op) {
    case Op::eq:
      if (only && n.column != *only) return false;
      fields.emplace_back(n.column, &n.value);
      return true;
    case Op::in:
      if ((only && n.column != *only) || n.list.size() > kFewValues) return false;
      for (const Value& v : n.list) fields.emplace_back(n.column, &v);
      return true;  // an empty in() matches no row: it depends on nothing
    case Op::nothing:
      return true;
    case Op::in_query:
      add_subquery(*n.subquery, deps);
      return false;
    case Op::and_: {  // rows matching a && b match a: either side's fields cover them
      Fields a, b;
      const bool ka = keyed(nodes, i, only, a, deps);
      const bool kb = keyed(nodes, i, only, b, deps);
      if (!ka && !kb) return false;
      const Fields& pick = ka && (!kb || a.size() <= b.size()) ? a : b;  // the fewer versions
      fields.append(pick.begin(), pick.end());
      return true;
    }
    case Op::or_: {  // both sides' rows
      Fields a, b;
      const bool ka = keyed(nodes, i, only, a, deps);
      const bool kb = keyed(nodes, i, only, b, deps);
      if (!ka || !kb) return false;
      fields.append(a.begin(), a.end());
      fields.append(b.begin(), b.end());
      return true;
    }
    case Op::not_: {  // a negation fixes no value; its subqueries still count
      Fields ignored;
      keyed(nodes, i, std::nullopt, ignored, deps);
      return false;
    }
    default:  // ne, lt, le, gt, ge, like, is_null, not_null
      return false;
  }
}

GOCP_INLINE bool add_condition(const ModelInfo& table, std::span<const Node> nodes, std::optional<std::uint32_t> only,
                               Dependencies& deps) {
  deps.add_table(table);
  Fields fields;
  std::size_t i = 0;
  if (!nodes.empty() && keyed(nodes, i, only, fields, deps)) {
    for (const auto& [column, value] : fields) deps.refs.push_back({&table, VersionRef::Kind::field, column, value});
    return true;
  }
  deps.refs.push_back({&table, VersionRef::Kind::any});
  return false;
}

GOCP_INLINE void add_subquery(const Subquery& inner, Dependencies& deps) {
  add_condition(*inner.model, inner.nodes, std::nullopt, deps);
}

}  // namespace query_dependencies

GOCP_INLINE void query_dependencies_of(const ModelInfo& table, std::span<const Node> nodes, std::optional<std::uint32_t> only,
                                       Dependencies& deps) {
  deps.refs.clear();
  deps.tables.clear();
  if (!query_dependencies::add_condition(table, nodes, only, deps) && only)
    throw ConfigurationError("gocp: cache(&field) on '" + std::string(table.name) + "' names '" +
                             std::string(table.columns[*only].name) +
                             "', but not every OR-group of the query fixes it by an equality (`==`, or in() of at "
                             "most " + std::to_string(kFewValues) +
                             " values) joined by &&: its versions alone would miss writes that change the result. "
                             "Use cache() without a field, or add the equality to every group");
}

}  // namespace gocp::detail
