// The PostgreSQL backend against a real, throwaway cluster (tests/support/postgres_server.hpp):
// values, DDL, errors by SQLSTATE, savepoints, connection loss, prepared statements,
// URLs, and Django's two update_or_create transaction tests
// (tests/get_or_create/tests.py, UpdateOrCreateTransactionTests).

#include <catch2/catch.hpp>

#include <gocp/backends/postgres.hpp>
#include <gocp/gocp.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <latch>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/postgres_server.hpp"
#include "support/processes.hpp"

namespace {

struct Sample {
  std::int64_t id = 0;
  std::string name;
  std::string text;
  std::int64_t big = 0;
  double real = 0;
  bool flag = false;
  int small = 0;
  std::optional<std::string> maybe_text;
  std::optional<std::int64_t> maybe_int;
  std::optional<double> maybe_real;
};

// Django's get_or_create.models.Person: first_name is unique.
struct PgPerson {
  std::int64_t id = 0;
  std::string first_name;
  std::string last_name;
  std::int64_t birthday = 0;
  std::optional<std::string> nickname;
};

}  // namespace

template <>
struct gocp::model<Sample> {
  static constexpr std::string_view name = "pg.sample";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Sample::id, "id"), gocp::field(&Sample::name, "name", gocp::max_length(50), gocp::unique),
                  gocp::field(&Sample::text, "text"), gocp::field(&Sample::big, "big"),
                  gocp::field(&Sample::real, "real"), gocp::field(&Sample::flag, "flag"),
                  gocp::field(&Sample::small, "small"), gocp::field(&Sample::maybe_text, "maybe_text"),
                  gocp::field(&Sample::maybe_int, "maybe_int"), gocp::field(&Sample::maybe_real, "maybe_real"));
};

template <>
struct gocp::model<PgPerson> {
  static constexpr std::string_view name = "pg.person";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&PgPerson::id, "id"),
                  gocp::field(&PgPerson::first_name, "first_name", gocp::max_length(100), gocp::unique),
                  gocp::field(&PgPerson::last_name, "last_name", gocp::max_length(100)),
                  gocp::field(&PgPerson::birthday, "birthday", gocp::default_value(0)),
                  gocp::field(&PgPerson::nickname, "nickname"));
};

using gocp::c;
using Catch::Contains;
using Server = gocp::test::PostgresServer;

