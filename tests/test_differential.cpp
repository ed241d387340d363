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

}  // namespace diff
