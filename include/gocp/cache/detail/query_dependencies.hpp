#pragma once
// What a cached query result depends on: the *versions* a write bumps (cache/query_cache.hpp).
//
// A query's condition is analysed as OR-groups of AND-ed terms. A group with an equality
// term (`field == v`, or an `in()` of at most kFewValues values: an OR of equalities)
// depends on the version of (table, field, value) of one such field; a write bumps, for
// its row's old AND new values, the version of every field's value, so a row entering or
// leaving the group (or changing inside it) bumps that version. A group with no equality
// term (a range, a negation, a LIKE, a long in(), no condition at all) depends on the
// table's `any` version, which every write of the table bumps. A subquery term adds the
// inner query's own dependencies on its table, recursively (writes to the inner table
// change the set it selects). Every result also depends on each table's `wide` version,
// bumped by a write whose row values are unknown (a bulk write made while nothing
// listened): such a write may have moved any row in or out of any group.
//
// `.cache(&F)` restricts the dependency to F's versions: sound only when F is an
// equality AND-term of every OR-group, else a ConfigurationError naming the field.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "../../errors.hpp"
#include "../../model.hpp"
#include "../../query.hpp"
#include "../../detail/small_vector.hpp"

namespace gocp::detail {

/// An `in()` of at most this many values is an OR of equalities (a version per value);
/// a longer one depends on the table's version (cachebot's caveat 3, kept honest).
inline constexpr std::size_t kFewValues = 16;

/// One version a cached result depends on.
struct VersionRef {
  /// `wide`: the table's, bumped by writes whose values are unknown; `any`: the table's,
  /// bumped by every write; `field`: (table, column, value)'s.
  enum class Kind : std::uint8_t { wide, any, field };
  const ModelInfo* table = nullptr;  ///< the table written
  Kind kind = Kind::any;             ///< which version of it
  std::uint32_t column = 0;          ///< for `field`: the column, in table->columns
  const Value* value = nullptr;      ///< for `field`: the value (the query's own node; valid while it lives)
};

/// Every version a query depends on, and the tables it reads.
struct Dependencies {
  std::vector<VersionRef> refs;             ///< one per version, `wide` of each table included
  std::vector<const ModelInfo*> tables;     ///< the query's table first, then each subquery's

  /// Adds `table` (its `wide` version) once.
  void add_table(const ModelInfo& table) {
    for (const ModelInfo* t : tables)
      if (t == &table) return;
    tables.push_back(&table);
    refs.push_back({&table, VersionRef::Kind::wide});
  }
};

namespace query_dependencies {

// inline up to a few fields: the analysis of a usual query allocates nothing
using Fields = SmallVector<std::pair<std::uint32_t, const Value*>, 4>;

void add_subquery(const Subquery& inner, Dependencies& deps);

/// Whether every row the subtree at nodes[i] matches has, in one of `fields`' columns,
/// that field's value (appended to `fields`); false when no such set exists (the group
/// depends on its table). Advances `i` past the subtree; every subquery met adds its
/// dependencies to `deps`, whatever the answer. With `only`, just that column counts.
inline bool keyed(std::span<const Node> nodes, std::size_t& i, std::optional<std::uint32_t> only, Fields& fields,
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

/// The dependencies of `nodes` as a condition on `table`'s rows, into deps.
inline bool add_condition(const ModelInfo& table, std::span<const Node> nodes, std::optional<std::uint32_t> only,
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

inline void add_subquery(const Subquery& inner, Dependencies& deps) {
  add_condition(*inner.model, inner.nodes, std::nullopt, deps);
}

}  // namespace query_dependencies

/// The versions a read of `table`'s rows matching `nodes` depends on (see the file
/// comment). With `only` (a column of `table`), the condition's own dependency is that
/// column's versions: a ConfigurationError naming the field when some OR-group does not
/// fix it by an equality AND-term (or an in() of a few values).
inline void query_dependencies_of(const ModelInfo& table, std::span<const Node> nodes, std::optional<std::uint32_t> only,
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