namespace {

/// The first column of the first row of `sql`, as text, on db's (this thread's) connection.
std::string scalar(const gocp::Database& db, std::string_view sql) {
  std::string out;
  db.with_connection([&](gocp::Connection& conn) {
    conn.query(sql, {}, [&](const gocp::Row& row) {
      out = row.is_null(0) ? "NULL" : std::string(row.text(0));
      return false;
    });
  });
  return out;
}

std::int64_t backend_pid(const gocp::Database& db) { return std::stoll(scalar(db, "SELECT pg_backend_pid()")); }

/// Terminates a server process from another connection and waits until it is gone.
void terminate_backend(std::int64_t pid) {
  auto& server = Server::instance();
  server.execute("postgres", "SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
  for (int i = 0; i < 500; ++i) {
    if (server.scalar("postgres", "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid)) == "0")
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("backend " << pid << " still running 5 s after pg_terminate_backend");
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

struct PgFixture {
  gocp::Database db = gocp::Database::open(Server::instance().create_database());
  gocp::Repository<Sample> samples{db};
  gocp::Repository<PgPerson> people{db};
  PgFixture() {
    samples.create_table();
    people.create_table();
  }
};

}  // namespace

TEST_CASE_METHOD(PgFixture, "values round-trip exactly, as parameters and as results", "[postgres][values]") {
  REQUIRE(db.dialect().name == "postgresql");
  const std::vector<std::string> texts = {"O'Brien said \"hi\"",
                                          "'; DROP TABLE pg_sample; --",
                                          "back\\slash $1 ? %s",
                                          "Zürich — 東京 🎉",
                                          "",
                                          std::string(5000, 'x'),
                                          "tab\tnew\nline\r"};
  const std::vector<double> reals = {0.1,
                                     1.0 / 3.0,
                                     -2.5e-300,
                                     std::numeric_limits<double>::min(),
                                     std::numeric_limits<double>::denorm_min(),
                                     std::numeric_limits<double>::max(),
                                     -std::numeric_limits<double>::max(),
                                     123456789.12345678,
                                     std::numeric_limits<double>::infinity(),
                                     -std::numeric_limits<double>::infinity()};
  const std::vector<std::int64_t> ints = {std::numeric_limits<std::int64_t>::min(),
                                          std::numeric_limits<std::int64_t>::max(), 0, -1, 9'007'199'254'740'993};
  std::vector<Sample> made;
  for (std::size_t i = 0; i < texts.size() + reals.size() + ints.size(); ++i) {
    Sample s;
    s.name = "n" + std::to_string(i);
    s.text = texts[i % texts.size()];
    s.big = ints[i % ints.size()];
    s.real = reals[i % reals.size()];
    s.flag = i % 2 == 0;
    s.small = -static_cast<int>(i);
    if (i % 3 != 0) {
      s.maybe_text = texts[(i + 1) % texts.size()];
      s.maybe_int = ints[(i + 2) % ints.size()];
      s.maybe_real = reals[(i + 3) % reals.size()];
    }
    made.push_back(samples.create(s));
    CHECK(made.back().id != 0);
  }
  for (const Sample& s : made) {
    // by primary key, and by every value as a parameter: both directions are exact
    const Sample back = samples.get(c(&Sample::id) == s.id);
    CHECK(back.text == s.text);
    CHECK(back.big == s.big);
    CHECK(back.real == s.real);
    CHECK(back.flag == s.flag);
    CHECK(back.small == s.small);
    CHECK(back.maybe_text == s.maybe_text);
    CHECK(back.maybe_int == s.maybe_int);
    CHECK(back.maybe_real == s.maybe_real);
    CHECK(samples.filter(c(&Sample::text) == s.text && c(&Sample::big) == s.big && c(&Sample::real) == s.real)
              .filter(c(&Sample::id) == s.id)
              .count() == 1);
  }
  const auto nulls = static_cast<std::size_t>(std::count_if(made.begin(), made.end(), [](const Sample& s) { return !s.maybe_text; }));
  CHECK(nulls == 8);
  CHECK(samples.filter(c(&Sample::maybe_text) == std::nullopt).count() == nulls);
  CHECK(samples.filter(c(&Sample::maybe_int).is_null()).count() == nulls);
  CHECK(samples.filter(c(&Sample::text) == "'; DROP TABLE pg_sample; --").count() > 0);
  CHECK(samples.filter(c(&Sample::big) == std::numeric_limits<std::int64_t>::min()).count() > 0);

  SECTION("NaN and -0.0 keep their identity") {
    Sample s{0, "nan", "", 0, std::nan(""), false, 0, {}, {}, -0.0};
    const Sample back = samples.get(c(&Sample::id) == samples.create(s).id);
    CHECK(std::isnan(back.real));
    REQUIRE(back.maybe_real);
    CHECK(*back.maybe_real == 0.0);
    CHECK(std::signbit(*back.maybe_real));
  }

  SECTION("a NUL byte in text is a ValidationError before anything is sent; the transaction goes on") {
    const std::string with_nul("ab\0cd", 5);
    db.atomic([&] {
      std::string what;
      try {
        samples.create(Sample{0, "nul", with_nul, 1, 1, false, 0, {}, {}, {}});
      } catch (const gocp::ValidationError& e) {
        what = e.what();
      }
      CHECK_THAT(what, Contains("NUL") && Contains("byte 2") && Contains("INSERT INTO"));
      CHECK(samples.count() == made.size());  // the transaction was not aborted
      samples.create(Sample{0, "after", "fine", 1, 1, false, 0, {}, {}, {}});
    });
    CHECK(samples.filter(c(&Sample::name) == "after").exists());
    CHECK_FALSE(samples.filter(c(&Sample::name) == "nul").exists());
    CHECK_THROWS_AS(samples.filter(c(&Sample::text) == with_nul).count(), gocp::ValidationError);
  }
}

TEST_CASE_METHOD(PgFixture, "create_table makes PostgreSQL types and constraints, idempotently", "[postgres][schema]") {
  CHECK_NOTHROW(samples.create_table());
  auto type_of = [&](const std::string& column) {
    return scalar(db, "SELECT data_type || COALESCE('(' || character_maximum_length || ')', '') || "
                      "CASE WHEN is_identity = 'YES' THEN ' identity' ELSE '' END || "
                      "CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END "
                      "FROM information_schema.columns WHERE table_name = 'pg_sample' AND column_name = '" +
                          column + "'");
  };
  CHECK(type_of("id") == "bigint identity not null");
  CHECK(type_of("name") == "character varying(50) not null");
  CHECK(type_of("text") == "text not null");
  CHECK(type_of("big") == "bigint not null");
  CHECK(type_of("real") == "double precision not null");
  CHECK(type_of("flag") == "bigint not null");
  CHECK(type_of("maybe_text") == "text");
  samples.create(Sample{0, "same", "", 0, 0, false, 0, {}, {}, {}});
  CHECK_THROWS_AS(samples.create(Sample{0, "same", "", 0, 0, false, 0, {}, {}, {}}), gocp::IntegrityError);
}

TEST_CASE("create_table racing from many connections never fails", "[postgres][schema][concurrency]") {
  // PostgreSQL's CREATE TABLE IF NOT EXISTS is not atomic: two sessions can both miss the
  // table, and the loser fails on a catalog unique index (23505) or with 42P07.
  const std::string url = Server::instance().create_database();
  constexpr int kThreads = 6, kRounds = 15;
  std::vector<gocp::Database> dbs;
  for (int t = 0; t < kThreads; ++t) dbs.push_back(gocp::Database::open(url));
  std::atomic<int> failures{0};
  std::string first_error;
  std::mutex m;
  for (int round = 0; round < kRounds; ++round) {
    dbs[0].execute("DROP TABLE IF EXISTS pg_person");
    std::latch go(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        gocp::Repository<PgPerson> people{dbs[t]};
        go.arrive_and_wait();
        try {
          people.create_table();
        } catch (const std::exception& e) {
          ++failures;
          std::lock_guard lock(m);
          if (first_error.empty()) first_error = e.what();
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  INFO(first_error);
  CHECK(failures == 0);
  gocp::Repository<PgPerson> people{dbs[0]};
  CHECK(people.get_or_create(c(&PgPerson::first_name) == "x", gocp::defaults(c(&PgPerson::last_name) = "y")).second);
}

TEST_CASE_METHOD(PgFixture, "errors are mapped by SQLSTATE, with the SQLSTATE, the server's message and the SQL",
                 "[postgres][errors]") {
  db.execute("CREATE TABLE parent (id BIGINT PRIMARY KEY)");
  db.execute("CREATE TABLE child (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL REFERENCES parent(id), "
             "qty BIGINT CHECK (qty >= 0))");
  db.execute("INSERT INTO parent VALUES (1)");
  db.execute("INSERT INTO child VALUES (1, 1, 1)");

  SECTION("class 23: IntegrityError") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"INSERT INTO child VALUES (1, 1, 1)", "23505"},       // unique
        {"INSERT INTO child VALUES (2, 99, 1)", "23503"},      // foreign key
        {"INSERT INTO child VALUES (3, NULL, 1)", "23502"},    // not null
        {"INSERT INTO child VALUES (4, 1, -5)", "23514"},      // check
        {"DELETE FROM parent WHERE id = 1", "23503"},          // still referenced
    };
    for (const auto& [sql, state] : cases) {
      INFO(sql);
      try {
        db.execute(sql);
        FAIL("expected IntegrityError");
      } catch (const gocp::IntegrityError& e) {
        CHECK_THAT(std::string(e.what()), Contains(state) && Contains(sql) && Contains("gocp: PostgreSQL error"));
      }
    }
    // through the repository's prepared path too, with the server's detail
    people.create({0, "John", "Lennon", 1, {}});
    const std::string what = error_of([&] { people.create({0, "John", "Other", 1, {}}); });
    CHECK_THAT(what, Contains("23505") && Contains("duplicate key") && Contains("(first_name)=(John)") &&
                         Contains("INSERT INTO \"pg_person\""));
    CHECK_THROWS_AS(people.create({0, "John", "Other", 1, {}}), gocp::IntegrityError);
  }

  SECTION("40P01 deadlock: a retryable OperationalError for one of the two") {
    std::latch both_locked(2);
    std::exception_ptr errors[2];
    auto worker = [&](int i, int first, int second) {
      try {
        db.atomic([&] {
          db.execute("SET LOCAL deadlock_timeout = '50ms'");
          db.execute("UPDATE child SET qty = qty + 1 WHERE id = " + std::to_string(first));
          both_locked.arrive_and_wait();
          db.execute("UPDATE child SET qty = qty + 1 WHERE id = " + std::to_string(second));
        });
      } catch (...) {
        errors[i] = std::current_exception();
      }
    };
    db.execute("INSERT INTO child VALUES (2, 1, 1)");
    std::thread a(worker, 0, 1, 2), b(worker, 1, 2, 1);
    a.join();
    b.join();
    REQUIRE((errors[0] == nullptr) != (errors[1] == nullptr));  // exactly one victim
    try {
      std::rethrow_exception(errors[0] ? errors[0] : errors[1]);
    } catch (const gocp::OperationalError& e) {
      CHECK(e.retryable());
      CHECK_THAT(std::string(e.what()), Contains("40P01") && Contains("deadlock") && Contains("UPDATE child"));
    }
    CHECK(scalar(db, "SELECT SUM(qty) FROM child") == "4");  // the survivor's two updates
  }

  SECTION("40001 serialization failure: a retryable OperationalError") {
    std::string what;
    bool retryable = false;
    try {
      db.atomic([&] {
        db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        CHECK(scalar(db, "SELECT qty FROM child WHERE id = 1") == "1");  // the snapshot is taken
        std::thread([&] { db.execute("UPDATE child SET qty = 10 WHERE id = 1"); }).join();  // another connection
        db.execute("UPDATE child SET qty = 20 WHERE id = 1");
      });
    } catch (const gocp::OperationalError& e) {
      what = e.what();
      retryable = e.retryable();
    }
    CHECK(retryable);
    CHECK_THAT(what, Contains("40001") && Contains("UPDATE child SET qty = 20"));
    CHECK(scalar(db, "SELECT qty FROM child WHERE id = 1") == "10");
  }

  SECTION("55P03 lock not available and 57014 statement timeout: OperationalError, not retryable") {
    std::string what;
    bool retryable = true;
    db.atomic([&] {
      db.execute("UPDATE child SET qty = 2 WHERE id = 1");  // holds the row lock
      std::thread([&] {
        try {
          db.execute("SELECT * FROM child WHERE id = 1 FOR UPDATE NOWAIT");
        } catch (const gocp::OperationalError& e) {
          what = e.what();
          retryable = e.retryable();
        }
      }).join();
    });
    CHECK_THAT(what, Contains("55P03") && Contains("FOR UPDATE NOWAIT"));
    CHECK_FALSE(retryable);

    what.clear();
    try {
      db.atomic([&] {
        db.execute("SET LOCAL statement_timeout = '50ms'");
        db.execute("SELECT pg_sleep(5)");
      });
    } catch (const gocp::OperationalError& e) {
      what = e.what();
      retryable = e.retryable();
    }
    CHECK_THAT(what, Contains("57014") && Contains("pg_sleep(5)"));
    CHECK_FALSE(retryable);
  }

  SECTION("anything else is a plain DatabaseError (a missing table an OperationalError), and the connection stays usable") {
    auto kind = [&](std::string_view sql) {
      try {
        db.execute(sql);
      } catch (const gocp::IntegrityError&) {
        return std::string("integrity");
      } catch (const gocp::OperationalError&) {
        return std::string("operational");
      } catch (const gocp::DatabaseError& e) {
        return std::string("database: ") + e.what();
      }
      return std::string("none");
    };
    CHECK_THAT(kind("SELEKT 1"), Contains("database: ") && Contains("42601") && Contains("SELEKT 1"));
    CHECK(kind("SELECT * FROM no_such_table") == "operational");  // as SQLite's "no such table" (test_schema)
    CHECK(scalar(db, "SELECT 1") == "1");
  }

  SECTION("a value that is not a number where one is read is a DatabaseError") {
    db.with_connection([&](gocp::Connection& conn) {
      conn.query("SELECT 'abc', EXISTS (SELECT 1), 2.5::float8", {}, [&](const gocp::Row& row) {
        CHECK_THROWS_AS(row.integer(0), gocp::DatabaseError);
        CHECK(row.integer(1) == 1);
        CHECK(row.real(2) == 2.5);
        CHECK_THROWS_AS(row.real(0), gocp::DatabaseError);
        return false;
      });
    });
  }
}

TEST_CASE_METHOD(PgFixture, "an IntegrityError in get_or_create's savepoint leaves the outer transaction usable",
                 "[postgres][transaction]") {
  const PgPerson lennon = people.create({0, "John", "Lennon", 1, {}});
  db.atomic([&] {
    people.get_or_create(c(&PgPerson::first_name) == "Paul", gocp::defaults(c(&PgPerson::last_name) = "McCartney"));
    // not visible through this filter, so get_or_create tries to create it and collides
    auto others = people.exclude(c(&PgPerson::last_name) == "Lennon");
    CHECK_THROWS_AS(others.get_or_create(c(&PgPerson::first_name) == "John",
                                         gocp::defaults(c(&PgPerson::last_name) = "Lennon")),
                    gocp::IntegrityError);
    // the savepoint was rolled back, not the transaction: it carries on
    CHECK(people.count() == 2);
    auto [george, created] =
        people.get_or_create(c(&PgPerson::first_name) == "George", gocp::defaults(c(&PgPerson::last_name) = "H"));
    CHECK(created);
  });
  CHECK(people.count() == 3);
  CHECK(people.get(c(&PgPerson::first_name) == "John").id == lennon.id);

  SECTION("without the savepoint (NonAtomicGetOrCreate) PostgreSQL aborts the whole transaction") {
    gocp::Repository<PgPerson, gocp::NonAtomicGetOrCreate> non_atomic{db};
    std::string what;
    try {
      db.atomic([&] {
        non_atomic.get_or_create(c(&PgPerson::first_name) == "Ringo", gocp::defaults(c(&PgPerson::last_name) = "S"));
        auto others = non_atomic.exclude(c(&PgPerson::last_name) == "Lennon");
        try {
          others.get_or_create(c(&PgPerson::first_name) == "John", gocp::defaults(c(&PgPerson::last_name) = "L"));
        } catch (const gocp::DatabaseError& e) {
          what = e.what();  // the re-get after the IntegrityError already fails
        }
        people.count();  // and so does everything after it, until ROLLBACK
      });
    } catch (const gocp::DatabaseError& e) {
      CHECK_THAT(std::string(e.what()), Contains("25P02"));
    }
    CHECK_THAT(what, Contains("25P02") && Contains("aborted"));
    CHECK_FALSE(people.filter(c(&PgPerson::first_name) == "Ringo").exists());  // all rolled back
  }
}

TEST_CASE_METHOD(PgFixture, "a Database opened before fork() gets sessions of its own in the child, whose exit leaves "
                            "the parent's session up",
                 "[postgres][connection][fork]") {
  people.create({0, "John", "Lennon", 1, {}});
  const std::int64_t parents = backend_pid(db);  // the session this thread's connection holds
  // the child's status: 2 if it talked over the parent's socket, 3 if it did not see the row
  gocp::test::check_exited_cleanly(gocp::test::run_processes(1, [&](int) {
    if (backend_pid(db) == parents) return 2;
    if (people.count() != 1) return 3;
    people.create({0, "Paul", "McCartney", 2, {}});
    std::destroy_at(&people);  // the child's last handles: its own session closed, the parent's not
    std::destroy_at(&samples);
    std::destroy_at(&db);
    return 0;
  }, 30));
  CHECK(backend_pid(db) == parents);  // not terminated by the child's close, and not replaced
  CHECK(people.count() == 2);
}

TEST_CASE_METHOD(PgFixture, "a lost connection is a clear OperationalError, and the next use gets a fresh one",
                 "[postgres][connection]") {
  auto one = gocp::Database::open(Server::instance().url(scalar(db, "SELECT current_database()"), "pool=1"));
  gocp::Repository<PgPerson> repo{one};
  repo.create({0, "John", "Lennon", 1, {}});
  CHECK(repo.count() == 1);  // its statement is prepared on the connection
  const std::int64_t pid = backend_pid(one);

  SECTION("outside a transaction, idle in the pool: replaced before use, nothing fails") {
    terminate_backend(pid);
    CHECK(repo.count() == 1);
    CHECK(backend_pid(one) != pid);
  }

  SECTION("outside a transaction, mid-use: a retryable OperationalError, and the next use gets a fresh one") {
    std::string what;
    one.with_connection([&](gocp::Connection& conn) {
      conn.execute("SELECT 1");  // the connection is in use: no longer fresh from the pool
      terminate_backend(pid);
      try {
        conn.query("SELECT COUNT(*) FROM pg_person", {}, [](const gocp::Row&) { return true; });
        FAIL("expected OperationalError");
      } catch (const gocp::OperationalError& e) {
        what = e.what();
        CHECK(e.retryable());  // a new session may well succeed
      }
    });
    CHECK_THAT(what, Contains("connection lost") && Contains("SELECT COUNT(*)") && Contains("fresh"));
    // pool=1: this only works if the broken connection was dropped, not reused
    CHECK(repo.count() == 1);
    CHECK(backend_pid(one) != pid);
  }

  SECTION("inside a transaction: it rolls back, and the next transaction works") {
    CHECK_THROWS_AS(one.atomic([&] {
                      repo.create({0, "Paul", "McCartney", 2, {}});
                      terminate_backend(pid);
                      repo.count();
                    }),
                    gocp::OperationalError);
    CHECK_FALSE(one.in_transaction());
    one.atomic([&] { repo.create({0, "George", "Harrison", 3, {}}); });
    CHECK(repo.count() == 2);  // Lennon and Harrison; McCartney was never committed
    CHECK_FALSE(repo.find(c(&PgPerson::first_name) == "Paul"));
  }

  SECTION("a connection handed back inside a transaction block is not reused") {
    // BEGIN by hand, outside gocp's transactions: the connection goes back to the pool
    // inside a transaction block, so the pool closes it (rolling the insert back)
    one.execute("BEGIN; INSERT INTO pg_person (first_name, last_name, birthday) VALUES ('Tmp', 'x', 0)");
    CHECK(backend_pid(one) != pid);  // the open-transaction connection was closed (rolled back)
    CHECK_FALSE(repo.find(c(&PgPerson::first_name) == "Tmp"));
  }
}

TEST_CASE("a connection lost between the pool's check and its first statement is reopened and the statement rerun",
          "[postgres][connection]") {
  int connects = 0;
  auto db = gocp::Database::open(Server::instance().create_database("pool=1"),
                                 gocp::OpenOptions{.on_connect = [&](gocp::Connection& c) {
                                   c.execute("SET application_name = 'hooked'");
                                   ++connects;
                                 }});
  const std::int64_t pid = backend_pid(db);
  std::string seen;
  db.with_connection([&](gocp::Connection& conn) {
    terminate_backend(pid);  // after the pool lent it as alive, before its first statement
    conn.query("SELECT current_setting('application_name')", {}, [&](const gocp::Row& r) {
      seen = std::string(r.text(0));
      return false;
    });
  });
  CHECK(seen == "hooked");  // run again on a new session, set up by on_connect too
  CHECK(connects == 2);
  CHECK(backend_pid(db) != pid);
}

TEST_CASE("after a server restart no call fails: connections idle in the pool are replaced",
          "[postgres][connection][restart]") {
  auto& server = Server::instance();
  std::atomic<int> connects{0}, hooked_not_ok{0};
  // the hook runs on the threads below too: it counts, and the test thread checks
  // (Catch's assertions are not thread-safe)
  auto db = gocp::Database::open(server.create_database("pool=4"), gocp::OpenOptions{.on_connect = [&](gocp::Connection& c) {
    if (PQstatus(static_cast<PGconn*>(c.native_handle())) != CONNECTION_OK) ++hooked_not_ok;
    c.execute("SET application_name = 'hooked'");
    ++connects;
  }});
  gocp::Repository<PgPerson> repo{db};
  repo.create_table();
  auto open_all = [&] {  // every pooled connection open, each with a prepared statement
    std::function<void(int)> hold = [&](int left) {
      if (left == 0) return;
      db.with_connection([&](gocp::Connection& conn) {
        conn.query("SELECT 1", {}, [](const gocp::Row&) { return true; });
        hold(left - 1);
      });
    };
    hold(4);
  };
  open_all();
  server.restart();

  int failures = 0;
  std::string first;
  auto call = [&](int i) {
    try {
      if (i % 2) repo.get_or_create(c(&PgPerson::first_name) == "p" + std::to_string(i),
                                     gocp::defaults(c(&PgPerson::last_name) = "x"));
      else db.atomic([&] { repo.count(); });
    } catch (const std::exception& e) {
      if (failures++ == 0) first = e.what();
    }
  };
  for (int i = 0; i < 10; ++i) call(i);
  CAPTURE(first);
  CHECK(failures == 0);

  open_all();
  server.restart();
  std::atomic<int> thread_failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        try {
          repo.get_or_create(c(&PgPerson::first_name) == "t" + std::to_string(t * 100 + i),
                             gocp::defaults(c(&PgPerson::last_name) = "x"));
        } catch (const std::exception&) {
          ++thread_failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(thread_failures == 0);
  CHECK(repo.count() == 5 + 40);
  CHECK(connects >= 4 + 1);  // every replacement was set up like the first ones
  CHECK(hooked_not_ok == 0);
  CHECK(scalar(db, "SHOW application_name") == "hooked");

  SECTION("inside a transaction the loss reaches the caller, retryable; nothing is rerun behind its back") {
    bool retryable = false;
    try {
      db.atomic([&] {
        repo.create({0, "inside", "x", 0, {}});
        server.restart();
        repo.count();
      });
      FAIL("expected OperationalError");
    } catch (const gocp::OperationalError& e) {
      retryable = e.retryable();
    }
    CHECK(retryable);
    CHECK_FALSE(repo.find(c(&PgPerson::first_name) == "inside"));
    CHECK(repo.count() == 45);
  }
}

TEST_CASE_METHOD(PgFixture, "statements are prepared once per connection and reused", "[postgres][statements]") {
  auto one = gocp::Database::open(Server::instance().url(scalar(db, "SELECT current_database()"), "pool=1"));
  gocp::Repository<PgPerson> repo{one};
  repo.create({0, "John", "Lennon", 1, {}});
  auto prepared = [&] {
    return std::stoll(scalar(one, "SELECT COUNT(*) FROM pg_prepared_statements WHERE name LIKE 'gocp\\_s%'"));
  };
  const auto before = prepared();
  for (int i = 0; i < 10; ++i) repo.find(c(&PgPerson::first_name) == "n" + std::to_string(i));
  CHECK(prepared() == before + 1);  // ten calls, other values, one statement
  CHECK(scalar(one, "SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT \"id\"%'") == "1");

  // many distinct statements: the cache is bounded (DEALLOCATE ALL past 256)
  one.with_connection([&](gocp::Connection& conn) {
    for (int i = 0; i < 600; ++i) {
      const gocp::Value v{std::int64_t{i}};
      std::int64_t got = -1;
      conn.query("SELECT $1::bigint + " + std::to_string(i), {&v, 1}, [&](const gocp::Row& row) {
        got = row.integer(0);
        return false;
      });
      REQUIRE(got == 2 * i);
    }
  });
  CHECK(prepared() <= 257);
  CHECK(repo.count() == 1);  // statements evicted earlier are prepared again

  SECTION("a statement the server dropped or invalidated is prepared again, not failed forever") {
    CHECK(repo.find(c(&PgPerson::first_name) == "John"));
    one.execute("DEALLOCATE ALL");  // behind the cache's back: 26000 on the next execute
    CHECK(repo.find(c(&PgPerson::first_name) == "John"));
    CHECK(repo.count() == 1);

    one.execute("CREATE TABLE changing (v BIGINT); INSERT INTO changing VALUES (7)");
    CHECK(scalar(one, "SELECT v FROM changing") == "7");
    one.execute("DROP TABLE changing; CREATE TABLE changing (v TEXT); INSERT INTO changing VALUES ('seven')");
    CHECK(scalar(one, "SELECT v FROM changing") == "seven");  // 0A000: the cached plan's result type changed

    // inside a transaction the error aborts it and surfaces; the next use prepares afresh
    one.execute("DEALLOCATE ALL");
    CHECK_THROWS_WITH(one.atomic([&] { return repo.count(); }), Contains("26000"));
    CHECK(repo.count() == 1);
  }
}

TEST_CASE("postgresql:// URLs: options, errors and redaction", "[postgres][url]") {
  auto& server = Server::instance();
  const std::string database = server.create_database();
  const std::string name = database.substr(database.rfind('/') + 1);
  const std::string base = "postgresql://postgres@127.0.0.1:" + std::to_string(server.port()) + "/" + name;

  auto db = gocp::Database::open(base + "?pool=3&connect_timeout=5&application_name=gocp-test&sslmode=disable");
  CHECK(scalar(db, "SHOW application_name") == "gocp-test");
  CHECK(scalar(gocp::Database::open(base), "SHOW application_name") == "gocp");
  CHECK(scalar(gocp::Database::open("postgres" + base.substr(10)), "SELECT 1") == "1");  // postgres://
  CHECK(scalar(db, "SHOW client_encoding") == "UTF8");
  // the Unix socket in the cluster's directory, as a percent-encoded host
  std::string socket_host;
  for (char ch : server.socket_dir().string()) socket_host += ch == '/' ? std::string("%2F") : std::string(1, ch);
  CHECK(scalar(gocp::Database::open("postgresql://postgres@" + socket_host + ":" + std::to_string(server.port()) + "/" +
                                    name),
               "SELECT COALESCE(inet_client_addr()::text, 'socket')") == "socket");

  auto config_error = [](const std::string& url) {
    try {
      gocp::Database::open(url);
    } catch (const gocp::ConfigurationError& e) {
      return std::string(e.what());
    } catch (const std::exception& e) {
      return std::string("wrong exception: ") + e.what();
    }
    return std::string("(opened)");
  };
  CHECK_THAT(config_error(base + "?pool=2&bogus=1&other=x"), Contains("'bogus'") && Contains("'other'"));
  CHECK_THAT(config_error(base + "?connect_timeout=soon"), Contains("connect_timeout"));
  CHECK_THAT(config_error(base + "?pool=0"), Contains("option 'pool' must be an integer from 1 to 100000 (the most "
                                                      "connections open at once: a pool of 0 could never lend one), got '0'"));
  CHECK_THAT(config_error("postgresql:nothing"), Contains("must be postgresql://"));
  CHECK_THAT(config_error("postgresql://h/db/extra"), Contains("one path segment"));
  CHECK_THAT(config_error("postgresql://h:port/db"), Contains("port"));
  // checked before connecting, so bad configuration, not a failure to connect
  CHECK_THAT(config_error(base + "?sslmode=sometimes"), Contains("'sslmode'") && Contains("sometimes"));
  CHECK_THAT(config_error("postgresql://u@127.0.0.1:0/db"), Contains("port") && Contains(":0/db"));
  CHECK_THAT(config_error("postgresql://u@127.0.0.1:4294972728/db"), Contains("port"));
  CHECK_THAT(config_error(base + "?connect_timeout=9223372036854775807"), Contains("'connect_timeout'"));
  // IPv6: the brackets' colons are not the port's (the cluster listens on 127.0.0.1 only,
  // so a refused connection on the right port proves the parse)
  CHECK_THAT(error_of([&] { gocp::Database::open("postgresql://postgres@[::1]:" + std::to_string(server.port()) + "/" +
                                                 name + "?connect_timeout=2"); }),
             Contains("cannot connect") && Contains("\"::1\", port " + std::to_string(server.port())));

  // a server that is not there: an OperationalError naming the URL, password redacted
  const std::string dead = "postgresql://postgres:s3cret@127.0.0.1:1/" + name + "?connect_timeout=2";
  std::string what;
  try {
    gocp::Database::open(dead);
    FAIL("expected OperationalError");
  } catch (const gocp::OperationalError& e) {
    what = e.what();
  }
  CHECK_THAT(what, Contains("cannot connect to PostgreSQL") && Contains("127.0.0.1:1/") && Contains("***"));
  CHECK_THAT(what, !Contains("s3cret"));
  CHECK_THAT(error_of([&] { gocp::Database::open(base + "_missing"); }),
             Contains("cannot connect") && Contains(name + "_missing"));
}

// Django: UpdateOrCreateTransactionTests.test_updates_in_transaction. update_or_create
// locks the row (SELECT ... FOR UPDATE) and, holding it, runs a slow callable default;
// a concurrent UPDATE of another field blocks until it commits, and its change survives.
TEST_CASE_METHOD(PgFixture, "update_or_create holds the row lock: a concurrent update waits and survives",
                 "[postgres][update_or_create][concurrency]") {
  using clock = std::chrono::steady_clock;
  const PgPerson john = people.create({0, "John", "Lennon", 19401009, {}});
  std::atomic<bool> has_grabbed_lock{false};
  clock::time_point callable_finished{};
  std::exception_ptr error;
  std::pair<PgPerson, bool> result;
  std::thread updater([&] {
    try {
      result = people.update_or_create(c(&PgPerson::first_name) == "John",
                                       gocp::defaults(c(&PgPerson::birthday) = [&] {
                                         has_grabbed_lock = true;  // called after SELECT ... FOR UPDATE
                                         std::this_thread::sleep_for(std::chrono::milliseconds(500));
                                         callable_finished = clock::now();
                                         return std::int64_t{19401010};
                                       }));
    } catch (...) {
      error = std::current_exception();
    }
  });
  const auto deadline = clock::now() + std::chrono::seconds(10);
  while (!has_grabbed_lock && clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(has_grabbed_lock);  // never skipped: a database that cannot lock fails here

  const std::size_t changed =
      people.filter(c(&PgPerson::first_name) == "John").update(c(&PgPerson::last_name) = "NotLennon");
  const clock::time_point after_update = clock::now();
  updater.join();
  if (error) std::rethrow_exception(error);

  CHECK(changed == 1);
  // It blocked: it returned only after the lock holder's callable had finished (the
  // holder commits after that), not during its half-second sleep.
  CHECK(after_update > callable_finished);
  CHECK_FALSE(result.second);
  CHECK(result.first.id == john.id);
  CHECK(result.first.birthday == 19401010);
  const PgPerson stored = people.get(c(&PgPerson::first_name) == "John");
  CHECK(stored.last_name == "NotLennon");  // outside the defaults: the concurrent change survives
  CHECK(stored.birthday == 19401010);
}

// Django: UpdateOrCreateTransactionTests.test_creation_in_transaction. The first lookup
// finds nothing; before update_or_create inserts, another connection inserts the row. The
// create then fails with IntegrityError, update_or_create re-gets the row locked and
// takes the update path.
TEST_CASE_METHOD(PgFixture, "a row inserted by another connection after the lookup turns the create into an update",
                 "[postgres][update_or_create][concurrency]") {
  int create_calls = 0;
  std::int64_t other_id = 0;
  auto conflicting_insert = [&] {
    if (create_calls++ == 0) {
      // from another thread, so another connection (committed at once), joined before we go on
      std::thread([&] { other_id = people.create({0, "John", "Lennon", 19401009, "the other"}).id; }).join();
    }
    return std::string("Created");
  };
  auto [p, created] = people.update_or_create(
      c(&PgPerson::first_name) == "John", gocp::defaults(c(&PgPerson::birthday) = 19401010),
      gocp::create_defaults(c(&PgPerson::last_name) = conflicting_insert, c(&PgPerson::birthday) = 1));
  CHECK(create_calls == 1);
  REQUIRE(other_id != 0);
  CHECK_FALSE(created);
  CHECK(p.id == other_id);
  CHECK(p.birthday == 19401010);                                   // the defaults were applied ...
  CHECK(p.last_name == "Lennon");                                  // ... and only they
  CHECK(p.nickname == std::optional<std::string>("the other"));
  CHECK(people.count() == 1);
  CHECK(people.get(c(&PgPerson::id) == other_id).birthday == 19401010);
}
