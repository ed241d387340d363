// A differential test of the query layer: thousands of random querysets run through gocp
// and through SQL written here by hand, on the same SQLite file, their answers compared.
// The hand-written side states Django's semantics in its own words (IS NOT for !=,
// `IS NOT 1` for exclude, substr/instr for startswith/endswith/contains, NULLs ordered as
// the largest value), so it is an oracle, not a copy of gocp's SQL writer.

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <gocp/gocp.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "support/temp_dir.hpp"

namespace diff {

struct Owner {
  std::int64_t id = 0;
  std::string email;
};
struct Item {
  std::int64_t id = 0;
  std::int64_t owner_id = 0;
  std::string name;
  std::int64_t score = 0;
  std::optional<double> weight;
  std::optional<std::string> tag;
};

}  // namespace diff

template <>
struct gocp::model<diff::Owner> {
  static constexpr std::string_view name = "diff.owner";
  static constexpr auto schema = gocp::table(gocp::primary_key(&diff::Owner::id, "id"),
                                             gocp::field(&diff::Owner::email, "email", gocp::unique));
};
template <>
struct gocp::model<diff::Item> {
  static constexpr std::string_view name = "diff.item";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&diff::Item::id, "id"),
      gocp::foreign_key(&diff::Item::owner_id, "owner_id", gocp::references<diff::Owner>, gocp::on_delete::cascade),
      gocp::field(&diff::Item::name, "name"), gocp::field(&diff::Item::score, "score"),
      gocp::field(&diff::Item::weight, "weight"), gocp::field(&diff::Item::tag, "tag"));
};

namespace diff {
namespace {

using gocp::c;

/// A value bound into the hand-written SQL.
using Param = std::variant<std::monostate, std::int64_t, double, std::string>;

/// A condition twice: as gocp's expression and as hand-written SQL with its parameters.
struct Cond {
  gocp::Expr<Item> expr;
  std::string sql;
  std::vector<Param> params;
};

Cond both(gocp::Expr<Item> e, std::string sql, std::vector<Param> params = {}) {
  return {std::move(e), std::move(sql), std::move(params)};
}

std::vector<Param> joined(std::vector<Param> a, const std::vector<Param>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::vector<std::string> kNames = {"apple", "apricot", "banana", "band", "cherry", "Cherry", "a_b", "a%b", "",
                                         "date"};
const std::vector<std::string> kTags = {"red", "green", "blue"};

/// The data: owners and items with repeated values, NULLs, and names that hold LIKE's
/// wildcards, so ties, NULL placement and escaping all matter.
struct Data {
  std::vector<Owner> owners;
  std::vector<Item> items;
};

Data make_data(std::mt19937_64& rng) {
  Data d;
  for (int i = 1; i <= 12; ++i) d.owners.push_back(Owner{i, "owner" + std::to_string(i) + (i % 3 ? "@example.com" : "@other.org")});
  for (int i = 1; i <= 240; ++i) {
    Item it;
    it.id = i;
    it.owner_id = 1 + static_cast<std::int64_t>(rng() % 12);
    it.name = kNames[rng() % kNames.size()];
    it.score = static_cast<std::int64_t>(rng() % 21) - 10;
    if (rng() % 4) it.weight = static_cast<double>(rng() % 9) / 2.0;
    if (rng() % 3) it.tag = kTags[rng() % kTags.size()];
    d.items.push_back(it);
  }
  return d;
}

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  /// A random condition of at most `depth` levels of &&, || and !.
  Cond condition(int depth) {
    if (depth == 0 || pick(3) == 0) return term();
    switch (pick(3)) {
      case 0: {
        Cond a = condition(depth - 1), b = condition(depth - 1);
        return both(std::move(a.expr) && std::move(b.expr), "((" + a.sql + ") AND (" + b.sql + "))",
                    joined(a.params, b.params));
      }
      case 1: {
        Cond a = condition(depth - 1), b = condition(depth - 1);
        return both(std::move(a.expr) || std::move(b.expr), "((" + a.sql + ") OR (" + b.sql + "))",
                    joined(a.params, b.params));
      }
      default: {
        Cond a = condition(depth - 1);
        // exclude(): every row for which the condition is not true, NULL included
        return both(!a.expr, "((" + a.sql + ") IS NOT 1)", a.params);
      }
    }
  }

  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }

