// Values at the edge of what a field holds: integers outside the member's range, text
// measured in characters, NaN, and the in-memory matcher (cache/detail/match.hpp) checked
// against the real database on random UTF-8 text. Run per backend (one binary): test_values on
// SQLite, test_values_pg on PostgreSQL (support/database_url.hpp).

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>
#include <gocp/cache/detail/match.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "support/database_url.hpp"
#include "support/temp_dir.hpp"

namespace {

struct Item {
  std::int64_t id = 0;
  std::string name;
  int qty = 0;
  std::optional<int> maybe_qty;
  bool flag = false;
  std::uint8_t level = 0;
  double x = 0;
  std::optional<double> maybe_x;
};

struct Text {
  std::int64_t id = 0;
  std::string t;
  std::optional<std::string> s;
};

}  // namespace

template <>
struct gocp::model<Item> {
  static constexpr std::string_view name = "library.item";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Item::id, "id"), gocp::field(&Item::name, "name", gocp::max_length(5), gocp::unique),
      gocp::field(&Item::qty, "qty"), gocp::field(&Item::maybe_qty, "maybe_qty"), gocp::field(&Item::flag, "flag", gocp::default_value(false)),
      gocp::field(&Item::level, "level", gocp::default_value(0)), gocp::field(&Item::x, "x", gocp::default_value(0.0)), gocp::field(&Item::maybe_x, "maybe_x"));
};

template <>
struct gocp::model<Text> {
  static constexpr std::string_view name = "tests.text";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Text::id, "id"), gocp::field(&Text::t, "t"), gocp::field(&Text::s, "s"));
};

namespace {

using gocp::c;
constexpr std::int64_t two_32 = std::int64_t{1} << 32;

struct Fixture {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir));
  gocp::Repository<Item> items{db};
  Fixture() { items.create_table(); }
  bool on_sqlite() const { return db.dialect().name == "sqlite"; }
};

Item named(std::string name, int qty = 0) {
  Item item;
  item.name = std::move(name);
  item.qty = qty;
  return item;
}

template <class Ids>
std::set<std::int64_t> ids_of(const Ids& rows) {
  std::set<std::int64_t> out;
  for (const auto& r : rows) out.insert(r.id);
  return out;
}

}  // namespace

// ---- 1. integers never narrow -----------------------------------------------------------

