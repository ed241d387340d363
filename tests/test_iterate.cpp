// Repository::iterate(): a streaming cursor over a queryset's rows, holding one
// connection while open. The same binary runs on SQLite (test_iterate.*) and on
// PostgreSQL (test_iterate_pg.*).

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>
#include <gocp/policies/cached_get_or_create.hpp>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "support/database_url.hpp"
#include "support/temp_dir.hpp"

namespace {

struct Link {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string url;
  std::int64_t clicks = 0;

  friend bool operator==(const Link&, const Link&) = default;
};

}  // namespace

template <>
struct gocp::model<Link> {
  static constexpr std::string_view name = "tests.iterate_link";
  static constexpr auto schema = gocp::table(gocp::primary_key(&Link::id, "id"), gocp::field(&Link::user_id, "user_id"),
                                             gocp::field(&Link::url, "url", gocp::unique), gocp::field(&Link::clicks, "clicks"));
};

namespace {

using gocp::c;
using gocp::test::TempDir;
using gocp::test::testing_postgres;

/// The suite's database with Database options (`pool=1&wait_timeout_ms=...`).
std::string url_with(const TempDir& dir, const std::string& options) {
#ifdef GOCP_TEST_HAVE_POSTGRES
  if (testing_postgres()) return gocp::test::PostgresServer::instance().create_database(options);
#endif
  return dir.sqlite_url() + (options.empty() ? "" : "?" + options);
}

/// `n` links numbered from `first`, user_id cycling over 0..9, in one transaction.
template <class Repo>
void fill(const Repo& links, int n, int first = 1) {
  links.database().atomic([&] {
    for (int i = first; i < first + n; ++i)
      links.create(Link{0, i % 10, "https://example.com/" + std::to_string(i), i * 3});
  });
}

template <class Repo>
std::uint64_t queries(const Repo& links) {
  return links.stats().db_queries;
}

std::vector<Link> read_all(gocp::ObjectCursor<Link> cursor) {
  std::vector<Link> out;
  for (const Link& l : cursor) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("iterate() reads the rows all() reads, in its order, as one statement", "[iterate]") {
  TempDir dir;
  auto db = gocp::Database::open(gocp::test::database_url(dir));
  gocp::Repository<Link> links{db};
  links.create_table();
  fill(links, 10'000);

  const auto everything = links.all();
  REQUIRE(everything.size() == 10'000);
  auto before = queries(links);
  const auto streamed = read_all(links.iterate());
  CHECK(queries(links) - before == 1);
  CHECK(streamed == everything);

  // the queryset's filters and bound values apply
  const auto some = links.filter(c(&Link::clicks) > 15'000).bind(c(&Link::user_id) = 3);
  before = queries(links);
  const auto filtered = read_all(some.iterate());
  CHECK(queries(links) - before == 1);
  CHECK(filtered == some.all());
  REQUIRE(filtered.size() == 500);
  CHECK(filtered.front().id == 5003);

  // no rows: the loop body never runs, and the one statement is still counted
  before = queries(links);
  int rows = 0;
  for ([[maybe_unused]] const Link& l : links.filter(c(&Link::clicks) < 0).iterate()) ++rows;
  CHECK(rows == 0);
  CHECK(queries(links) - before == 1);
}

TEST_CASE("a cursor is read once, through an input iterator", "[iterate]") {
  STATIC_REQUIRE(std::input_iterator<gocp::ObjectCursor<Link>::iterator>);
  STATIC_REQUIRE(std::sentinel_for<std::default_sentinel_t, gocp::ObjectCursor<Link>::iterator>);
  TempDir dir;
  auto db = gocp::Database::open(gocp::test::database_url(dir));
  gocp::Repository<Link> links{db};
  links.create_table();
  fill(links, 3);
  auto cursor = links.iterate();
  auto it = cursor.begin();
  CHECK(it->id == 1);
  ++it;
  CHECK((*it).id == 2);
  CHECK_THROWS_WITH(cursor.begin(), Catch::Contains("tests.iterate_link") && Catch::Contains("read twice"));
  ++it;
  CHECK(it != cursor.end());
  CHECK(cursor.is_open());
  ++it;
  CHECK(it == cursor.end());
  CHECK_FALSE(cursor.is_open());  // past the last row: closed, its connection given back
}

TEST_CASE("a cursor holds one connection while open and gives it back when it ends early", "[iterate][pool]") {
  TempDir dir;
  auto db = gocp::Database::open(url_with(dir, "pool=1&wait_timeout_ms=300"));
  gocp::Repository<Link> links{db};
  links.create_table();
  fill(links, 2'000);

  SECTION("held while open: with pool=1 another thread cannot have a connection") {
    auto cursor = links.iterate();
    auto it = cursor.begin();
    CHECK(it->id == 1);
    std::thread other([&] { CHECK_THROWS_AS(links.count(), gocp::OperationalError); });
    other.join();
    // this thread would wait for its own cursor's connection: refused at once, not after a wait
    CHECK_THROWS_WITH(links.count(), Catch::Contains("would wait forever") && Catch::Contains("close the cursor"));
  }

  SECTION("break: the same thread, then another thread, use the one connection") {
    int seen = 0;
    for (const Link& l : links.iterate()) {
      CHECK(l.id == ++seen);
      if (seen == 5) break;
    }
    CHECK(links.count() == 2'000);
    CHECK(links.filter(c(&Link::id) == 7).all().at(0).clicks == 21);
    std::thread other([&] {
      CHECK(links.count() == 2'000);
      links.create(Link{0, 1, "from another thread", 0});
    });
    other.join();
    CHECK(links.count() == 2'001);
  }

  SECTION("destroyed before its first row was read, or closed by hand") {
    { auto cursor = links.iterate(); }
    CHECK(links.count() == 2'000);
    auto cursor = links.iterate();
    auto it = cursor.begin();
    ++it;
    CHECK(it->id == 2);
    cursor.close();
    CHECK_FALSE(cursor.is_open());
    CHECK(links.count() == 2'000);
    db.atomic([&] { links.create(Link{0, 1, "after a closed cursor", 0}); });
    CHECK(links.count() == 2'001);
  }

  SECTION("an exception out of the loop closes it") {
    CHECK_THROWS_AS(
        [&] {
          for (const Link& l : links.iterate())
            if (l.id == 10) throw std::runtime_error("stop");
        }(),
        std::runtime_error);
    CHECK(links.count() == 2'000);
  }
}

TEST_CASE("a statement inside the loop whose only connection is the cursor's is refused, not a hang", "[iterate][pool]") {
  TempDir dir;
  auto db = gocp::Database::open(url_with(dir, "pool=1"));  // waits forever for a connection by default
  gocp::Repository<Link> links{db};
  links.create_table();
  fill(links, 10);
  int seen = 0;
  for ([[maybe_unused]] const Link& l : links.iterate()) {
    ++seen;
    CHECK_THROWS_AS(links.count(), gocp::Error);
    CHECK_THROWS_WITH(db.atomic([] {}), Catch::Contains("held by cursors (iterate()) open on this same thread"));
  }
  CHECK(seen == 10);
  CHECK(links.count() == 10);  // the loop ended: the connection is back
}

TEST_CASE("a cursor inside a transaction reads the transaction's connection", "[iterate][transaction]") {
  TempDir dir;
  auto db = gocp::Database::open(url_with(dir, "pool=1&wait_timeout_ms=300"));
  gocp::Repository<Link> links{db};
  links.create_table();
  fill(links, 1'000);

  SECTION("it sees the transaction's own writes, and the loop may finish normally") {
    db.atomic([&] {
      links.create(Link{0, 42, "inside", 0});
      std::size_t rows = 0;
      std::int64_t last = 0;
      for (const Link& l : links.iterate()) {
        ++rows;
        last = l.id;
      }
      CHECK(rows == 1'001);
      CHECK(last == 1'001);
      CHECK(links.count() == 1'001);  // the cursor finished: the connection is free
    });
    CHECK(links.count() == 1'001);
  }

  SECTION("another statement while it is open: SQLite interleaves, PostgreSQL refuses clearly") {
    db.atomic([&] {
      int seen = 0;
      for (const Link& l : links.iterate()) {
        if (++seen == 3) {
          if (testing_postgres()) {
            CHECK_THROWS_WITH(links.count(), Catch::Contains("cursor (iterate()) is still reading") &&
                                                 Catch::Contains("close the cursor"));
          } else {
            CHECK(links.count() == 1'000);
            links.filter(c(&Link::id) == l.id).update(c(&Link::clicks) = -1);
          }
          break;
        }
      }
      // broken out of: the transaction's connection runs statements again, its transaction intact
      links.create(Link{0, 7, "after the loop", 0});
      CHECK(links.count() == 1'001);
    });
    CHECK(links.count() == 1'001);
    CHECK(links.filter(c(&Link::clicks) == -1).count() == (testing_postgres() ? 0 : 1));
  }

  SECTION("a cursor opened in a savepoint that rolls back") {
    db.atomic([&] {
      links.create(Link{0, 1, "kept", 0});
      CHECK_THROWS_AS(db.atomic([&] {
                        links.create(Link{0, 1, "dropped", 0});
                        for (const Link& l : links.iterate())
                          if (l.url == "dropped") throw std::runtime_error("undo");
                      }),
                      std::runtime_error);
      CHECK(links.count() == 1'001);
    });
    CHECK(links.filter(c(&Link::url) == "kept").count() == 1);
    CHECK(links.filter(c(&Link::url) == "dropped").count() == 0);
  }
}

TEST_CASE("a cursor does not outlive its transaction: ending it closes the cursor, and reading on throws",
          "[iterate][transaction]") {
  TempDir dir;
  auto db = gocp::Database::open(url_with(dir, "pool=1&wait_timeout_ms=300"));
  gocp::Repository<Link> links{db};
  links.create_table();
  fill(links, 500);

  const bool commit = GENERATE(true, false);
  const bool nested = GENERATE(false, true);
  CAPTURE(commit, nested);
  std::optional<gocp::Transaction> outer;
  if (nested) outer.emplace(db);
  auto tx = std::make_unique<gocp::Transaction>(db);
  links.create(Link{0, 1, "written in the level", 0});
  auto cursor = links.iterate();
  auto it = cursor.begin();
  CHECK(it->id == 1);
  if (commit) tx->commit();
  else tx->rollback();
  CHECK_FALSE(cursor.is_open());
  CHECK_THROWS_WITH(++it, Catch::Contains("after the transaction (or savepoint) it was opened in ended"));
  tx.reset();
  CHECK(links.count() == (commit ? 501u : 500u));  // the connection works, its transaction state right
  if (outer) outer->commit();
  CHECK(links.count() == (commit ? 501u : 500u));
}

TEST_CASE("a cursor reads its snapshot while another thread writes", "[iterate][concurrency]") {
  TempDir dir;
  auto db = gocp::Database::open(url_with(dir, "pool=2"));
  gocp::Repository<Link> links{db};
  links.create_table();
  fill(links, 3'000);

  std::size_t rows = 0;
  for (const Link& l : links.iterate()) {
    if (++rows == 10) {
      std::thread writer([&] {
        fill(links, 100, 5'001);  // new rows after its snapshot
        links.filter(c(&Link::id) == 2'000).update(c(&Link::url) = "changed");
        links.filter(c(&Link::id) == 2'500).remove_all();
      });
      writer.join();
    }
    if (l.id == 2'000) CHECK(l.url == "https://example.com/2000");
  }
  CHECK(rows == 3'000);
  CHECK(links.count() == 3'099);
  CHECK(links.filter(c(&Link::id) == 2'000).all().at(0).url == "changed");
}

TEST_CASE("iterate() on a repository with caches reads the database, and the caches transaction bookkeeping holds",
          "[iterate][caches]") {
  TempDir dir;
  auto db = gocp::Database::open(gocp::test::database_url(dir));
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"tests.iterate_link", "locmem:///"}};
  gocp::Repository<Link, gocp::CachedGetOrCreate> links{db, caches};
  links.create_table();
  fill(links, 50);
  const auto first = c(&Link::url) == "https://example.com/1";
  const Link one = links.get_or_create(first).first;  // a miss: now cached
  auto before = queries(links);
  CHECK(links.get_or_create(first).first == one);
  CHECK(queries(links) == before);  // a hit
  std::size_t rows = 0;
  before = queries(links);
  for ([[maybe_unused]] const Link& l : links.iterate()) ++rows;  // never from a cache
  CHECK(rows == 50);
  CHECK(queries(links) - before == 1);

  const auto rolled_back = [&] {
    gocp::Transaction tx{db};
    links.filter(c(&Link::id) == one.id).update(c(&Link::clicks) = 99);
    for (const Link& l : links.iterate())
      if (l.id == one.id) CHECK(l.clicks == 99);  // the transaction's own write
    CHECK(links.get_or_create(first).first.clicks == 99);  // the table was written: not the cache
  };
  rolled_back();
  CHECK(links.get_or_create(first).first.clicks == one.clicks);
  db.atomic([&] {
    links.filter(c(&Link::id) == one.id).update(c(&Link::clicks) = 77);
    for (const Link& l : links.iterate())
      if (l.id == one.id) CHECK(l.clicks == 77);
  });
  CHECK(links.get_or_create(first).first.clicks == 77);  // invalidated at the commit
}

TEST_CASE("a DatabaseCursor streams raw SQL with bound values", "[iterate]") {
  TempDir dir;
  auto db = gocp::Database::open(url_with(dir, "pool=1&wait_timeout_ms=300"));
  gocp::Repository<Link> links{db};
  links.create_table();
  fill(links, 100);
  const std::string sql = std::string("SELECT id, url FROM \"tests_iterate_link\" WHERE clicks > ") +
                          (testing_postgres() ? "$1" : "?") + " ORDER BY id";
  const std::vector<gocp::Value> params{gocp::Value{std::int64_t{290}}};
  auto rows = gocp::DatabaseCursor::open(db, sql, params);
  std::vector<std::int64_t> ids;
  while (rows.next()) ids.push_back(rows.row().integer(0));
  CHECK(ids == std::vector<std::int64_t>{97, 98, 99, 100});
  CHECK_FALSE(rows.is_open());
  CHECK_FALSE(rows.next());
  CHECK(links.count() == 100);
  // an error in the statement is thrown when it opens, holding nothing
  CHECK_THROWS_AS(gocp::DatabaseCursor::open(db, "SELECT nope FROM \"tests_iterate_link\""), gocp::DatabaseError);
  CHECK(links.count() == 100);
}

#ifdef GOCP_TEST_HAVE_POSTGRES
TEST_CASE("PostgreSQL: a session terminated mid-stream is an OperationalError, and the pool replaces the connection",
          "[iterate][postgres]") {
  REQUIRE(testing_postgres());  // tagged [postgres]: run only as test_iterate_pg.*
  const std::string url = gocp::test::PostgresServer::instance().create_database("pool=1&wait_timeout_ms=2000");
  auto db = gocp::Database::open(url);
  auto killer = gocp::Database::open(url);
  // a set-returning function in the select list streams (one in FROM would be
  // materialised first): far more rows than the sockets can buffer
  auto rows = gocp::DatabaseCursor::open(db, "SELECT generate_series(1, 100000000), repeat('x', 500)");
  for (int i = 1; i <= 10; ++i) {
    REQUIRE(rows.next());
    CHECK(rows.row().integer(0) == i);
  }
  std::int64_t terminated = 0;
  killer.with_connection([&](gocp::Connection& conn) {
    conn.query("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
               "AND pid <> pg_backend_pid() AND state = 'active'",
               {}, [&](const gocp::Row& r) {
                 terminated = r.integer(0);
                 return true;
               });
  });
  CHECK(terminated == 1);
  auto read_to_the_end = [&] {
    while (rows.next()) {
    }
  };
  CHECK_THROWS_AS(read_to_the_end(), gocp::OperationalError);
  CHECK_FALSE(rows.is_open());
  // the broken connection was dropped: pool=1 opens a fresh one
  std::int64_t one = 0;
  db.with_connection([&](gocp::Connection& conn) {
    conn.query("SELECT 1", {}, [&](const gocp::Row& r) {
      one = r.integer(0);
      return true;
    });
  });
  CHECK(one == 1);
}

TEST_CASE("PostgreSQL: closing a huge stream early cancels it and the connection is reused", "[iterate][postgres]") {
  REQUIRE(testing_postgres());  // tagged [postgres]: run only as test_iterate_pg.*
  auto db = gocp::Database::open(gocp::test::PostgresServer::instance().create_database("pool=1&wait_timeout_ms=2000"));
  void* first_handle = nullptr;
  db.with_connection([&](gocp::Connection& c) { first_handle = c.native_handle(); });
  {
    auto rows = gocp::DatabaseCursor::open(db, "SELECT generate_series(1, 100000000)");
    REQUIRE(rows.next());
  }  // closed here: cancelled, not read to its end (that would take minutes)
  db.with_connection([&](gocp::Connection& c) {
    CHECK(c.native_handle() == first_handle);  // the same session, usable
    std::int64_t n = 0;
    c.query("SELECT 41 + 1", {}, [&](const gocp::Row& r) {
      n = r.integer(0);
      return true;
    });
    CHECK(n == 42);
  });
}
#endif