  /// One or two random order keys: gocp's, and the hand-written ORDER BY that states the
  /// same rule independently (NULLs the largest value unless placed explicitly; the
  /// primary key breaking ties in the direction of the last key).
  std::pair<std::vector<gocp::Order<Item>>, std::string> ordering() {
    std::vector<gocp::Order<Item>> keys;
    std::string sql;
    bool last_descending = false, has_id = false;
    for (std::size_t n = 1 + pick(2); n > 0; --n) {
      const std::size_t which = pick(5);
      const char* names[] = {"score", "weight", "tag", "name", "id"};
      const bool nullable = which == 1 || which == 2;
      auto col = [&]() -> gocp::Order<Item> {
        const bool desc = pick(2);
        switch (which) {
          case 0: return desc ? c(&Item::score).desc() : c(&Item::score).asc();
          case 1: return desc ? c(&Item::weight).desc() : c(&Item::weight).asc();
          case 2: return desc ? c(&Item::tag).desc() : c(&Item::tag).asc();
          case 3: return desc ? c(&Item::name).desc() : c(&Item::name).asc();
          default: return desc ? c(&Item::id).desc() : c(&Item::id).asc();
        }
      }();
      const std::size_t placement = pick(3);  // 0: the default, 1: nulls_first(), 2: nulls_last()
      if (placement == 1) col = col.nulls_first();
      if (placement == 2) col = col.nulls_last();
      const bool desc = col.term().descending;
      const bool nulls_first = placement == 0 ? desc : placement == 1;
      if (!sql.empty()) sql += ", ";
      if (nullable) sql += std::string("(") + names[which] + " IS NULL) " + (nulls_first ? "DESC, " : "ASC, ");
      sql += std::string(names[which]) + (desc ? " DESC" : " ASC");
      keys.push_back(col);
      last_descending = desc;
      has_id = has_id || which == 4;
    }
    if (!has_id) sql += last_descending ? ", id DESC" : ", id ASC";
    return {keys, sql};
  }
  std::int64_t score() { return static_cast<std::int64_t>(pick(25)) - 12; }

 private:
  Cond term() {
    switch (pick(9)) {
      case 0: return comparison(c(&Item::score), "score", score());
      case 1: {
        std::vector<std::int64_t> values;
        for (std::size_t n = pick(4); n > 0; --n) values.push_back(score());
        std::string sql = values.empty() ? "0" : "score IN (";
        std::vector<Param> params;
        for (std::size_t i = 0; i < values.size(); ++i) {
          sql += i ? ", ?" : "?";
          params.emplace_back(values[i]);
        }
        if (!values.empty()) sql += ")";
        return both(c(&Item::score).in(values), sql, params);
      }
      case 2: {
        const std::string& n = kNames[pick(kNames.size())];
        switch (pick(4)) {
          case 0: return both(c(&Item::name) == n, "name = ?", {n});
          case 1: return both(c(&Item::name).startswith(n.substr(0, 2)), "substr(name, 1, length(?)) = ?",
                              {n.substr(0, 2), n.substr(0, 2)});
          case 2: {
            const std::string tail = n.size() > 2 ? n.substr(n.size() - 2) : n;
            return both(c(&Item::name).endswith(tail),
                        "(length(name) >= length(?) AND substr(name, length(name) - length(?) + 1) = ?)", {tail, tail, tail});
          }
          default: {
            const std::string mid = n.size() > 2 ? n.substr(1, 1) : n;
            return both(c(&Item::name).contains(mid), "instr(name, ?) > 0", {mid});
          }
        }
      }
      case 3: return both(c(&Item::weight).is_null(), "weight IS NULL");
      case 4: {
        const double w = static_cast<double>(pick(9)) / 2.0;
        return pick(2) ? both(c(&Item::weight) < w, "weight < ?", {w}) : both(c(&Item::weight) == w, "weight = ?", {w});
      }
      case 5: return both(c(&Item::tag) == std::nullopt, "tag IS NULL");
      case 6: {
        const std::string& t = kTags[pick(kTags.size())];
        return pick(2) ? both(c(&Item::tag) == t, "tag = ?", {t}) : both(c(&Item::tag) != t, "tag IS NOT ?", {t});
      }
      case 7: {
        const std::int64_t o = 1 + static_cast<std::int64_t>(pick(12));
        return both(c(&Item::owner_id) == o, "owner_id = ?", {o});
      }
      default: return comparison(c(&Item::id), "id", static_cast<std::int64_t>(pick(260)));
    }
  }

  template <class Column>
  Cond comparison(const Column& col, const std::string& name, std::int64_t v) {
    switch (pick(6)) {
      case 0: return both(col == v, name + " = ?", {v});
      case 1: return both(col != v, name + " IS NOT ?", {v});
      case 2: return both(col < v, name + " < ?", {v});
      case 3: return both(col <= v, name + " <= ?", {v});
      case 4: return both(col > v, name + " > ?", {v});
      default: return both(col >= v, name + " >= ?", {v});
    }
  }