TEST_CASE_METHOD(Fixture, "values: a write outside an integer field's range is a ValidationError naming the field",
                 "[values][integers]") {
  items.create(named("a", 1));
  using Catch::Matchers::Contains;
  SECTION("defaults of get_or_create") {
    CHECK_THROWS_WITH(items.get_or_create(c(&Item::name) == "b", gocp::defaults(c(&Item::qty) = 5'000'000'000LL)),
                      Contains("library.item.qty") && Contains("5000000000"));
    CHECK_THROWS_AS(items.get_or_create(c(&Item::name) == "b", gocp::defaults(c(&Item::qty) = 5'000'000'000LL)),
                    gocp::ValidationError);
    CHECK(items.filter(c(&Item::name) == "b").all().empty());
  }
  SECTION("a lookup's term copied into the created row") {
    CHECK_THROWS_AS(items.get_or_create(c(&Item::name) == "b" && c(&Item::qty) == two_32 + 7), gocp::ValidationError);
  }
  SECTION("update and update_or_create") {
    CHECK_THROWS_WITH(items.update(c(&Item::qty) = two_32 + 7), Contains("library.item.qty"));
    CHECK_THROWS_WITH(items.update(c(&Item::maybe_qty) = -two_32), Contains("library.item.maybe_qty"));
    CHECK_THROWS_AS(items.update_or_create(c(&Item::name) == "a", gocp::defaults(c(&Item::qty) = two_32)),
                    gocp::ValidationError);
    CHECK(items.get(c(&Item::name) == "a").qty == 1);
  }
  SECTION("a lazy default") {
    CHECK_THROWS_AS(items.get_or_create(c(&Item::name) == "b", gocp::defaults(c(&Item::qty) = [] { return two_32; })),
                    gocp::ValidationError);
  }
  SECTION("small unsigned types: both ends") {
    CHECK_THROWS_WITH(items.update(c(&Item::level) = 256), Contains("library.item.level"));
    CHECK_THROWS_AS(items.update(c(&Item::level) = -1), gocp::ValidationError);
    CHECK(items.update(c(&Item::level) = 255) == 1);
    CHECK(items.get(c(&Item::name) == "a").level == 255);
  }
  SECTION("the limits themselves are written") {
    CHECK(items.update(c(&Item::qty) = std::numeric_limits<int>::min()) == 1);
    CHECK(items.get(c(&Item::name) == "a").qty == std::numeric_limits<int>::min());
    auto [b, created] = items.get_or_create(c(&Item::name) == "b", gocp::defaults(c(&Item::qty) = 2147483647LL));
    CHECK(created);
    CHECK(b.qty == std::numeric_limits<int>::max());
  }
  SECTION("a uint64 above INT64_MAX is no value: a ValidationError naming the field") {
    const std::uint64_t huge = std::uint64_t{1} << 63;
    CHECK_THROWS_WITH(c(&Item::qty) == huge, Contains("library.item.qty"));
    CHECK_THROWS_AS(c(&Item::qty) = huge, gocp::ValidationError);
    CHECK_THROWS_AS(c(&Item::qty).in(std::vector<std::uint64_t>{1, huge}), gocp::ValidationError);
    CHECK(items.filter(c(&Item::qty) == std::uint64_t{1}).all().size() == 1);  // in range: an ordinary value
  }
}

TEST_CASE_METHOD(Fixture, "values: a lookup outside an integer field's range compares mathematically",
                 "[values][integers]") {
  const Item seven = items.create(named("seven", 7));
  const Item minus = items.create(named("minus", -3));
  const Item top = items.create(named("top", std::numeric_limits<int>::max()));
  const std::set<std::int64_t> all{seven.id, minus.id, top.id};
  const auto qty = c(&Item::qty);
  const std::vector<std::pair<std::string, std::pair<gocp::Expr<Item>, std::set<std::int64_t>>>> cases = {
      {"qty == 2^32+7", {qty == two_32 + 7, {}}},
      {"qty != 2^32+7", {qty != two_32 + 7, all}},
      {"qty < 2^40", {qty < (std::int64_t{1} << 40), all}},
      {"qty > -2^40", {qty > -(std::int64_t{1} << 40), all}},
      {"qty >= 2^32-1", {qty >= two_32 - 1, {}}},
      {"qty in (2^32+7, 7)", {qty.in(std::vector<std::int64_t>{two_32 + 7, 7}), {seven.id}}},
      {"qty == 2^32-3 (wraps to -3 if narrowed)", {qty == two_32 - 3, {}}},
      {"qty <= INT64_MIN", {qty <= std::numeric_limits<std::int64_t>::min(), {}}},
  };
  for (const auto& [name, expected] : cases) {
    INFO(name);
    CHECK(ids_of(items.filter(expected.first).all()) == expected.second);
    std::set<std::int64_t> from_memory;
    for (const Item& row : items.all())
      if (gocp::detail::matches(expected.first, row, db.dialect())) from_memory.insert(row.id);
    CHECK(from_memory == expected.second);
  }
}

TEST_CASE_METHOD(Fixture, "values: a stored integer the member cannot hold is a ValidationError naming the field",
                 "[values][integers]") {
  items.create(named("a", 1));
  using Catch::Matchers::Contains;
  SECTION("int") {
    db.execute("UPDATE library_item SET qty = 4294967297");
    CHECK_THROWS_WITH(items.all(), Contains("library.item.qty") && Contains("4294967297"));
    CHECK_THROWS_AS(items.get(c(&Item::name) == "a"), gocp::ValidationError);
  }
  SECTION("optional<int>") {
    db.execute("UPDATE library_item SET maybe_qty = -2147483649");
    CHECK_THROWS_WITH(items.all(), Contains("library.item.maybe_qty") && Contains("-2147483649"));
  }
  SECTION("bool: 2 is out of range") {
    db.execute("UPDATE library_item SET flag = 2");
    CHECK_THROWS_WITH(items.all(), Contains("library.item.flag") && Contains("2"));
  }
  SECTION("uint8: 256") {
    db.execute("UPDATE library_item SET level = 256");
    CHECK_THROWS_WITH(items.all(), Contains("library.item.level"));
  }
  SECTION("values in range read back") {
    db.execute("UPDATE library_item SET qty = -2147483648, flag = 1, level = 255");
    const Item a = items.get(c(&Item::name) == "a");
    CHECK(a.qty == std::numeric_limits<int>::min());
    CHECK(a.flag);
    CHECK(a.level == 255);
  }
}

// ---- 2. max_length counts characters ----------------------------------------------------

TEST_CASE_METHOD(Fixture, "values: max_length counts UTF-8 characters, not bytes", "[values][max_length]") {
  using Catch::Matchers::Contains;
  const std::string etes = "\xc3\xa9t\xc3\xa9s!";  // "étés!": 5 characters, 7 bytes
  CHECK(items.create(named(etes)).name == etes);
  CHECK(items.create(named("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xf0\x9f\x98\x80")).id != 0);  // 5, 16 bytes
  CHECK(items.create(named("abcde")).id != 0);
  CHECK_THROWS_WITH(items.create(named(etes + "x")), Contains("library.item.name") && Contains("6 characters"));
  CHECK_THROWS_AS(items.create(named("abcdef")), gocp::ValidationError);
  CHECK_THROWS_AS(items.update(c(&Item::name) = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
                  gocp::ValidationError);
  auto [found, created] = items.get_or_create(c(&Item::name) == etes);
  CHECK_FALSE(created);
  CHECK(found.name == etes);
}

// ---- 3. NaN -----------------------------------------------------------------------------

TEST_CASE_METHOD(Fixture, "values: NaN is refused where the backend would store NULL, kept where it is stored",
                 "[values][nan]") {
  using Catch::Matchers::Contains;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Item a = named("a");
  a.x = nan;
  Item b = named("b");
  b.maybe_x = nan;
  if (on_sqlite()) {
    CHECK_FALSE(db.dialect().stores_nan);
    CHECK_THROWS_WITH(items.create(a), Contains("library.item.x") && Contains("NaN"));
    CHECK_THROWS_WITH(items.create(b), Contains("library.item.maybe_x"));
    items.create(named("c"));
    CHECK_THROWS_AS(items.update(c(&Item::maybe_x) = nan), gocp::ValidationError);
    CHECK(items.get(c(&Item::name) == "c").maybe_x == std::nullopt);
    CHECK(items.create(named("inf")).x == 0);  // infinities are ordinary values
    CHECK(items.filter(c(&Item::name) == "inf").update(c(&Item::x) = std::numeric_limits<double>::infinity()) == 1);
  } else {
    CHECK(db.dialect().stores_nan);
    CHECK(std::isnan(items.create(a).x));
    CHECK(std::isnan(items.get(c(&Item::name) == "a").x));
    const Item stored_b = items.create(b);
    REQUIRE(stored_b.maybe_x.has_value());
    CHECK(std::isnan(*stored_b.maybe_x));
    REQUIRE(items.get(c(&Item::name) == "b").maybe_x.has_value());
    CHECK(std::isnan(*items.get(c(&Item::name) == "b").maybe_x));
  }
}

TEST_CASE_METHOD(Fixture, "values: -0.0 is refused where the backend would read back +0.0, kept where it is stored",
                 "[values][nan]") {
  using Catch::Matchers::Contains;
  Item a = named("a");
  a.x = -0.0;
  Item b = named("b");
  b.maybe_x = -0.0;
  if (on_sqlite()) {
    CHECK_FALSE(db.dialect().stores_negative_zero);
    CHECK_THROWS_WITH(items.create(a), Contains("library.item.x") && Contains("-0.0"));
    CHECK_THROWS_AS(items.create(b), gocp::ValidationError);
    CHECK(items.count() == 0);  // nothing was written
    items.create(named("c"));
    CHECK_THROWS_WITH(items.update(c(&Item::maybe_x) = -0.0), Contains("library.item.maybe_x"));
    CHECK(items.get(c(&Item::name) == "c").maybe_x == std::nullopt);
    CHECK(items.filter(c(&Item::name) == "c").update(c(&Item::x) = 0.0) == 1);  // +0.0 is an ordinary value
    CHECK_FALSE(std::signbit(items.get(c(&Item::name) == "c").x));
  } else {
    CHECK(db.dialect().stores_negative_zero);
    CHECK(std::signbit(items.create(a).x));
    CHECK(std::signbit(items.get(c(&Item::name) == "a").x));  // read back from the database: still -0.0
    items.create(b);
    REQUIRE(items.get(c(&Item::name) == "b").maybe_x.has_value());
    CHECK(std::signbit(*items.get(c(&Item::name) == "b").maybe_x));
    CHECK(items.filter(c(&Item::x) == 0.0).count() == 2);  // and equal to 0.0, as in C++
  }
}

// ---- 4. the in-memory matcher agrees with the database, or refuses to decide ----------

namespace {

/// Every verdict match.hpp claims (yes / no) for e on each row equals the database's;
/// returns how many it claimed.
std::size_t check_verdicts(const gocp::Repository<Text>& texts, const std::vector<Text>& rows,
                           const gocp::Expr<Text>& e, const gocp::Dialect& dialect, const std::string& what) {
  std::set<std::int64_t> from_sql;
  try {
    from_sql = ids_of(texts.filter(e).all());
  } catch (const gocp::DatabaseError&) {  // a pattern the database rejects: memory must not decide it
    for (const Text& row : rows) {
      INFO(what << " (rejected by the database) on row '" << row.t << "'");
      CHECK(gocp::detail::verdict(e, row, dialect) == gocp::detail::Truth::undecided);
    }
    return 0;
  }
  std::size_t claimed = 0;
  for (const Text& row : rows) {
    const auto v = gocp::detail::verdict(e, row, dialect);
    if (v != gocp::detail::Truth::yes && v != gocp::detail::Truth::no) continue;
    ++claimed;
    INFO(what << " on row '" << row.t << "' / '" << row.s.value_or("<NULL>") << "': memory says "
              << (v == gocp::detail::Truth::yes ? "yes" : "no"));
    CHECK((v == gocp::detail::Truth::yes) == (from_sql.count(row.id) == 1));
  }
  return claimed;
}

}  // namespace

TEST_CASE("matches: random UTF-8 text and patterns: every verdict memory claims is the database's",
          "[values][matches]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(gocp::test::database_url(dir));
  const bool sqlite = db.dialect().name == "sqlite";
  gocp::Repository<Text> texts{db};
  if (sqlite) {
    texts.create_table();
  } else {
    // A collation that is not bytewise ("a" < "B"), when the server has ICU: memory
    // must not decide text order there. Falls back to the database's own collation.
    try {
      db.execute(R"(CREATE TABLE "tests_text" ("id" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, )"
                 R"("t" TEXT COLLATE "und-x-icu" NOT NULL, "s" TEXT COLLATE "und-x-icu"))");
    } catch (const gocp::Error&) {
      texts.create_table();
    }
  }
  const std::vector<std::string> pieces = {"a", "b", "A", "B", "z", "%", "_", "\\", " ",
                                     "\xc3\xa9",          // é
                                     "\xc3\x89",          // É
                                     "\xc3\x9f",          // ß
                                     "\xe2\x82\xac",      // €
                                     "\xf0\x9f\x98\x80",  // an emoji: 4 bytes
                                     "\xc2\x80",          // U+0080
                                     "\xef\xbf\xbd"};     // U+FFFD
  // Bytes that are not UTF-8 (and U+FFFE): SQLite stores them, PostgreSQL refuses them.
  const std::vector<std::string> bad = {"\x80", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xff", "\xef\xbf\xbe",
                                        "\xf4\x90\x80\x80"};
  std::mt19937 rng(20261201);
  auto random_text = [&](std::size_t max_pieces) {
    std::string out;
    for (std::size_t k = rng() % (max_pieces + 1); k > 0; --k)
      out += sqlite && rng() % 12 == 0 ? bad[rng() % bad.size()] : pieces[rng() % pieces.size()];
    return out;
  };
  for (int i = 0; i < 60; ++i) {
    Text row;
    row.t = random_text(5);
    if (rng() % 4) row.s = random_text(3);
    texts.create(row);
  }
  const std::vector<Text> rows = texts.all();
  REQUIRE(rows.size() == 60);
  const auto t = c(&Text::t);
  const auto s = c(&Text::s);
  std::size_t claimed = 0, asked = 0;
  for (int i = 0; i < 400; ++i) {
    const std::string p = random_text(4), q = random_text(2);
    std::vector<std::pair<std::string, gocp::Expr<Text>>> exprs = {
        {"t like '" + p + "'", t.like(p)},
        {"s like '" + p + "'", s.like(p)},
        {"t startswith '" + q + "'", t.startswith(q)},
        {"t endswith '" + q + "'", t.endswith(q)},
        {"s contains '" + q + "'", s.contains(q)},
        {"t == '" + q + "'", t == q},
        {"s != '" + q + "'", s != q},
        {"t < '" + q + "'", t < q},
        {"s >= '" + q + "'", s >= q},
        {"t in ('" + p + "', '" + q + "')", t.in(std::vector<std::string>{p, q})},
    };
    const auto& [name, e] = exprs[static_cast<std::size_t>(i) % exprs.size()];
    const auto& [name2, e2] = exprs[rng() % exprs.size()];
    for (const auto& [what, expr] :
         {std::pair<std::string, gocp::Expr<Text>>{name, e}, {"!(" + name + ")", !e},
          {name + " && " + name2, e && e2}, {"!(" + name + " || " + name2 + ")", !(e || e2)}}) {
      claimed += check_verdicts(texts, rows, expr, db.dialect(), what);
      asked += rows.size();
    }
  }
  INFO("memory decided " << claimed << " of " << asked << " verdicts");
  CHECK(claimed * 2 > asked);  // refusing everything would be correct, and useless
}

TEST_CASE("matches: text order is decided in memory only where the backend orders bytewise", "[values][matches]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(gocp::test::database_url(dir));
  Text row;
  row.t = "B";
  const auto t = c(&Text::t);
  using gocp::detail::Truth;
  using gocp::detail::verdict;
  const Truth expected_order = db.dialect().bytewise_text_order ? Truth::yes : Truth::undecided;
  CHECK(verdict(t < "a", row, db.dialect()) == expected_order);
  CHECK(verdict(t >= "C", row, db.dialect()) == (db.dialect().bytewise_text_order ? Truth::no : Truth::undecided));
  CHECK(verdict(t <= "B", row, db.dialect()) == Truth::yes);  // equal is equal under every collation
  CHECK(verdict(t == "b", row, db.dialect()) == Truth::no);   // equality is bytewise everywhere
  CHECK(verdict(t != "b", row, db.dialect()) == Truth::yes);
  CHECK(verdict(!(t < "a"), row, db.dialect()) ==
        (db.dialect().bytewise_text_order ? Truth::no : Truth::undecided));  // NOT of undecided stays undecided
}
