// The SQLite backend against real database files: URL handling, WAL, exact value
// round-trips, transactions and savepoints, on_commit, error classification and the
// connection pool.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <latch>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "support/error_of.hpp"
#include "support/processes.hpp"
#include "support/temp_dir.hpp"

namespace {

struct Sample {
  std::int64_t id = 0;
  std::string key;
  std::string text;  // required: NOT NULL, no default_value
  std::int64_t number = 0;
  double real = 0;
  std::optional<std::string> note;
  std::optional<std::int64_t> maybe_number;
  std::optional<double> maybe_real;

  bool operator==(const Sample&) const = default;
};

struct Manual {
  std::int64_t id = 0;
  std::string label;
};

struct Ghost {  // its table is never created
  std::int64_t id = 0;
  std::string name;
};

}  // namespace

template <>
struct gocp::model<Sample> {
  static constexpr std::string_view name = "backend_tests.sample";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Sample::id, "id"), gocp::field(&Sample::key, "key", gocp::unique),
      gocp::field(&Sample::text, "text"), gocp::field(&Sample::number, "number", gocp::default_value(0)),
      gocp::field(&Sample::real, "real", gocp::default_value(0.0)), gocp::field(&Sample::note, "note"),
      gocp::field(&Sample::maybe_number, "maybe_number"), gocp::field(&Sample::maybe_real, "maybe_real"));
};

template <>
struct gocp::model<Manual> {
  static constexpr std::string_view name = "backend_tests.manual";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Manual::id, "id", gocp::manual), gocp::field(&Manual::label, "label"));
};

template <>
struct gocp::model<Ghost> {
  static constexpr std::string_view name = "backend_tests.ghost";
  static constexpr auto schema = gocp::table(gocp::primary_key(&Ghost::id, "id"), gocp::field(&Ghost::name, "name"));
};

using gocp::c;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

using gocp::test::error_of;

/// Runs a one-value PRAGMA (or SELECT) outside any Repository.
std::string text_of(const gocp::Database& db, std::string_view sql) {
  std::string out;
  db.with_connection([&](gocp::Connection& conn) {
    conn.query(sql, {}, [&](const gocp::Row& row) {
      out = std::string(row.text(0));
      return false;
    });
  });
  return out;
}

std::int64_t integer_of(const gocp::Database& db, std::string_view sql) {
  std::int64_t out = -1;
  db.with_connection([&](gocp::Connection& conn) {
    conn.query(sql, {}, [&](const gocp::Row& row) {
      out = row.integer(0);
      return false;
    });
  });
  return out;
}

Sample sample(std::string key, std::string text = "t") {
  Sample s;
  s.key = std::move(key);
  s.text = std::move(text);
  return s;
}

struct Fixture {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(dir.sqlite_url());
  gocp::Repository<Sample> samples{db};
  gocp::Repository<Manual> manual{db};

  Fixture() {
    samples.create_table();
    manual.create_table();
  }

  bool has(const std::string& key) const { return samples.find(c(&Sample::key) == key).has_value(); }

  /// The count a different thread sees: it has no transaction, so its own connection.
  std::size_t count_from_other_thread() const {
    std::size_t n = 0;
    bool other_in_transaction = true;
    std::thread([&] {
      other_in_transaction = db.in_transaction();
      n = samples.count();
    }).join();
    CHECK_FALSE(other_in_transaction);
    return n;
  }
};

}  // namespace

// ---- URLs ---------------------------------------------------------------------------

TEST_CASE("sqlite:////absolute opens (and creates) that file", "[url]") {
  gocp::test::TempDir dir;
  const std::string url = "sqlite:///" + dir.file("abs.db").string();
  REQUIRE(url.starts_with("sqlite:////"));
  auto db = gocp::Database::open(url);
  CHECK(db.url() == url);
  gocp::Repository<Sample>{db}.create_table();
  CHECK(fs::is_regular_file(dir.file("abs.db")));
}

TEST_CASE("sqlite:///relative is relative to the working directory", "[url]") {
  gocp::test::TempDir dir;
  const fs::path rel = fs::relative(dir.file("rel.db"), fs::current_path());
  REQUIRE(rel.is_relative());
  auto db = gocp::Database::open("sqlite:///" + rel.string());
  gocp::Repository<Sample> repo{db};
  repo.create_table();
  repo.create(sample("k"));
  CHECK(fs::is_regular_file(dir.file("rel.db")));
  // the same file, reached through its absolute URL
  CHECK(gocp::Repository<Sample>{gocp::Database::open(dir.sqlite_url("rel.db"))}.count() == 1);
}

TEST_CASE("a percent-escaped path is decoded", "[url]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open("sqlite:///" + dir.path().string() + "/with%20space%3F.db");
  db.execute("CREATE TABLE t (x)");
  CHECK(fs::is_regular_file(dir.file("with space?.db")));
}

TEST_CASE("sqlite::memory: is one private database shared by all statements", "[url]") {
  auto db = gocp::Database::open("sqlite::memory:");
  gocp::Repository<Sample> repo{db};
  repo.create_table();  // one statement ...
  repo.create(sample("a"));
  CHECK(repo.count() == 1);  // ... seen by the next: one connection, not one per borrow
  CHECK(text_of(db, "PRAGMA journal_mode") == "memory");

  auto other = gocp::Database::open("sqlite::memory:");
  CHECK_FALSE(other == db);
  CHECK_THROWS_AS(gocp::Repository<Sample>{other}.count(), gocp::ConfigurationError);  // no such table there

  auto also_memory = gocp::Database::open("sqlite:///:memory:");
  also_memory.execute("CREATE TABLE t (x)");
  CHECK(integer_of(also_memory, "SELECT COUNT(*) FROM t") == 0);
}