  std::mt19937_64 rng_;
};

/// The hand-written side: its own sqlite3 connection to the same file.
class Oracle {
 public:
  explicit Oracle(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  }
  Oracle(const Oracle&) = delete;
  Oracle& operator=(const Oracle&) = delete;
  ~Oracle() { sqlite3_close_v2(db_); }

  /// Each row's columns as text ("NULL" for NULL), for comparison with gocp's values.
  std::vector<std::vector<std::string>> rows(const std::string& sql, const std::vector<Param>& params) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      FAIL("oracle SQL does not prepare: " << sqlite3_errmsg(db_) << " in " << sql);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int at = static_cast<int>(i + 1);
      std::visit(
          [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::monostate>) sqlite3_bind_null(st, at);
            else if constexpr (std::is_same_v<V, std::int64_t>) sqlite3_bind_int64(st, at, v);
            else if constexpr (std::is_same_v<V, double>) sqlite3_bind_double(st, at, v);
            else sqlite3_bind_text(st, at, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
          },
          params[i]);
    }
    std::vector<std::vector<std::string>> out;
    int rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      auto& row = out.emplace_back();
      for (int col = 0; col < sqlite3_column_count(st); ++col) {
        if (sqlite3_column_type(st, col) == SQLITE_NULL) row.emplace_back("NULL");
        else if (sqlite3_column_type(st, col) == SQLITE_FLOAT) row.push_back(text_of(sqlite3_column_double(st, col)));
        else row.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, col)));
      }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) FAIL("oracle SQL failed: " << sqlite3_errmsg(db_) << " in " << sql);
    return out;
  }

  std::vector<std::int64_t> ids(const std::string& sql, const std::vector<Param>& params) {
    std::vector<std::int64_t> out;
    for (const auto& row : rows(sql, params)) out.push_back(std::stoll(row.at(0)));
    return out;
  }

  static std::string text_of(double d) {
    std::ostringstream s;
    s.precision(17);
    s << d;
    return s.str();
  }

 private:
  sqlite3* db_ = nullptr;
};

std::vector<std::int64_t> ids_of(const std::vector<Item>& items) {
  std::vector<std::int64_t> out;
  for (const Item& it : items) out.push_back(it.id);
  return out;
}

struct Fixture {
  gocp::test::TempDir dir;
  std::string path = dir.file("diff.db").string();
  gocp::Database db = gocp::Database::open("sqlite:///" + path);
  gocp::Repository<Owner> owners{db};
  gocp::Repository<Item> items{db};
  Data data;

  explicit Fixture(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    data = make_data(rng);
    owners.create_table();
    items.create_table();
    db.atomic([&] {
      for (const Owner& o : data.owners) owners.create(o);
      for (const Item& it : data.items) items.create(it);
    });
  }
};

}  // namespace

TEST_CASE("random filters: gocp's rows, count and exists equal hand-written SQL's", "[queries][differential]") {
  Fixture f(7);
  Oracle oracle(f.path);
  Generator gen(11);
  int checked = 0, nonempty = 0;
  for (int round = 0; round < 1500; ++round) {
    const Cond cond = gen.condition(3);
    const auto repo = f.items.filter(cond.expr);
    const std::string where = " FROM diff_item WHERE " + cond.sql;
    const auto expected = oracle.ids("SELECT id" + where + " ORDER BY id", cond.params);
    INFO("round " << round << ": WHERE " << cond.sql);
    REQUIRE(ids_of(repo.all()) == expected);
    REQUIRE(repo.count() == expected.size());
    REQUIRE(repo.exists() == !expected.empty());
    ++checked;
    nonempty += !expected.empty();
  }
  // the generator must reach both empty and non-empty answers to mean anything
  CHECK(nonempty > 300);
  CHECK(checked - nonempty > 100);
}


/// The repository ordered by `keys` (one or two of them).
gocp::Repository<Item> ordered(const gocp::Repository<Item>& repo, const std::vector<gocp::Order<Item>>& keys) {
  return keys.size() == 1 ? repo.order_by(keys[0]) : repo.order_by(keys[0], keys[1]);
}

std::string text_of(double d) { return Oracle::text_of(d); }
std::string text_of(const std::optional<double>& d) { return d ? Oracle::text_of(*d) : "NULL"; }
std::string text_of(const std::optional<std::string>& s) { return s ? *s : "NULL"; }
std::string text_of(std::int64_t n) { return std::to_string(n); }
std::string text_of(const std::string& s) { return s; }

