#pragma once
// The SQL of aggregates (gocp/aggregates.hpp) and of grouped queries (gocp/grouping.hpp),
// and the clear error a sum past 64 bits becomes.
//
// Each aggregate is written so that it reads back as its C++ type exactly on every
// backend: PostgreSQL's SUM of a BIGINT is NUMERIC and its AVG NUMERIC, so a sum of an
// integer field is CAST back to the dialect's integer type (PostgreSQL then refuses a
// sum past 64 bits with 22003 "bigint out of range", as SQLite's SUM refuses it with
// "integer overflow") and an average to its floating type.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../../aggregates.hpp"
#include "../../dialect.hpp"
#include "../../errors.hpp"
#include "../../model.hpp"
#include "sql.hpp"

namespace gocp::detail {

/// `CAST(SUM(DISTINCT "clicks") AS BIGINT)`, `COUNT(*)`, `MAX("created_at")` ...
inline void write_aggregate(SqlWriter& w, const Dialect& dialect, const AggregateSpec& a) {
  if (a.rows) {
    w.text("COUNT(*)");
    return;
  }
  const bool cast = (a.function == AggregateFunction::sum && a.integer) || a.function == AggregateFunction::avg;
  if (cast) w.text("CAST(");
  switch (a.function) {
    case AggregateFunction::count: w.text("COUNT("); break;
    case AggregateFunction::sum: w.text("SUM("); break;
    case AggregateFunction::avg: w.text("AVG("); break;
    case AggregateFunction::min: w.text("MIN("); break;
    case AggregateFunction::max: w.text("MAX("); break;
  }
  if (a.distinct) w.text("DISTINCT ");
  w.column(a.column).text(")");
  if (cast) w.text(" AS ").text(a.function == AggregateFunction::avg ? dialect.real_type : dialect.integer_type).text(")");
}

/// One term of a grouped query's ORDER BY: a group key (its column) or an aggregate.
struct GroupOrder {
  bool key;             ///< `column` is a group key; else `aggregate`
  std::uint32_t column;
  AggregateSpec aggregate;
  bool descending;
};

/// A grouped query as data: its keys, aggregates, order and slice.
struct GroupSpec {
  std::vector<std::uint32_t> keys;
  std::vector<AggregateSpec> aggregates;
  std::vector<GroupOrder> order;  ///< as given; the keys not named follow, ascending
  std::optional<std::uint64_t> limit;
  std::uint64_t offset = 0;
};

/// ` ASC NULLS LAST` / ` DESC NULLS FIRST`: NULL sorts as the largest value on both
/// backends, as in every other ordered read (orm/detail/select.hpp), so a grouped result
/// is the same list everywhere.
inline void write_direction(SqlWriter& w, bool descending) {
  w.text(descending ? " DESC NULLS FIRST" : " ASC NULLS LAST");
}

/// `SELECT k..., aggregates... FROM t WHERE (scope) GROUP BY k... ORDER BY ... LIMIT ? OFFSET ?`.
/// The order is total: every key not ordered by already follows, ascending (the keys
/// tell groups apart), so slices of one result never overlap.
template <class T>
void write_grouped(SqlWriter& w, const Dialect& dialect, const GroupSpec& g, const Expr<T>& scope) {
  w.text("SELECT ");
  bool any = false;
  for (std::uint32_t k : g.keys) {
    (any ? w.text(", ") : w).column(k);
    any = true;
  }
  for (const AggregateSpec& a : g.aggregates) {
    if (any) w.text(", ");
    write_aggregate(w, dialect, a);
    any = true;
  }
  w.text(" FROM ").table().where({&scope});
  if (!g.keys.empty()) {
    w.text(" GROUP BY ");
    for (std::size_t i = 0; i < g.keys.size(); ++i) (i ? w.text(", ") : w).column(g.keys[i]);
  }
  bool ordered = false;
  auto next = [&] {
    w.text(ordered ? ", " : " ORDER BY ");
    ordered = true;
  };
  std::vector<std::uint32_t> ordered_keys;
  for (const GroupOrder& o : g.order) {
    next();
    if (o.key) {
      w.column(o.column);
      ordered_keys.push_back(o.column);
    } else {
      write_aggregate(w, dialect, o.aggregate);
    }
    write_direction(w, o.descending);
  }
  for (std::uint32_t k : g.keys) {
    if (std::find(ordered_keys.begin(), ordered_keys.end(), k) != ordered_keys.end()) continue;
    next();
    w.column(k);
    write_direction(w, false);
  }
  if (g.limit || g.offset) {
    // OFFSET needs a LIMIT on SQLite: the largest one stands for none
    w.text(" LIMIT ").param_owned(Value{static_cast<std::int64_t>(g.limit.value_or(std::numeric_limits<std::int64_t>::max()))});
    if (g.offset) w.text(" OFFSET ").param_owned(Value{static_cast<std::int64_t>(g.offset)});
  }
}

/// Called while handling a DatabaseError from an aggregate statement: a sum past the
/// 64-bit range (SQLite's "integer overflow", PostgreSQL's 22003) becomes a DatabaseError
/// naming the summed fields; anything else is rethrown as it is.
[[noreturn]] inline void rethrow_aggregate_error(const DatabaseError& e, const ModelInfo& info,
                                                 std::span<const AggregateSpec> aggregates) {
  const std::string_view what = e.what();
  if (what.find("integer overflow") == std::string_view::npos && what.find(" 22003") == std::string_view::npos) throw;
  std::string fields;
  for (const AggregateSpec& a : aggregates)
    if (a.function == AggregateFunction::sum && a.integer)
      fields += (fields.empty() ? "'" : ", '") + qualified_name(info.name, info.columns[a.column].name) + "'";
  throw DatabaseError("gocp: the sum of " + (fields.empty() ? std::string("a field") : fields) +
                      " is outside the range of a 64-bit integer (" + std::string(what) + ")");
}

}  // namespace gocp::detail
