// Field types beyond numbers and text (timestamps, dates, bytes, enums, a user type
// mapped by gocp::field_traits), atomic increments (`c(&M::n) += 1`, Django's F()) and
// auto_now / auto_now_add. Each type round-trips exactly through the database and the
// cache codec, and the in-memory matcher agrees with the database on every comparison.
// Run per backend (one binary): test_fields on SQLite, test_fields_pg on PostgreSQL.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>
#include <gocp/cache/codec.hpp>
#include <gocp/cache/detail/match.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/database_url.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace std::chrono;
using std::chrono::sys_days;

enum class Plan { free, pro, team };
enum class Level : std::int8_t { low = -1, mid = 0, high = 100 };

/// A user type, stored as text through gocp::field_traits.
struct Email {
  std::string address;
  friend bool operator==(const Email&, const Email&) = default;
};

using Bytes = std::vector<std::byte>;

struct Account {
  std::int64_t id = 0;
  std::string name;
  system_clock::time_point expires_at{};  // nanoseconds on libstdc++: writes must be whole microseconds
  std::optional<gocp::Timestamp> last_seen;
  sys_days born{};
  std::optional<year_month_day> renewal;
  Bytes avatar;
  std::optional<Bytes> key;
  Plan plan = Plan::free;    // by name
  Level level = Level::mid;  // by its integer
  std::optional<Plan> old_plan;
  Email email;
  std::optional<Email> backup_email;
  friend bool operator==(const Account&, const Account&) = default;
};

struct Counter {
  std::int64_t id = 0;
  std::string name;
  std::int64_t hits = 0;
  std::int8_t small = 0;
  std::uint16_t unsigned_small = 0;
  std::optional<int> maybe = std::nullopt;
  double weight = 0;
  gocp::Timestamp created_at{};
  gocp::Timestamp updated_at{};
};

}  // namespace

template <>
struct gocp::enum_names<Plan> {
  static constexpr std::pair<Plan, std::string_view> values[] = {
      {Plan::free, "free"}, {Plan::pro, "pro"}, {Plan::team, "team"}};
};

template <>
struct gocp::field_traits<Email> {
  using storage = std::string;
  static std::string to_storage(const Email& e) {
    if (e.address.find('@') == std::string::npos) throw gocp::ValidationError("'" + e.address + "' is not an address");
    return e.address;
  }
  static Email from_storage(std::string s) { return Email{std::move(s)}; }
};

template <>
struct gocp::model<Account> {
  static constexpr std::string_view name = "tests.account";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Account::id, "id"), gocp::field(&Account::name, "name", gocp::unique),
      gocp::field(&Account::expires_at, "expires_at"), gocp::field(&Account::last_seen, "last_seen"),
      gocp::field(&Account::born, "born"), gocp::field(&Account::renewal, "renewal"),
      gocp::field(&Account::avatar, "avatar"), gocp::field(&Account::key, "key"),
      gocp::field(&Account::plan, "plan", gocp::default_value(Plan::pro)), gocp::field(&Account::level, "level"),
      gocp::field(&Account::old_plan, "old_plan"), gocp::field(&Account::email, "email"),
      gocp::field(&Account::backup_email, "backup_email"));
};

template <>
struct gocp::model<Counter> {
  static constexpr std::string_view name = "tests.counter";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Counter::id, "id"), gocp::field(&Counter::name, "name", gocp::unique),
      gocp::field(&Counter::hits, "hits"), gocp::field(&Counter::small, "small"),
      gocp::field(&Counter::unsigned_small, "unsigned_small"), gocp::field(&Counter::maybe, "maybe"),
      gocp::field(&Counter::weight, "weight"), gocp::field(&Counter::created_at, "created_at", gocp::auto_now_add),
      gocp::field(&Counter::updated_at, "updated_at", gocp::auto_now));
};