TEST_CASE("random orderings and slices: gocp's rows in the order hand-written SQL gives", "[queries][differential]") {
  Fixture f(8);
  Oracle oracle(f.path);
  Generator gen(12);
  int nonempty = 0, cut = 0;
  for (int round = 0; round < 1500; ++round) {
    const Cond cond = gen.condition(2);
    const auto [keys, order_sql] = gen.ordering();
    const std::int64_t offset = static_cast<std::int64_t>(gen.pick(30));
    const bool bounded = gen.pick(3) != 0;
    const std::int64_t limit = static_cast<std::int64_t>(gen.pick(40));
    auto repo = ordered(f.items.filter(cond.expr), keys);
    if (gen.pick(4) == 0) {
      repo = repo.reverse();
      // reverse() flips every key, its NULLs' place and the tie-break: the oracle reads backwards
    }
    const bool reversed = repo.queryset().order_reversed();
    std::string sql = "SELECT id FROM diff_item WHERE " + cond.sql + " ORDER BY " + order_sql;
    std::vector<Param> params = cond.params;
    INFO("round " << round << ": " << sql << (reversed ? " (reversed)" : "") << " offset " << offset
                  << (bounded ? " limit " + std::to_string(limit) : std::string(" unbounded")));
    auto expected = oracle.ids(sql, params);
    if (reversed) std::reverse(expected.begin(), expected.end());
    // the slice, applied to the whole ordered answer
    std::vector<std::int64_t> sliced;
    for (std::size_t i = static_cast<std::size_t>(offset); i < expected.size(); ++i)
      if (!bounded || sliced.size() < static_cast<std::size_t>(limit)) sliced.push_back(expected[i]);
    auto slice = repo.offset(offset);
    if (bounded) slice = slice.limit(limit);
    REQUIRE(ids_of(slice.all()) == sliced);
    REQUIRE(slice.count() == sliced.size());
    REQUIRE(slice.exists() == !sliced.empty());
    const auto first = repo.first();
    REQUIRE(first.has_value() == !expected.empty());
    if (first) REQUIRE(first->id == expected.front());
    const auto last = repo.last();
    if (last) REQUIRE(last->id == expected.back());
    REQUIRE(last.has_value() == !expected.empty());
    nonempty += !sliced.empty();
    cut += sliced.size() < expected.size();
  }
  // the generator must reach slices that keep rows and slices that cut some off to mean anything
  CHECK(nonempty > 300);
  CHECK(cut > 300);
}

TEST_CASE("random values, values_list and distinct equal hand-written SQL's", "[queries][differential]") {
  Fixture f(9);
  Oracle oracle(f.path);
  Generator gen(13);
  for (int round = 0; round < 800; ++round) {
    const Cond cond = gen.condition(2);
    const auto [keys, order_sql] = gen.ordering();
    const auto repo = ordered(f.items.filter(cond.expr), keys);
    INFO("round " << round << ": WHERE " << cond.sql << " ORDER BY " << order_sql);
    // values(): the listed columns of each row, in the queryset's order
    const auto rows = oracle.rows("SELECT id, weight, tag FROM diff_item WHERE " + cond.sql + " ORDER BY " + order_sql,
                                  cond.params);
    const auto got = repo.values(&Item::id, &Item::weight, &Item::tag);
    REQUIRE(got.size() == rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      REQUIRE(text_of(std::get<0>(got[i])) == rows[i][0]);
      REQUIRE(text_of(std::get<1>(got[i])) == rows[i][1]);
      REQUIRE(text_of(std::get<2>(got[i])) == rows[i][2]);
    }
    // values_list(): one column, flat
    const auto names = repo.values_list(&Item::name);
    const auto name_rows = oracle.rows("SELECT name FROM diff_item WHERE " + cond.sql + " ORDER BY " + order_sql, cond.params);
    REQUIRE(names.size() == name_rows.size());
    for (std::size_t i = 0; i < names.size(); ++i) REQUIRE(names[i] == name_rows[i][0]);
    // distinct(), ordered by the selected column itself
    const bool desc = gen.pick(2);
    const auto distinct = f.items.filter(cond.expr)
                              .distinct()
                              .order_by(desc ? c(&Item::score).desc() : c(&Item::score).asc())
                              .values_list(&Item::score);
    const auto distinct_rows = oracle.rows(
        "SELECT DISTINCT score FROM diff_item WHERE " + cond.sql + " ORDER BY score" + (desc ? " DESC" : " ASC"),
        cond.params);
    REQUIRE(distinct.size() == distinct_rows.size());
    for (std::size_t i = 0; i < distinct.size(); ++i) REQUIRE(text_of(distinct[i]) == distinct_rows[i][0]);
  }
}