TEST_CASE("sqlite::memory:?pool=N is one database shared by the pool's connections, across threads",
          "[url][pool][threads]") {
  auto db = gocp::Database::open("sqlite::memory:?pool=4");
  db.execute("CREATE TABLE t (x INTEGER)");
  std::atomic<int> failures{0};
  std::string first_failure;
  std::mutex m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        try {
          if (i % 2) db.atomic([&] {  // held a moment, so the other threads need the pool's other connections
            db.execute("INSERT INTO t VALUES (" + std::to_string(t) + ")");
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          });
          else db.execute("INSERT INTO t VALUES (" + std::to_string(t) + ")");
        } catch (const std::exception& e) {
          std::lock_guard lock(m);
          if (failures++ == 0) first_failure = e.what();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CAPTURE(first_failure);
  CHECK(failures == 0);
  CHECK(integer_of(db, "SELECT COUNT(*) FROM t") == 200);

  // two connections at once see the same database
  db.with_connection([&](gocp::Connection& a) {
    db.with_connection([&](gocp::Connection& b) {
      CHECK(&a != &b);
      b.execute("CREATE TABLE u (y)");
      a.execute("INSERT INTO u VALUES (1)");
    });
  });
  CHECK(integer_of(db, "SELECT COUNT(*) FROM u") == 1);

  // and it is this Database's own, gone with it
  CHECK_THROWS_AS(integer_of(gocp::Database::open("sqlite::memory:?pool=4"), "SELECT COUNT(*) FROM t"),
                  gocp::OperationalError);
}

TEST_CASE("OpenOptions::on_connect sets up every new connection: an SQLite function and a pragma",
          "[sqlite][on_connect]") {
  gocp::test::TempDir dir;
  std::atomic<int> connects{0};
  auto db = gocp::Database::open(dir.sqlite_url() + "?pool=2", gocp::OpenOptions{.on_connect = [&](gocp::Connection& c) {
    auto* handle = static_cast<sqlite3*>(c.native_handle());
    REQUIRE(handle != nullptr);
    auto twice = [](sqlite3_context* ctx, int, sqlite3_value** argv) {
      sqlite3_result_int64(ctx, 2 * sqlite3_value_int64(argv[0]));
    };
    sqlite3_create_function_v2(handle, "twice", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, twice, nullptr,
                               nullptr, nullptr);
    c.execute("PRAGMA cache_size = -1234");
    ++connects;
  }});
  CHECK(connects == 1);  // open() made and checked one connection
  db.with_connection([&](gocp::Connection& a) {
    db.with_connection([&](gocp::Connection& b) {  // a second connection: set up too
      CHECK(&a != &b);
      for (gocp::Connection* conn : {&a, &b}) {
        std::int64_t v = 0, cache = 0;
        conn->query("SELECT twice(21)", {}, [&](const gocp::Row& r) { return v = r.integer(0), false; });
        conn->query("PRAGMA cache_size", {}, [&](const gocp::Row& r) { return cache = r.integer(0), false; });
        CHECK(v == 42);
        CHECK(cache == -1234);
      }
    });
  });
  CHECK(connects == 2);

  // a hook that throws fails open() with its exception
  CHECK_THROWS_WITH(gocp::Database::open("sqlite::memory:", gocp::OpenOptions{.on_connect = [](gocp::Connection&) {
                      throw std::runtime_error("no setup for you");
                    }}),
                    "no setup for you");
}

TEST_CASE("double-quoted strings are identifiers only: a misspelt column is an error, not a string",
          "[sqlite][dqs]") {
  gocp::test::TempDir dir;
  for (const auto& url : {dir.sqlite_url(), std::string("sqlite::memory:")}) {
    auto db = gocp::Database::open(url);
    db.execute("CREATE TABLE t (x)");
    db.execute("INSERT INTO t VALUES (1)");
    CHECK_THAT(error_of<gocp::OperationalError>([&] { text_of(db, "SELECT \"no_such_column\" FROM t"); }),
               Contains("no_such_column"));
    CHECK_THROWS_AS(db.execute("CREATE INDEX i ON t (\"nope\")"), gocp::OperationalError);
    CHECK(integer_of(db, "SELECT \"x\" FROM t") == 1);
  }
}

TEST_CASE("an SQLite older than 3.35.0 (no RETURNING) is refused, saying why", "[sqlite]") {
  CHECK_THAT(error_of<gocp::ConfigurationError>([] { gocp::detail::require_sqlite_version(3034001, "3.34.1"); }),
             Contains("3.34.1") && Contains("3.35.0") && Contains("RETURNING"));
  CHECK_NOTHROW(gocp::detail::require_sqlite_version(3035000, "3.35.0"));
  CHECK_NOTHROW(gocp::detail::require_sqlite_version(sqlite3_libversion_number(), sqlite3_libversion()));
}

TEST_CASE("a read-only database file is a ConfigurationError naming it", "[url][errors]") {
  gocp::test::TempDir dir;
  gocp::Database::open(dir.sqlite_url()).execute("CREATE TABLE t (x)");
  fs::permissions(dir.file("test.db"), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(dir.path(), fs::perms::all);
  // Root writes anything: see it as an ordinary user does, in a child dropped to nobody.
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (geteuid() == 0 && setuid(65534) != 0) _exit(3);
    try {
      gocp::Database::open(dir.sqlite_url());
    } catch (const gocp::ConfigurationError& e) {
      const std::string what = e.what();
      _exit(what.find(dir.file("test.db").string()) != std::string::npos && what.find("read-only") != std::string::npos
                ? 0 : 4);
    } catch (...) {
      _exit(1);
    }
    _exit(2);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // 1: another error type, 2: it opened, 4: the message does not name it
}

TEST_CASE("a file database runs in WAL mode with the busy timeout asked for", "[url][wal]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url());
  CHECK(text_of(db, "PRAGMA journal_mode") == "wal");
  CHECK(integer_of(db, "PRAGMA busy_timeout") == 5000);  // the documented default
  CHECK(integer_of(db, "PRAGMA foreign_keys") == 1);

  auto tuned = gocp::Database::open(dir.sqlite_url("tuned.db") + "?busy_timeout_ms=1234");
  CHECK(text_of(tuned, "PRAGMA journal_mode") == "wal");
  CHECK(integer_of(tuned, "PRAGMA busy_timeout") == 1234);

  db.execute("CREATE TABLE t (x)");
  db.execute("INSERT INTO t VALUES (1)");
  CHECK(fs::exists(dir.file("test.db-wal")));
}

TEST_CASE("a Database opened before fork() runs in the child on connections of its own, which leaves the "
          "parent's alone",
          "[sqlite][fork]") {
  gocp::test::TempDir dir;
  std::atomic<int> connects{0};
  std::optional<gocp::Database> db =
      gocp::Database::open(dir.sqlite_url(), gocp::OpenOptions{.on_connect = [&](gocp::Connection&) { ++connects; }});
  db->execute("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT NOT NULL)");
  db->execute("INSERT INTO t (who) VALUES ('parent')");
  const gocp::Connection* parents = nullptr;  // the connection this thread borrows
  db->with_connection([&](gocp::Connection& c) { parents = &c; });
  const int connects_before = connects.load();
  // the child's status: 1 an error, 2 it borrowed the parent's connection, 3 none of its own
  gocp::test::check_exited_cleanly(gocp::test::run_processes(1, [&](int) {
    const gocp::Connection* childs = nullptr;
    db->with_connection([&](gocp::Connection& c) { childs = &c; });
    if (childs == parents) return 2;
    if (connects.load() != connects_before + 1) return 3;
    db->execute("INSERT INTO t (who) VALUES ('child')");
    db.reset();  // closes the child's connection, and not the parent's
    return 0;
  }, 30));
  // the parent goes on with its own connection, as it was
  const gocp::Connection* again = nullptr;
  db->with_connection([&](gocp::Connection& c) { again = &c; });
  CHECK(again == parents);
  CHECK(connects.load() == connects_before);
  db->execute("INSERT INTO t (who) VALUES ('parent again')");
  CHECK(integer_of(*db, "SELECT COUNT(*) FROM t") == 3);
  CHECK(integer_of(*db, "SELECT COUNT(*) FROM t WHERE who = 'child'") == 1);
  CHECK(text_of(*db, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("copies of a Database share it", "[url]") {
  auto db = gocp::Database::open("sqlite::memory:");
  const gocp::Database copy = db;
  CHECK(copy == db);
  db.execute("CREATE TABLE t (x)");
  CHECK(integer_of(copy, "SELECT COUNT(*) FROM t") == 0);
}

TEST_CASE("pool=N bounds the connections, wait_timeout_ms bounds the wait", "[url][pool]") {
  gocp::test::TempDir dir;
  auto nested = [](const gocp::Database& db, int depth) {
    // Outside a transaction each with_connection borrows its own connection.
    std::vector<gocp::Connection*> seen;
    auto borrow = [&](auto& self, int left) -> void {
      if (left == 0) return;
      db.with_connection([&](gocp::Connection& conn) {
        seen.push_back(&conn);
        self(self, left - 1);
      });
    };
    borrow(borrow, depth);
    return seen;
  };

  auto two = gocp::Database::open(dir.sqlite_url() + "?pool=2&wait_timeout_ms=50");
  const auto seen = nested(two, 2);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] != seen[1]);

  const auto start = std::chrono::steady_clock::now();
  try {
    nested(two, 3);
    FAIL("a third connection was handed out by a pool of 2");
  } catch (const gocp::OperationalError& e) {
    CHECK(e.retryable());
    CHECK_THAT(e.what(), Contains("timed out") && Contains(two.url()));
  }
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(45));

  auto one = gocp::Database::open(dir.sqlite_url() + "?pool=1&wait_timeout_ms=20");
  CHECK(nested(one, 1).size() == 1);
  CHECK_THROWS_AS(nested(one, 2), gocp::OperationalError);

  // :memory: is one connection whatever pool= says it may have
  auto memory = gocp::Database::open("sqlite::memory:?wait_timeout_ms=20");
  CHECK_THROWS_AS(nested(memory, 2), gocp::OperationalError);
}

TEST_CASE("a pool lends each connection to one borrower at a time, and a give-back wakes a waiter",
          "[pool][concurrency]") {
  gocp::test::TempDir dir;
  // 8 threads over 2 connections: most borrows go through the pool's lock-free slot,
  // the rest wait; a lost wake-up would show as a timeout, a double lend as a count of 2
  auto db = gocp::Database::open(dir.sqlite_url() + "?pool=2&wait_timeout_ms=10000");
  std::mutex mutex;
  std::vector<std::pair<gocp::Connection*, std::atomic<int>*>> users;
  std::vector<std::unique_ptr<std::atomic<int>>> counters;
  auto users_of = [&](gocp::Connection* c) -> std::atomic<int>& {
    std::lock_guard lock(mutex);
    for (auto& [conn, count] : users)
      if (conn == c) return *count;
    counters.push_back(std::make_unique<std::atomic<int>>(0));
    users.emplace_back(c, counters.back().get());
    return *counters.back();
  };
  std::atomic<int> double_lends{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        try {
          db.with_connection([&](gocp::Connection& c) {
            auto& count = users_of(&c);
            if (count.fetch_add(1) != 0) double_lends.fetch_add(1);
            if (i % 64 == 0) std::this_thread::yield();  // hold it a while: others must wait
            count.fetch_sub(1);
          });
        } catch (const gocp::OperationalError&) {
          errors.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(double_lends == 0);
  CHECK(errors == 0);
  CHECK(users.size() <= 2);
  CHECK(integer_of(db, "SELECT 1") == 1);  // and the pool still lends after it all
}

TEST_CASE("a bad URL is a ConfigurationError naming what is wrong", "[url][errors]") {
  gocp::test::TempDir dir;
  const std::string file = dir.sqlite_url();
  using Err = gocp::ConfigurationError;

  SECTION("unknown scheme") {
    CHECK_THAT(error_of<Err>([] { gocp::Database::open("mysql://localhost/app"); }), Contains("'mysql'"));
  }
  SECTION("unknown options, each named, and nothing is created") {
    CHECK_THAT(error_of<Err>([&] { gocp::Database::open(file + "?bogus=1"); }), Contains("'bogus'"));
    const auto both = error_of<Err>([&] { gocp::Database::open(file + "?pool=2&frobnicate=yes&colour=blue"); });
    CHECK_THAT(both, Contains("'frobnicate'") && Contains("'colour'"));
    CHECK_THAT(both, !Contains("'pool'"));
    CHECK_FALSE(fs::exists(dir.file("test.db")));
  }
  SECTION("bad option values") {
    CHECK_THAT(error_of<Err>([&] { gocp::Database::open(file + "?busy_timeout_ms=soon"); }),
               Contains("busy_timeout_ms") && Contains("soon"));
    CHECK_THAT(error_of<Err>([&] { gocp::Database::open(file + "?pool=-3"); }), Contains("pool"));
    // one message for every bad pool size: the true range, and why 0 is outside it
    const std::string range = "option 'pool' must be an integer from 1 to 100000 (the most connections open at "
                              "once: a pool of 0 could never lend one)";
    CHECK_THAT(error_of<Err>([&] { gocp::Database::open(file + "?pool=0"); }), Contains(range) && Contains("got '0'"));
    CHECK_THAT(error_of<Err>([&] { gocp::Database::open(file + "?pool=abc"); }), Contains(range) && Contains("got 'abc'"));
    CHECK_THAT(error_of<Err>([&] { gocp::Database::open(file + "?wait_timeout_ms=1.5"); }),
               Contains("wait_timeout_ms"));
  }
  SECTION("a missing directory is named") {
    const fs::path missing = dir.path() / "no" / "such" / "dir";
    CHECK_THAT(error_of<Err>([&] { gocp::Database::open("sqlite:///" + (missing / "x.db").string()); }),
               Contains(missing.string()));
    CHECK_THAT(error_of<Err>([] { gocp::Database::open("sqlite:///gocp-no-such-dir-7f3a/x.db"); }),
               Contains("gocp-no-such-dir-7f3a"));
  }
  SECTION("a directory is not a database file") {
    CHECK_THAT(error_of<Err>([&] { gocp::Database::open("sqlite:///" + dir.path().string()); }),
               Contains(dir.path().string()));
  }
  SECTION("malformed URLs") {
    for (const std::string bad : {"", "library.db", ":memory:", "sqlite:", "sqlite://", "sqlite:///",
                                  "sqlite://host/x.db", "sqlite:relative.db", "sqlite:///bad%zzescape.db",
                                  "sqlite:///trailing%2"}) {
      CAPTURE(bad);
      const auto what = error_of<Err>([&] { gocp::Database::open(bad); });
      if (!bad.empty()) CHECK_THAT(what, Contains(bad));
    }
  }
}

TEST_CASE("a file that is not a database fails at open, naming it", "[url][errors]") {
  gocp::test::TempDir dir;
  std::ofstream(dir.file("junk.db")) << std::string(4096, 'x');
  // A ConfigurationError, as open() documents for an unopenable database, naming the file.
  CHECK_THAT(error_of<gocp::ConfigurationError>([&] { gocp::Database::open(dir.sqlite_url("junk.db")); }),
             Contains(dir.file("junk.db").string()) && Contains("not a database"));
}

// ---- values ------------------------------------------------------------------------

TEST_CASE_METHOD(Fixture, "text round-trips byte for byte, as a value and as a lookup", "[values]") {
  using namespace std::string_literals;
  const std::vector<std::string> texts = {
      ""s,
      "it's \"quoted\" '' \"\""s,
      "a;b;;c;"s,
      "'); DROP TABLE backend_tests_sample; --"s,
      "\"); DROP TABLE \"backend_tests_sample\"; --"s,
      "x' OR '1'='1"s,
      "?1 ?2 $1 :name @x"s,
      "nul\0inside\0"s,
      "\0"s,
      "\0\0\0"s,
      "\xC5\x81\xC3\xB3" "d\xC5\xBA \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x8E\x89 e\xCC\x81"s,  // Łódź 日本語 🎉 é
      "%_\\ like wildcards"s,
      "line\nbreak\ttab\rreturn"s,
      std::string(100'000, 'z') + "\0end"s,
  };
  REQUIRE(texts[7].size() == 11);

  std::vector<Sample> made;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    CAPTURE(i);
    Sample s = sample("k" + texts[i] + std::to_string(i), texts[i]);
    s.note = texts[i];
    const Sample stored = samples.create(s);
    s.id = stored.id;
    CHECK(stored == s);
    CHECK(samples.get(c(&Sample::id) == stored.id) == s);
    CHECK(samples.get(c(&Sample::key) == s.key) == s);
    CHECK(samples.filter(c(&Sample::note) == texts[i]).count() == 1);
    made.push_back(s);
  }
  CHECK(samples.count() == texts.size());
  CHECK(integer_of(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'backend_tests_sample'") == 1);
  CHECK(samples.all() == made);

  SECTION("through get_or_create: the lookup's values are the created values") {
    for (std::size_t i = 0; i < texts.size(); ++i) {
      CAPTURE(i);
      const std::string key = texts[i] + "#goc";
      auto lookup = c(&Sample::key) == key && c(&Sample::text) == texts[i];
      auto [obj, created] = samples.get_or_create(lookup, gocp::defaults(c(&Sample::note) = texts[i]));
      CHECK(created);
      CHECK(obj.key == key);
      CHECK(obj.text == texts[i]);
      CHECK(obj.note == texts[i]);
      auto [again, created_again] = samples.get_or_create(lookup);
      CHECK_FALSE(created_again);
      CHECK(again == obj);
    }
    CHECK(samples.count() == 2 * texts.size());
  }
}

TEST_CASE_METHOD(Fixture, "integers and doubles round-trip exactly", "[values]") {
  constexpr auto i64 = std::numeric_limits<std::int64_t>{};
  constexpr auto dbl = std::numeric_limits<double>{};
  const std::vector<std::int64_t> integers = {i64.min(), i64.min() + 1, -1, 0, 1, (std::int64_t{1} << 53) + 1,
                                              i64.max() - 1, i64.max()};
  const std::vector<double> reals = {0.0,         0.1,        -2.5e-300,       1.0 / 3.0,   3.0,
                                     1e15 + 0.5,  dbl.max(),  dbl.lowest(),    dbl.min(),   dbl.denorm_min(),
                                     dbl.infinity(), -dbl.infinity(), 9007199254740993.0};
  for (std::size_t i = 0; i < integers.size(); ++i) {
    CAPTURE(integers[i]);
    Sample s = sample("i" + std::to_string(i));
    s.number = integers[i];
    s.maybe_number = integers[i];
    const Sample stored = samples.create(s);
    CHECK(stored.number == integers[i]);
    const Sample got = samples.get(c(&Sample::number) == integers[i]);
    CHECK(got.number == integers[i]);
    CHECK(got.maybe_number == integers[i]);
    CHECK(got.id == stored.id);
  }
  CHECK(samples.filter(c(&Sample::number) < i64.min() + 1).get(gocp::Expr<Sample>{}).number == i64.min());

  for (std::size_t i = 0; i < reals.size(); ++i) {
    CAPTURE(reals[i]);
    Sample s = sample("r" + std::to_string(i));
    s.real = reals[i];
    s.maybe_real = reals[i];
    const Sample stored = samples.create(s);
    const Sample got = samples.get(c(&Sample::id) == stored.id);
    CHECK(got.real == reals[i]);
    CHECK(got.maybe_real == reals[i]);
    CHECK(samples.filter(c(&Sample::real) == reals[i] && c(&Sample::key).startswith("r")).count() == 1);
  }
}

TEST_CASE_METHOD(Fixture, "std::optional: null and empty/zero are different values", "[values]") {
  Sample nulls = samples.create(sample("null"));
  Sample set = sample("set");
  set.note = "";
  set.maybe_number = 0;
  set.maybe_real = 0.0;
  set = samples.create(set);

  const Sample got_nulls = samples.get(c(&Sample::key) == "null");
  CHECK_FALSE(got_nulls.note);
  CHECK_FALSE(got_nulls.maybe_number);
  CHECK_FALSE(got_nulls.maybe_real);
  const Sample got_set = samples.get(c(&Sample::key) == "set");
  CHECK(got_set.note == std::optional<std::string>(""));
  CHECK(got_set.maybe_number == std::optional<std::int64_t>(0));
  CHECK(got_set.maybe_real == std::optional<double>(0.0));

  CHECK(samples.get(c(&Sample::note) == std::nullopt).id == nulls.id);
  CHECK(samples.get(c(&Sample::note) == "").id == set.id);
  CHECK(samples.get(c(&Sample::maybe_number).is_null()).id == nulls.id);
  CHECK(samples.get(c(&Sample::maybe_number) == 0).id == set.id);

  // and back to null through save()
  Sample cleared = got_set;
  cleared.note.reset();
  cleared.maybe_real.reset();
  samples.save(cleared);
  const Sample reread = samples.get(c(&Sample::id) == set.id);
  CHECK_FALSE(reread.note);
  CHECK_FALSE(reread.maybe_real);
  CHECK(reread.maybe_number == std::optional<std::int64_t>(0));
}

// ---- transactions -------------------------------------------------------------------

TEST_CASE_METHOD(Fixture, "atomic commits when fn returns, and returns its value", "[transaction]") {
  const int answer = db.atomic([&] {
    samples.create(sample("a"));
    samples.create(sample("b"));
    return 42;
  });
  CHECK(answer == 42);
  CHECK(count_from_other_thread() == 2);
  CHECK(gocp::Repository<Sample>{gocp::Database::open(dir.sqlite_url())}.count() == 2);
}

TEST_CASE_METHOD(Fixture, "atomic rolls back when fn throws, and rethrows it", "[transaction]") {
  samples.create(sample("before"));
  struct Boom : std::exception {};
  CHECK_THROWS_AS(db.atomic([&] {
                    samples.create(sample("a"));
                    samples.create(sample("b"));
                    CHECK(samples.count() == 3);
                    throw Boom{};
                  }),
                  Boom);
  CHECK_FALSE(db.in_transaction());
  CHECK(samples.count() == 1);
  CHECK(has("before"));
  CHECK_FALSE(has("a"));
}

TEST_CASE_METHOD(Fixture, "a nested atomic is a savepoint: an inner throw undoes only the inner work",
                 "[transaction][savepoint]") {
  db.atomic([&] {
    samples.create(sample("outer-1"));
    CHECK_THROWS_AS(db.atomic([&] {
                      samples.create(sample("inner"));
                      CHECK(has("inner"));
                      throw std::runtime_error("inner fails");
                    }),
                    std::runtime_error);
    CHECK(db.in_transaction());
    CHECK_FALSE(has("inner"));
    CHECK(has("outer-1"));
    db.atomic([&] {  // a nested level that succeeds is kept
      samples.create(sample("inner-ok"));
      db.atomic([&] { samples.create(sample("inner-inner-ok")); });
    });
    samples.create(sample("outer-2"));
  });
  CHECK(count_from_other_thread() == 4);
  CHECK_FALSE(has("inner"));
  CHECK(has("inner-inner-ok"));

  SECTION("an outer throw undoes the inner levels that had succeeded") {
    CHECK_THROWS_AS(db.atomic([&] {
                      db.atomic([&] { samples.create(sample("committed-inner")); });
                      throw std::runtime_error("outer fails");
                    }),
                    std::runtime_error);
    CHECK_FALSE(has("committed-inner"));
    CHECK(samples.count() == 4);
  }
}

TEST_CASE_METHOD(Fixture, "Transaction guard: commit, destructor rollback, explicit rollback", "[transaction][guard]") {
  SECTION("commit") {
    {
      gocp::Transaction tx{db};
      CHECK(db.in_transaction());
      samples.create(sample("kept"));
      tx.commit();
      CHECK_FALSE(db.in_transaction());
      CHECK_THROWS_AS(tx.commit(), gocp::Error);  // already ended
    }
    CHECK(has("kept"));
  }
  SECTION("leaving the scope rolls back") {
    {
      gocp::Transaction tx{db};
      samples.create(sample("dropped"));
      CHECK(has("dropped"));
    }
    CHECK_FALSE(db.in_transaction());
    CHECK_FALSE(has("dropped"));
    CHECK(count_from_other_thread() == 0);
  }
  SECTION("leaving the scope by an exception rolls back") {
    try {
      gocp::Transaction tx{db};
      samples.create(sample("dropped"));
      throw std::runtime_error("x");
    } catch (const std::runtime_error&) {
    }
    CHECK_FALSE(db.in_transaction());
    CHECK(samples.count() == 0);
  }
  SECTION("explicit rollback, then the destructor does nothing more") {
    {
      gocp::Transaction tx{db};
      samples.create(sample("dropped"));
      tx.rollback();
      CHECK_FALSE(db.in_transaction());
      samples.create(sample("after"));  // autocommit, outside the ended transaction
      tx.rollback();                    // a second rollback is a no-op
    }
    CHECK_FALSE(has("dropped"));
    CHECK(has("after"));
  }
  SECTION("nested guards are savepoints, and must end innermost first") {
    {
      gocp::Transaction outer{db};
      samples.create(sample("outer"));
      {
        gocp::Transaction inner{db};
        samples.create(sample("inner-dropped"));
        CHECK_THROWS_AS(outer.commit(), gocp::Error);  // inner still open
      }  // inner rolled back
      CHECK(db.in_transaction());
      {
        gocp::Transaction inner{db};
        samples.create(sample("inner-kept"));
        inner.commit();
      }
      outer.commit();
    }
    CHECK(has("outer"));
    CHECK(has("inner-kept"));
    CHECK_FALSE(has("inner-dropped"));
  }
}

TEST_CASE_METHOD(Fixture, "in_transaction is per thread and per database", "[transaction]") {
  gocp::test::TempDir other_dir;
  auto other = gocp::Database::open(other_dir.sqlite_url());
  CHECK_FALSE(db.in_transaction());
  db.atomic([&] {
    CHECK(db.in_transaction());
    const gocp::Database copy = db;
    CHECK(copy.in_transaction());  // the same database
    CHECK_FALSE(other.in_transaction());
    db.atomic([&] { CHECK(db.in_transaction()); });
    CHECK(db.in_transaction());
    bool seen_elsewhere = true;
    std::thread([&] { seen_elsewhere = db.in_transaction(); }).join();
    CHECK_FALSE(seen_elsewhere);
    // a transaction on another database nests independently
    gocp::Repository<Sample> others{other};
    others.create_table();
    CHECK_THROWS(other.atomic([&] {
      CHECK(other.in_transaction());
      others.create(sample("gone"));
      throw std::runtime_error("x");
    }));
    CHECK(others.count() == 0);
    CHECK(db.in_transaction());
    samples.create(sample("kept"));
  });
  CHECK_FALSE(db.in_transaction());
  CHECK(has("kept"));
}

TEST_CASE_METHOD(Fixture, "a transaction's statements share one connection: it reads its own writes, others do not",
                 "[transaction][isolation]") {
  samples.create(sample("committed"));
  db.atomic([&] {
    samples.create(sample("pending"));
    CHECK(samples.count() == 2);  // its own write
    CHECK(has("pending"));
    CHECK(count_from_other_thread() == 1);  // not yet committed for anyone else

    std::vector<gocp::Connection*> used;
    for (int i = 0; i < 3; ++i) db.with_connection([&](gocp::Connection& conn) { used.push_back(&conn); });
    CHECK(used[0] == used[1]);
    CHECK(used[1] == used[2]);
    db.execute("CREATE TEMP TABLE only_on_this_connection (x)");  // temp tables are per connection
    db.execute("INSERT INTO only_on_this_connection VALUES (1)");
    CHECK(integer_of(db, "SELECT COUNT(*) FROM only_on_this_connection") == 1);
  });
  CHECK(count_from_other_thread() == 2);
}

TEST_CASE_METHOD(Fixture, "two databases on one file: a nested writer waits busy_timeout_ms, then fails retryably",
                 "[transaction][busy]") {
  auto second = gocp::Database::open(dir.sqlite_url() + "?busy_timeout_ms=100");
  gocp::Repository<Sample> second_samples{second};
  db.atomic([&] {
    samples.create(sample("held"));
    const auto start = std::chrono::steady_clock::now();
    try {
      second.atomic([&] { second_samples.create(sample("blocked")); });
      FAIL("BEGIN IMMEDIATE succeeded while another connection held the write lock");
    } catch (const gocp::OperationalError& e) {
      CHECK(e.retryable());
      CHECK_THAT(e.what(), Contains("BEGIN IMMEDIATE") && Contains(second.url()));
    }
    const auto waited = std::chrono::steady_clock::now() - start;
    CHECK(waited >= std::chrono::milliseconds(80));
    CHECK(waited < std::chrono::milliseconds(3000));  // not the 5000 ms default
    CHECK_FALSE(second.in_transaction());
  });
  second.atomic([&] { second_samples.create(sample("after")); });
  CHECK(samples.count() == 2);
}

// ---- on_commit ----------------------------------------------------------------------

TEST_CASE_METHOD(Fixture, "on_commit runs after the outermost commit, never after a rollback", "[transaction][on_commit]") {
  std::vector<std::string> ran;
  db.on_commit([&] { ran.push_back("immediate"); });  // outside a transaction: at once
  CHECK(ran == std::vector<std::string>{"immediate"});
  ran.clear();

  SECTION("commit") {
    db.atomic([&] {
      samples.create(sample("a"));
      db.on_commit([&] {
        ran.push_back("outer");
        CHECK_FALSE(db.in_transaction());
        CHECK(count_from_other_thread() == 1);  // committed before the hook runs
      });
      db.atomic([&] { db.on_commit([&] { ran.push_back("inner"); }); });
      CHECK(ran.empty());  // releasing a savepoint is not a commit
    });
    CHECK(ran == std::vector<std::string>{"outer", "inner"});
  }
  SECTION("rollback drops every hook") {
    CHECK_THROWS(db.atomic([&] {
      db.on_commit([&] { ran.push_back("outer"); });
      db.atomic([&] { db.on_commit([&] { ran.push_back("inner"); }); });
      throw std::runtime_error("x");
    }));
    CHECK(ran.empty());
    db.atomic([] {});
    CHECK(ran.empty());  // and they do not leak into the next transaction
  }
  SECTION("a rolled-back savepoint drops its hooks; the outer ones run") {
    db.atomic([&] {
      db.on_commit([&] { ran.push_back("before"); });
      db.atomic([&] { db.on_commit([&] { ran.push_back("kept-inner"); }); });
      CHECK_THROWS(db.atomic([&] {
        db.on_commit([&] { ran.push_back("dropped"); });
        db.atomic([&] { db.on_commit([&] { ran.push_back("dropped-deeper"); }); });
        throw std::runtime_error("x");
      }));
      {
        gocp::Transaction sp{db};
        db.on_commit([&] { ran.push_back("dropped-guard"); });
      }
      db.on_commit([&] { ran.push_back("after"); });
    });
    CHECK(ran == std::vector<std::string>{"before", "kept-inner", "after"});
  }
  SECTION("Transaction guard: hooks run on commit(), not on rollback()") {
    {
      gocp::Transaction tx{db};
      db.on_commit([&] { ran.push_back("rolled back"); });
      tx.rollback();
    }
    {
      gocp::Transaction tx{db};
      db.on_commit([&] { ran.push_back("committed"); });
      tx.commit();
    }
    CHECK(ran == std::vector<std::string>{"committed"});
  }
  SECTION("a throwing hook does not undo the commit; the other hooks still run") {
    CHECK_THROWS_WITH(db.atomic([&] {
                        samples.create(sample("kept"));
                        db.on_commit([] { throw std::runtime_error("hook failed"); });
                        db.on_commit([&] { ran.push_back("second"); });
                      }),
                      "hook failed");
    CHECK(ran == std::vector<std::string>{"second"});
    CHECK_FALSE(db.in_transaction());
    CHECK(count_from_other_thread() == 1);
  }
}

// ---- integrity and errors -----------------------------------------------------------

TEST_CASE_METHOD(Fixture, "a duplicate unique value is an IntegrityError, and data and connection stay good",
                 "[errors][integrity]") {
  Sample original = sample("dup", "original");
  original = samples.create(original);

  SECTION("outside a transaction") {
    CHECK_THROWS_AS(samples.create(sample("dup", "second")), gocp::IntegrityError);
    CHECK(samples.count() == 1);
    CHECK(samples.get(c(&Sample::key) == "dup") == original);
    CHECK_FALSE(db.in_transaction());
    samples.create(sample("next"));  // the next statements work
    CHECK(samples.count() == 2);
  }
  SECTION("inside a transaction, which can still commit") {
    db.atomic([&] {
      samples.create(sample("before"));
      const auto what = error_of<gocp::IntegrityError>([&] { samples.create(sample("dup", "second")); });
      CHECK_THAT(what, Contains("UNIQUE") && Contains("INSERT INTO"));
      CHECK(db.in_transaction());
      samples.create(sample("after"));
    });
    CHECK(count_from_other_thread() == 3);
    CHECK(samples.get(c(&Sample::key) == "dup") == original);
  }
  SECTION("through update() too") {
    samples.create(sample("other"));
    CHECK_THROWS_AS(samples.filter(c(&Sample::key) == "other").update(c(&Sample::key) = "dup"), gocp::IntegrityError);
    CHECK(has("other"));
    CHECK(samples.count() == 2);
  }
}

TEST_CASE_METHOD(Fixture, "a duplicate manual primary key is an IntegrityError, and the connection stays usable",
                 "[errors][integrity]") {
  manual.create({7, "first"});
  CHECK_THROWS_AS(manual.create({7, "second"}), gocp::IntegrityError);
  CHECK(manual.get(c(&Manual::id) == 7).label == "first");
  CHECK(manual.count() == 1);
  db.atomic([&] {
    CHECK_THROWS_AS(manual.create({7, "third"}), gocp::IntegrityError);
    manual.create({8, "eight"});
  });
  CHECK(manual.count() == 2);
  CHECK(manual.get(c(&Manual::id) == 7).label == "first");
}

TEST_CASE_METHOD(Fixture, "get_or_create writes every column, starting from the model's default object",
                 "[errors][integrity]") {
  // `text` is neither optional nor defaulted, and neither lookup nor defaults set it:
  // it is Sample{}.text, as Django's Model(**params) takes each field's default.
  auto [made, created] = samples.get_or_create(c(&Sample::key) == "k");
  CHECK(created);
  CHECK(made.text.empty());
  CHECK(made.number == 0);  // the schema's default_value
  CHECK(samples.get(c(&Sample::key) == "k").text.empty());
  // NOT NULL still holds for what the database is asked to store
  const auto what = error_of<gocp::IntegrityError>([&] { db.execute("INSERT INTO \"backend_tests_sample\" (\"key\") VALUES ('x')"); });
  CHECK_THAT(what, Contains("NOT NULL"));
}

TEST_CASE_METHOD(Fixture, "SQL errors are OperationalErrors naming the SQL and the database", "[errors]") {
  SECTION("syntax error") {
    try {
      db.execute("SELEC 1");
      FAIL("no error");
    } catch (const gocp::OperationalError& e) {
      CHECK_FALSE(e.retryable());
      CHECK_THAT(e.what(), Contains("SELEC 1") && Contains("syntax") && Contains(db.url()));
    }
  }
  SECTION("missing table, raw") {
    CHECK_THAT(error_of<gocp::OperationalError>([&] { db.execute("SELECT * FROM no_such_table_here"); }),
               Contains("no such table") && Contains("SELECT * FROM no_such_table_here"));
  }
  SECTION("missing table, through a repository: a ConfigurationError before any statement") {
    gocp::Repository<Ghost> ghosts{db};
    CHECK_THAT(error_of<gocp::ConfigurationError>([&] { ghosts.count(); }),
               Contains("backend_tests_ghost") && Contains("does not exist") && Contains("create_table()"));
    CHECK_THROWS_AS(ghosts.get_or_create(c(&Ghost::id) == 1), gocp::ConfigurationError);
    CHECK_THROWS_AS(ghosts.create({0, "x"}), gocp::ConfigurationError);
  }
  SECTION("a table dropped after the repository checked it, through the repository") {
    gocp::Repository<Ghost> ghosts{db};
    ghosts.create_table();
    CHECK(ghosts.count() == 0);
    db.execute("DROP TABLE backend_tests_ghost");
    CHECK_THAT(error_of<gocp::OperationalError>([&] { ghosts.count(); }),
               Contains("backend_tests_ghost") && Contains("SELECT COUNT(*)"));
    CHECK_THROWS_AS(ghosts.create({0, "x"}), gocp::OperationalError);
  }
  SECTION("the connection stays usable, in and out of a transaction") {
    CHECK_THROWS_AS(db.execute("SELEC 1"), gocp::OperationalError);
    samples.create(sample("a"));
    db.atomic([&] {
      samples.create(sample("b"));
      CHECK_THROWS_AS(db.execute("INSERT INTO no_such_table_here VALUES (1)"), gocp::OperationalError);
      samples.create(sample("c"));
    });
    CHECK(count_from_other_thread() == 3);
  }
  SECTION("an IntegrityError is a DatabaseError, not an OperationalError") {
    samples.create(sample("a"));
    try {
      samples.create(sample("a"));
      FAIL("no error");
    } catch (const gocp::OperationalError&) {
      FAIL("a constraint violation classified as operational");
    } catch (const gocp::DatabaseError& e) {
      CHECK(dynamic_cast<const gocp::IntegrityError*>(&e) != nullptr);
    }
  }
}

// ---- the pool, across threads --------------------------------------------------------

TEST_CASE("pool=1: two threads writing through one database serialize instead of failing", "[pool][threads]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url() + "?pool=1");
  gocp::Repository<Sample> samples{db};
  samples.create_table();

  constexpr int kPerThread = 60;
  std::latch start(2);
  std::string errors[2];
  int created[2] = {0, 0};
  auto work = [&](int t) {
    start.arrive_and_wait();
    try {
      for (int i = 0; i < kPerThread; ++i) {
        // half the keys are shared, so both threads create and get the same rows
        const std::string key = (i % 2 ? "shared-" : "own-" + std::to_string(t) + "-") + std::to_string(i);
        auto [obj, was_created] =
            samples.get_or_create(c(&Sample::key) == key, gocp::defaults(c(&Sample::text) = "by " + std::to_string(t)));
        created[t] += was_created ? 1 : 0;
        if (obj.key != key) throw std::logic_error("got " + obj.key + " for " + key);
        db.atomic([&] { samples.filter(c(&Sample::id) == obj.id).update(c(&Sample::number) = i); });
      }
    } catch (const std::exception& e) {
      errors[t] = e.what();
    }
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  CHECK(samples.count() == kPerThread / 2 * 3);  // 30 own per thread + 30 shared
  CHECK(created[0] + created[1] == kPerThread / 2 * 3);
}

TEST_CASE("pool=1: a reader waits for the writer's transaction to end, then sees its commit", "[pool][threads]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url() + "?pool=1");
  gocp::Repository<Sample> samples{db};
  samples.create_table();

  std::latch reader_started(1);
  std::size_t reader_count = 99;
  std::string reader_error;
  std::thread reader;
  db.atomic([&] {
    samples.create(sample("one"));
    reader = std::thread([&] {
      reader_started.count_down();
      try {
        reader_count = samples.count();  // blocks: the only connection is this transaction's
      } catch (const std::exception& e) {
        reader_error = e.what();
      }
    });
    reader_started.wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    samples.create(sample("two"));
  });
  reader.join();
  CHECK(reader_error.empty());
  CHECK(reader_count == 2);  // it ran after the commit, not on a second connection before it
}

TEST_CASE("pool=1 with wait_timeout_ms: a thread kept waiting by a transaction gets a retryable error naming the URL",
          "[pool][threads]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url() + "?pool=1&wait_timeout_ms=100");
  gocp::Repository<Sample> samples{db};
  samples.create_table();

  bool got_operational = false, retryable = false;
  std::string what;
  std::chrono::steady_clock::duration waited{};
  db.atomic([&] {
    samples.create(sample("held"));
    std::thread([&] {
      const auto start = std::chrono::steady_clock::now();
      try {
        samples.count();
      } catch (const gocp::OperationalError& e) {
        got_operational = true;
        retryable = e.retryable();
        what = e.what();
      } catch (const std::exception& e) {
        what = e.what();
      }
      waited = std::chrono::steady_clock::now() - start;
    }).join();
  });
  CHECK(got_operational);
  CHECK(retryable);
  CHECK_THAT(what, Contains(db.url()) && Contains("100 ms"));
  CHECK(waited >= std::chrono::milliseconds(90));

  // once the transaction has ended, the retry succeeds
  std::size_t n = 0;
  std::thread([&] { n = samples.count(); }).join();
  CHECK(n == 1);
}