namespace {

using gocp::c;
using Catch::Matchers::Contains;
using gocp::test::error_of;

struct Fixture {
  gocp::test::TempDir dir;
  std::string url = gocp::test::database_url(dir);
  gocp::Database db = gocp::Database::open(url);
  gocp::Repository<Account> accounts{db};
  gocp::Repository<Counter> counters{db};
  Fixture() {
    accounts.create_table();
    counters.create_table();
  }
  bool on_sqlite() const { return db.dialect().name == "sqlite"; }

  /// The single text (or integer, as text) a raw query returns.
  std::string scalar(const std::string& sql) const {
    std::string out;
    db.with_connection([&](gocp::Connection& conn) {
      conn.query(sql, {}, [&](const gocp::Row& row) {
        out = row.is_null(0) ? "NULL" : std::string(row.text(0));
        return false;
      });
    });
    return out;
  }
};

Bytes bytes(std::initializer_list<int> v) {
  Bytes out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

constexpr auto us(std::int64_t n) { return microseconds{n}; }

Account sample(std::string name) {
  Account a;
  a.name = std::move(name);
  a.expires_at = system_clock::time_point{} + us(1'733'097'281'123'456);
  a.last_seen = gocp::Timestamp{us(-1)};  // 1969-12-31T23:59:59.999999Z: before the epoch
  a.born = sys_days{1969y / December / 31};
  a.renewal = 2024y / February / 29;
  a.avatar = bytes({0, 1, 0xff, 0x80, 0, 'x'});  // NULs and high bytes
  a.key = Bytes{};                             // empty, which is not NULL
  a.plan = Plan::team;
  a.level = Level::low;
  a.old_plan = std::nullopt;
  a.email = Email{"leo@example.org"};
  a.backup_email = Email{"lev@example.org"};
  return a;
}

}  // namespace

// ---- 1. each type round-trips exactly ------------------------------------------------

TEST_CASE_METHOD(Fixture, "fields: every type round-trips exactly through the database and the cache codec",
                 "[fields]") {
  Account a = sample("a");
  Account b = sample("b");
  b.last_seen = gocp::Timestamp{us(gocp::detail::kMinMicros)};  // 0001-01-01T00:00:00Z
  b.born = sys_days{9999y / December / 31};
  b.renewal = std::nullopt;
  b.key = std::nullopt;
  b.backup_email = std::nullopt;
  b.old_plan = Plan::free;
  Bytes all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::byte>(i));
  b.avatar = all;
  // nanosecond members hold at most the year 2262: the latest whole microsecond they can
  b.expires_at = time_point_cast<nanoseconds>(floor<microseconds>(system_clock::time_point::max()));
  for (const Account& original : {a, b}) {
    const Account created = accounts.create(original);
    Account expected = original;
    expected.id = created.id;
    CHECK(created == expected);                                       // RETURNING read back
    CHECK(accounts.get(c(&Account::id) == created.id) == expected);  // SELECT read back
    const std::string entry = gocp::codec::encode_object(created, 7);
    const auto decoded = gocp::codec::decode_object<Account>(entry);
    REQUIRE(decoded);
    CHECK(decoded->first == expected);
    CHECK(decoded->second == 7);
  }
  // every value is a lookup that finds its own row
  const Account stored = accounts.get(c(&Account::name) == "a");
  CHECK(accounts.filter(c(&Account::expires_at) == stored.expires_at && c(&Account::born) == stored.born &&
                        c(&Account::avatar) == stored.avatar && c(&Account::key) == stored.key &&
                        c(&Account::plan) == Plan::team && c(&Account::level) == Level::low &&
                        c(&Account::email) == Email{"leo@example.org"} && c(&Account::renewal) == 2024y / February / 29)
            .count() == 1);
  CHECK(accounts.filter(c(&Account::key) == Bytes{}).count() == 1);  // the empty key, not the NULL one
  CHECK(accounts.filter(c(&Account::key).is_null()).count() == 1);
}

TEST_CASE_METHOD(Fixture, "fields: the column types are the backend's own, and hold what the README says",
                 "[fields]") {
  accounts.create(sample("a"));
  if (on_sqlite()) {
    CHECK(scalar("SELECT typeof(expires_at) || typeof(born) || typeof(avatar) || typeof(plan) || typeof(level) "
                 "FROM tests_account") == "integerintegerblobtextinteger");
    CHECK(scalar("SELECT expires_at FROM tests_account") == "1733097281123456");  // microseconds since 1970
    CHECK(scalar("SELECT born FROM tests_account") == "-1");                      // days since 1970
    CHECK(scalar("SELECT hex(avatar) FROM tests_account") == "0001FF800078");
  } else {
    CHECK(scalar("SELECT string_agg(data_type, ',' ORDER BY ordinal_position) FROM information_schema.columns "
                 "WHERE table_name = 'tests_account' AND column_name IN ('expires_at', 'born', 'avatar', 'plan')") ==
          "timestamp with time zone,date,bytea,text");
    CHECK(scalar("SELECT (expires_at AT TIME ZONE 'UTC')::text FROM tests_account") == "2024-12-01 23:54:41.123456");
    CHECK(scalar("SELECT born::text FROM tests_account") == "1969-12-31");
    CHECK(scalar("SELECT encode(avatar, 'hex') FROM tests_account") == "0001ff800078");
    // read back the same in any session time zone
    auto kolkata = gocp::Database::open(url, gocp::OpenOptions{.on_connect = [](gocp::Connection& conn) {
                                          conn.execute("SET TIME ZONE 'Asia/Kolkata'");
                                        }});
    CHECK(gocp::Repository<Account>{kolkata}.get(c(&Account::name) == "a").expires_at == sample("a").expires_at);
  }
  CHECK(scalar("SELECT plan FROM tests_account") == "team");
}

// ---- 2. what gocp cannot store is refused, naming the field --------------------------

TEST_CASE_METHOD(Fixture, "fields: values gocp cannot store exactly are refused, never narrowed", "[fields]") {
  SECTION("a time finer than a microsecond") {
    Account a = sample("a");
    a.expires_at += nanoseconds{1};
    const std::string what = error_of<gocp::ValidationError>([&] { accounts.create(a); });
    CHECK_THAT(what, Contains("tests.account.expires_at") && Contains("microsecond") && Contains("floor"));
    CHECK(accounts.count() == 0);
    accounts.create(sample("a"));
    CHECK_THROWS_AS(accounts.update(c(&Account::expires_at) = system_clock::time_point{} + nanoseconds{1500}),
                    gocp::ValidationError);
    // a gocp::Timestamp member given system_clock::now(): the advice fits the member it already is
    const std::string for_timestamp = error_of<gocp::ValidationError>(
        [&] { accounts.update(c(&Account::last_seen) = system_clock::time_point{} + nanoseconds{1500}); });
    CHECK_THAT(for_timestamp, Contains("tests.account.last_seen") &&
                                  Contains("std::chrono::floor<std::chrono::microseconds>(t)") &&
                                  !Contains("declare the member as gocp::Timestamp"));
    CHECK(accounts.filter(c(&Account::last_seen) == gocp::Timestamp{us(-1)}).count() == 1);  // nothing was written
    accounts.update(c(&Account::last_seen) = floor<microseconds>(system_clock::time_point{} + nanoseconds{1500}));
    CHECK(accounts.filter(c(&Account::last_seen) == gocp::Timestamp{us(1)}).count() == 1);  // as advised, it is stored
  }
  SECTION("years outside 1 to 9999, an invalid date") {
    CHECK_THAT(error_of<gocp::ValidationError>([&] { accounts.update(c(&Account::born) = sys_days{10000y / 1 / 1}); }),
               Contains("tests.account.born") && Contains("years 1 to 9999"));
    CHECK_THROWS_AS(accounts.update(c(&Account::last_seen) = gocp::Timestamp{us(gocp::detail::kMinMicros - 1)}),
                    gocp::ValidationError);
    CHECK_THAT(error_of<gocp::ValidationError>([&] { accounts.update(c(&Account::renewal) = 2023y / February / 29); }),
               Contains("tests.account.renewal") && Contains("not a valid date"));
  }
  SECTION("a nanosecond member cannot hold a stored time after 2262") {
    accounts.create(sample("a"));
    db.execute(on_sqlite() ? "UPDATE tests_account SET expires_at = 253402300799999999"
                           : "UPDATE tests_account SET expires_at = '9999-12-31 23:59:59.999999+00'");
    CHECK_THAT(error_of<gocp::ValidationError>([&] { accounts.all(); }),
               Contains("tests.account.expires_at") && Contains("range of the member's type"));
  }
  SECTION("a stored time that is not gocp's, read") {
    accounts.create(sample("a"));
    if (on_sqlite()) {
      db.execute("UPDATE tests_account SET expires_at = '2024-01-01 00:00:00'");  // another program's text
      CHECK_THAT(error_of<gocp::DatabaseError>([&] { accounts.all(); }),
                 Contains("expires_at") && Contains("2024-01-01 00:00:00") && Contains("microseconds since 1970"));
    } else {
      db.execute("UPDATE tests_account SET expires_at = 'infinity'");
      CHECK_THAT(error_of<gocp::DatabaseError>([&] { accounts.all(); }),
                 Contains("expires_at") && Contains("infinity"));
    }
  }
  SECTION("an enum value without a name, and a stored name gocp does not know") {
    Account a = sample("a");
    a.plan = static_cast<Plan>(42);
    CHECK_THAT(error_of<gocp::ValidationError>([&] { accounts.create(a); }),
               Contains("tests.account.plan") && Contains("42"));
    accounts.create(sample("b"));
    db.execute("UPDATE tests_account SET plan = 'gold'");
    CHECK_THAT(error_of<gocp::ValidationError>([&] { accounts.all(); }),
               Contains("tests.account.plan") && Contains("'gold'"));
  }
  SECTION("a mapped type's own refusal names the field") {
    Account a = sample("a");
    a.email = Email{"nobody"};
    CHECK_THAT(error_of<gocp::ValidationError>([&] { accounts.create(a); }),
               Contains("tests.account.email") && Contains("'nobody' is not an address"));
  }
}

TEST_CASE_METHOD(Fixture, "fields: a comparison with a time between two microseconds stays exact", "[fields]") {
  const Account a = accounts.create(sample("a"));  // expires_at ends in ...123456 microseconds
  const auto t = a.expires_at;
  const auto between = t + nanoseconds{500};  // after t, before the next microsecond
  CHECK(accounts.filter(c(&Account::expires_at) < between).count() == 1);
  CHECK(accounts.filter(c(&Account::expires_at) <= between).count() == 1);
  CHECK(accounts.filter(c(&Account::expires_at) > between).count() == 0);
  CHECK(accounts.filter(c(&Account::expires_at) >= between).count() == 0);
  CHECK(accounts.filter(c(&Account::expires_at) == between).count() == 0);
  CHECK(accounts.filter(c(&Account::expires_at) != between).count() == 1);
  CHECK(accounts.exclude(c(&Account::expires_at) != between).count() == 0);
  CHECK(accounts.filter(c(&Account::expires_at) > t - nanoseconds{1}).count() == 1);
  CHECK(accounts.filter(c(&Account::expires_at).in(std::vector{between, t})).count() == 1);
  CHECK(accounts.filter(c(&Account::expires_at) < system_clock::now()).count() == 1);  // 2024 is past
}

// ---- 3. the in-memory matcher agrees with the database ---------------------------------

TEST_CASE_METHOD(Fixture, "fields: matches() agrees with the database on every comparison of the new types",
                 "[fields][match]") {
  std::mt19937_64 rng(20261201);
  auto pick = [&](auto... v) {
    using T = std::common_type_t<decltype(v)...>;
    const T options[] = {v...};
    return options[rng() % sizeof...(v)];
  };
  const std::int64_t base = 1'733'097'281'000'000;
  std::vector<Account> rows;
  for (int i = 0; i < 24; ++i) {
    Account a = sample("r" + std::to_string(i));
    a.expires_at = system_clock::time_point{} + us(base + pick(-1, 0, 1, 1'000'000, -86'400'000'000LL));
    a.last_seen = pick(std::optional<gocp::Timestamp>{}, std::optional{gocp::Timestamp{us(base)}},
                       std::optional{gocp::Timestamp{us(-5)}});
    a.born = sys_days{days{pick(-1, 0, 1, 20000)}};
    a.avatar = pick(bytes({}), bytes({0}), bytes({0, 0}), bytes({0xff}), bytes({1, 2}), bytes({0x7f, 0x80}));
    a.key = pick(std::optional<Bytes>{}, std::optional{bytes({})}, std::optional{bytes({0x80})});
    a.level = pick(Level::low, Level::mid, Level::high);
    a.plan = pick(Plan::free, Plan::pro, Plan::team);
    rows.push_back(accounts.create(a));
  }
  std::vector<gocp::Expr<Account>> probes;
  auto add_all = [&](auto col, const auto& v) {
    probes.push_back(col == v);
    probes.push_back(col != v);
    probes.push_back(col < v);
    probes.push_back(col <= v);
    probes.push_back(col > v);
    probes.push_back(col >= v);
  };
  for (std::int64_t d : {-1, 0, 1, 1'000'000}) add_all(c(&Account::expires_at), system_clock::time_point{} + us(base + d));
  add_all(c(&Account::expires_at), system_clock::time_point{} + us(base) + nanoseconds{1});
  add_all(c(&Account::last_seen), gocp::Timestamp{us(base)});
  add_all(c(&Account::born), sys_days{days{0}});
  add_all(c(&Account::born), year_month_day{sys_days{days{1}}});
  for (const Bytes& b : {bytes({}), bytes({0}), bytes({0x7f}), bytes({0x80}), bytes({0xff, 0})}) {
    add_all(c(&Account::avatar), b);
    add_all(c(&Account::key), b);
  }
  add_all(c(&Account::level), Level::mid);
  add_all(c(&Account::plan), Plan::pro);  // text order: the database's collation on PostgreSQL
  probes.push_back(c(&Account::last_seen) == std::nullopt);
  probes.push_back(!(c(&Account::key) == bytes({})));
  std::size_t decided = 0;
  for (const auto& probe : probes) {
    std::set<std::int64_t> in_db;
    for (const Account& a : accounts.filter(probe).all()) in_db.insert(a.id);
    for (const Account& a : rows) {
      const auto truth = gocp::detail::verdict(probe, a, db.dialect());
      if (truth == gocp::detail::Truth::undecided) continue;
      ++decided;
      INFO("row " << a.name);
      CHECK((truth == gocp::detail::Truth::yes) == (in_db.count(a.id) == 1));
    }
  }
  CHECK(decided > probes.size() * rows.size() * 8 / 10);  // memory decides nearly everything
}

// ---- 4. atomic increments (Django's F()) -----------------------------------------------

TEST_CASE_METHOD(Fixture, "fields: += and -= are computed by the database and reported with before and after",
                 "[fields][increment]") {
  const Counter a = counters.get_or_create(c(&Counter::name) == "a").first;
  counters.get_or_create(c(&Counter::name) == "b", gocp::defaults(c(&Counter::hits) = 10));
  std::vector<gocp::RowChange> seen;
  auto sub = db.changes().subscribe("tests_counter", [&](const gocp::RowChange& change) { seen.push_back(change); });
  CHECK(counters.filter(c(&Counter::name) == "a").update(c(&Counter::hits) += 5) == 1);
  CHECK(counters.update(c(&Counter::hits) -= 2, c(&Counter::weight) += 0.5) == 2);
  CHECK(counters.get(c(&Counter::name) == "a").hits == 3);
  CHECK(counters.get(c(&Counter::name) == "b").hits == 8);
  CHECK(counters.get(c(&Counter::name) == "b").weight == 1.0 / 2);
  REQUIRE(seen.size() == 3);
  const std::size_t hits = 2;
  CHECK(seen[0].pk == gocp::Value{a.id});
  REQUIRE(seen[0].before);  // an update of increments only: the row before is known exactly
  CHECK((*seen[0].before)[hits] == gocp::Value{std::int64_t{0}});
  CHECK((*seen[0].after)[hits] == gocp::Value{std::int64_t{5}});
  const gocp::RowChange& second = seen[1].pk == gocp::Value{a.id} ? seen[1] : seen[2];  // rows in any order
  CHECK(!second.before);  // a double's increment cannot be undone exactly: unknown, as a bulk update's
  CHECK((*second.after)[hits] == gocp::Value{std::int64_t{3}});

  SECTION("NULL stays NULL, as NULL + 1 in SQL") {
    counters.update(c(&Counter::maybe) += 1);
    CHECK(!counters.get(c(&Counter::name) == "a").maybe);
    counters.update(c(&Counter::maybe) = 1);
    counters.update(c(&Counter::maybe) += 1);
    CHECK(counters.get(c(&Counter::name) == "a").maybe == 2);
  }
  SECTION("update_or_create's defaults: the updated object holds the database's new value") {
    auto [got, created] = counters.update_or_create(c(&Counter::name) == "a", gocp::defaults(c(&Counter::hits) += 1));
    CHECK(!created);
    CHECK(got.hits == 4);
    CHECK(counters.get(c(&Counter::name) == "a").hits == 4);
    // a create adds to the new object's value (its default, 0)
    auto [made, made_created] =
        counters.update_or_create(c(&Counter::name) == "c", gocp::defaults(c(&Counter::hits) += 1));
    CHECK(made_created);
    CHECK(made.hits == 1);
    auto [goc, goc_created] = counters.get_or_create(c(&Counter::name) == "d", gocp::defaults(c(&Counter::small) -= 3));
    CHECK(goc_created);
    CHECK(goc.small == -3);
  }
}

TEST_CASE_METHOD(Fixture, "fields: an increment past the member's range is a ValidationError and changes no row",
                 "[fields][increment]") {
  counters.get_or_create(c(&Counter::name) == "a", gocp::defaults(c(&Counter::small) = 120, c(&Counter::hits) = 1));
  counters.get_or_create(c(&Counter::name) == "b", gocp::defaults(c(&Counter::small) = 0));
  CHECK(counters.update(c(&Counter::small) += 7) == 2);  // 127: the limit itself is fine
  const std::string what = error_of<gocp::ValidationError>([&] { counters.update(c(&Counter::small) += 1); });
  CHECK_THAT(what, Contains("tests.counter.small") && Contains("[-128, 127]") && Contains("no row was changed"));
  CHECK(counters.get(c(&Counter::name) == "a").small == 127);
  CHECK(counters.get(c(&Counter::name) == "b").small == 7);  // the statement failed as a whole
  CHECK_THROWS_AS(counters.update(c(&Counter::unsigned_small) -= 1), gocp::ValidationError);
  CHECK(counters.update(c(&Counter::unsigned_small) += 65535) == 2);
  CHECK_THROWS_AS(counters.update(c(&Counter::unsigned_small) += 1), gocp::ValidationError);
  // 64 bits: the guard, not an overflow (SQLite would make it a REAL, PostgreSQL an error)
  counters.update(c(&Counter::hits) = std::numeric_limits<std::int64_t>::max() - 1);
  CHECK(counters.update(c(&Counter::hits) += 1) == 2);
  CHECK_THROWS_AS(counters.update(c(&Counter::hits) += 1), gocp::ValidationError);
  CHECK(counters.get(c(&Counter::name) == "a").hits == std::numeric_limits<std::int64_t>::max());
  CHECK(counters.update(c(&Counter::hits) += std::numeric_limits<std::int64_t>::min()) == 2);  // -1
  CHECK(counters.update(c(&Counter::hits) -= std::numeric_limits<std::int64_t>::max()) == 2);  // INT64_MIN
  CHECK(counters.get(c(&Counter::name) == "a").hits == std::numeric_limits<std::int64_t>::min());
  CHECK_THROWS_AS(counters.update(c(&Counter::hits) -= 1), gocp::ValidationError);
  CHECK_THROWS_AS(counters.update(c(&Counter::hits) += std::numeric_limits<std::int64_t>::min()), gocp::ValidationError);
  CHECK_THROWS_AS(c(&Counter::hits) -= std::numeric_limits<std::int64_t>::min(), gocp::ValidationError);
  // inside a transaction, the error leaves the transaction usable
  db.atomic([&] {
    CHECK_THROWS_AS(counters.update(c(&Counter::small) += 1), gocp::ValidationError);
    CHECK(counters.update(c(&Counter::small) -= 1) == 2);
    return 0;
  });
  CHECK(counters.get(c(&Counter::name) == "a").small == 126);
  CHECK(counters.update(c(&Counter::small) += 1) == 2);
  CHECK(counters.get(c(&Counter::name) == "a").small == 127);
}

TEST_CASE_METHOD(Fixture, "fields: concurrent increments from threads all count", "[fields][increment][concurrency]") {
  counters.get_or_create(c(&Counter::name) == "a");
  constexpr int threads = 4, each = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        gocp::Repository<Counter> mine{db};
        for (int i = 0; i < each; ++i) {
          if (i % 2 == 0) mine.filter(c(&Counter::name) == "a").update(c(&Counter::hits) += 1);
          else mine.update_or_create(c(&Counter::name) == "a", gocp::defaults(c(&Counter::hits) += 1));
        }
        // each thread also counts into its own row, created by the first increment
        for (int i = 0; i < each; ++i)
          mine.update_or_create(c(&Counter::name) == "t" + std::to_string(t), gocp::defaults(c(&Counter::hits) += 1));
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& th : pool) th.join();
  CHECK(failures == 0);
  CHECK(counters.get(c(&Counter::name) == "a").hits == threads * each);
  for (int t = 0; t < threads; ++t) CHECK(counters.get(c(&Counter::name) == "t" + std::to_string(t)).hits == each);
}

// ---- 5. auto_now / auto_now_add ------------------------------------------------------

TEST_CASE_METHOD(Fixture, "fields: auto_now_add is set on create, auto_now on every create and save", "[fields][auto_now]") {
  const auto before = floor<microseconds>(system_clock::now());
  Counter given;
  given.name = "a";
  given.created_at = gocp::Timestamp{us(1)};  // overridden, as Django's pre_save does
  Counter a = counters.create(given);
  const auto after = floor<microseconds>(system_clock::now());
  CHECK(a.created_at >= before);
  CHECK(a.created_at <= after);
  CHECK(a.updated_at == a.created_at);  // one clock reading per write
  CHECK(counters.get(c(&Counter::id) == a.id).created_at == a.created_at);

  std::this_thread::sleep_for(milliseconds(2));
  a.hits = 3;
  counters.save(a);
  const Counter saved = counters.get(c(&Counter::id) == a.id);
  CHECK(saved.created_at == a.created_at);  // auto_now_add: kept
  CHECK(saved.updated_at > a.created_at);   // auto_now: the save's time
  CHECK(saved.hits == 3);
  CHECK(a.updated_at == saved.updated_at);  // save() leaves the object as stored

  std::this_thread::sleep_for(milliseconds(2));
  auto [updated, created] = counters.update_or_create(c(&Counter::name) == "a", gocp::defaults(c(&Counter::hits) = 4));
  CHECK(!created);
  CHECK(updated.updated_at > saved.updated_at);
  CHECK(counters.get(c(&Counter::id) == a.id).updated_at == updated.updated_at);

  // a bulk update() leaves them alone, as Django's QuerySet.update()
  counters.update(c(&Counter::hits) += 1);
  CHECK(counters.get(c(&Counter::id) == a.id).updated_at == updated.updated_at);

  auto [b, b_created] = counters.get_or_create(c(&Counter::name) == "b");
  CHECK(b_created);
  CHECK(b.created_at >= updated.updated_at);
}

// ---- 6. through a cache ----------------------------------------------------------------

TEST_CASE_METHOD(Fixture, "fields: a cached get_or_create on the new types answers as the database does",
                 "[fields][cache]") {
  gocp::CacheRegistry caches{{"default", "locmem:///fields-default"}, {"tests.account", "locmem:///fields-accounts"}};
  gocp::Repository<Account, gocp::CachedGetOrCreate> cached{db, caches};
  const Account a = sample("a");
  auto lookup = [&] {
    return c(&Account::name) == "a" && c(&Account::avatar) == a.avatar && c(&Account::plan) == Plan::team &&
           c(&Account::born) == a.born && c(&Account::expires_at) == a.expires_at;
  };
  auto [first, created] = cached.get_or_create(lookup(), gocp::defaults(c(&Account::last_seen) = *a.last_seen,
                                                                       c(&Account::email) = a.email));
  CHECK(created);
  CHECK(first.avatar == a.avatar);
  auto [again, created_again] = cached.get_or_create(lookup());
  CHECK(!created_again);
  CHECK(again == first);
  CHECK(cached.stats().hits >= 1);  // served from the cache, equal to the row
  // a write of a new value invalidates: the next answer is the database's
  cached.update(c(&Account::avatar) = bytes({9}));
  auto [after, created_after] = cached.get_or_create(c(&Account::name) == "a");
  CHECK(!created_after);
  CHECK(after.avatar == bytes({9}));
}

// ---- 7. the schema check and sync_schema know the new types ---------------------------

namespace {
struct MemberV1 {
  std::int64_t id = 0;
  std::string name;
};
struct MemberV2 {
  std::int64_t id = 0;
  std::string name;
  gocp::Timestamp joined{us(86'400'000'001)};  // 1970-01-02T00:00:00.000001Z for the rows already there
  sys_days born{sys_days{1990y / 1 / 2}};
  Bytes token = bytes({0, 0xfe});
  Plan plan = Plan::pro;
};
}  // namespace

template <>
struct gocp::model<MemberV1> {
  static constexpr std::string_view name = "tests.member";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&MemberV1::id, "id"), gocp::field(&MemberV1::name, "name", gocp::unique));
};
template <>
struct gocp::model<MemberV2> {
  static constexpr std::string_view name = "tests.member";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&MemberV2::id, "id"), gocp::field(&MemberV2::name, "name", gocp::unique),
      gocp::field(&MemberV2::joined, "joined"), gocp::field(&MemberV2::born, "born"),
      gocp::field(&MemberV2::token, "token"), gocp::field(&MemberV2::plan, "plan"));
};

TEST_CASE_METHOD(Fixture, "fields: sync_schema adds columns of the new types with the model's defaults", "[fields][schema]") {
  gocp::Repository<MemberV1> v1{db};
  v1.create_table();
  v1.create(MemberV1{0, "old"});
  gocp::Repository<MemberV2> v2{db};
  CHECK_THROWS_AS(v2.all(), gocp::ConfigurationError);  // the table lacks the columns
  const auto changes = v2.sync_schema();
  CHECK(changes.added_columns.size() == 4);
  const MemberV2 old = v2.get(c(&MemberV2::name) == "old");
  const MemberV2 defaults;
  CHECK(old.joined == defaults.joined);
  CHECK(old.born == defaults.born);
  CHECK(old.token == defaults.token);
  CHECK(old.plan == Plan::pro);
  CHECK(v2.sync_schema().added_columns.empty());  // the check now accepts the table
  CHECK(v2.filter(c(&MemberV2::token) == bytes({0, 0xfe})).count() == 1);
}