TEST_CASE("random aggregates and groups equal hand-written SQL's", "[queries][differential]") {
  Fixture f(10);
  Oracle oracle(f.path);
  Generator gen(14);
  auto opt = [](const auto& v) { return v ? text_of(*v) : std::string("NULL"); };
  for (int round = 0; round < 800; ++round) {
    const Cond cond = gen.condition(2);
    const auto repo = f.items.filter(cond.expr);
    INFO("round " << round << ": WHERE " << cond.sql);
    const auto [n, total, mean, lowest, highest, tags, distinct_tags] =
        repo.aggregate(gocp::count(), gocp::sum(&Item::score), gocp::avg(&Item::weight), gocp::min(&Item::name),
                       gocp::max(&Item::weight), gocp::count(&Item::tag), gocp::count(&Item::tag, gocp::distinct));
    const auto row = oracle.rows(
        "SELECT COUNT(*), SUM(score), AVG(weight), MIN(name), MAX(weight), COUNT(tag), COUNT(DISTINCT tag) "
        "FROM diff_item WHERE " + cond.sql, cond.params).at(0);
    REQUIRE(std::to_string(n) == row[0]);
    REQUIRE(opt(total) == row[1]);
    REQUIRE(opt(mean) == row[2]);
    REQUIRE(opt(lowest) == row[3]);
    REQUIRE(opt(highest) == row[4]);
    REQUIRE(std::to_string(tags) == row[5]);
    REQUIRE(std::to_string(distinct_tags) == row[6]);
    // one row per tag (NULL one group, sorted as the largest value), then a slice of it
    const std::int64_t offset = static_cast<std::int64_t>(gen.pick(3)), limit = 1 + static_cast<std::int64_t>(gen.pick(3));
    const auto groups =
        repo.group_by(&Item::tag).aggregate(gocp::count(), gocp::sum(&Item::score)).offset(offset).limit(limit).all();
    const auto group_rows = oracle.rows("SELECT tag, COUNT(*), SUM(score) FROM diff_item WHERE " + cond.sql +
                                            " GROUP BY tag ORDER BY (tag IS NULL), tag LIMIT ? OFFSET ?",
                                        joined(cond.params, {limit, offset}));
    REQUIRE(groups.size() == group_rows.size());
    for (std::size_t i = 0; i < groups.size(); ++i) {
      REQUIRE(opt(std::get<0>(groups[i])) == group_rows[i][0]);
      REQUIRE(std::to_string(std::get<1>(groups[i])) == group_rows[i][1]);
      REQUIRE(opt(std::get<2>(groups[i])) == group_rows[i][2]);
    }
  }
}

TEST_CASE("random conditions across the foreign key (subqueries) equal hand-written SQL's", "[queries][differential]") {
  Fixture f(11);
  Oracle oracle(f.path);
  Generator gen(15);
  for (int round = 0; round < 800; ++round) {
    const Cond cond = gen.condition(2);
    // items of owners whose email ends with one of two domains, or of no such owner
    const bool example = gen.pick(2);
    const std::string domain = example ? "@example.com" : "@other.org";
    const auto some_owners = f.owners.filter(c(&Owner::email).endswith(domain));
    const bool negate = gen.pick(3) == 0;
    const gocp::Expr<Item> across = c(&Item::owner_id).in(some_owners);
    const auto repo = f.items.filter(negate ? !across : across).filter(cond.expr);
    const std::string in_sql = "owner_id IN (SELECT id FROM diff_owner WHERE substr(email, -length(?)) = ?)";
    const std::string across_sql = negate ? "((" + in_sql + ") IS NOT 1)" : in_sql;
    INFO("round " << round << ": " << across_sql << " AND " << cond.sql);
    const auto expected = oracle.ids("SELECT id FROM diff_item WHERE " + across_sql + " AND (" + cond.sql + ") ORDER BY id",
                                     joined({domain, domain}, cond.params));
    REQUIRE(ids_of(repo.all()) == expected);
    REQUIRE(repo.count() == expected.size());
    // the reverse side: owners with an item matching the condition
    const auto owners = f.owners.filter(c(&Owner::id).in(f.items.filter(cond.expr), &Item::owner_id)).values_list(&Owner::id);
    const auto owner_ids = oracle.ids("SELECT id FROM diff_owner WHERE id IN (SELECT owner_id FROM diff_item WHERE " +
                                          cond.sql + ") ORDER BY id",
                                      cond.params);
    REQUIRE(owners == owner_ids);
  }
}

}  // namespace diff
