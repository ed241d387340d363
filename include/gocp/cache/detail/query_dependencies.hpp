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
#include "../../detail/config.hpp"
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

GOCP_INLINE void add_subquery(const Subquery& inner, Dependencies& deps);

/// Whether every row the subtree at nodes[i] matches has, in one of `fields`' columns,
/// that field's value (appended to `fields`); false when no such set exists (the group
/// depends on its table). Advances `i` past the subtree; every subquery met adds its
/// dependencies to `deps`, whatever the answer. With `only`, just that column counts.
GOCP_INLINE bool keyed(std::span<const Node> nodes, std::size_t& i, std::optional<std::uint32_t> only, Fields& fields,
                       Dependencies& deps);

/// The dependencies of `nodes` as a condition on `table`'s rows, into deps.
GOCP_INLINE bool add_condition(const ModelInfo& table, std::span<const Node> nodes, std::optional<std::uint32_t> only,
                               Dependencies& deps);

}  // namespace query_dependencies

/// The versions a read of `table`'s rows matching `nodes` depends on (see the file
/// comment). With `only` (a column of `table`), the condition's own dependency is that
/// column's versions: a ConfigurationError naming the field when some OR-group does not
/// fix it by an equality AND-term (or an in() of a few values).
GOCP_INLINE void query_dependencies_of(const ModelInfo& table, std::span<const Node> nodes, std::optional<std::uint32_t> only,
                                       Dependencies& deps);

}  // namespace gocp::detail

#if !defined(GOCP_COMPILED)
#include "query_dependencies-inl.hpp"
#endif
