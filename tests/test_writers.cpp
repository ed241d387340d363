// Every writer seen (issue 20): a cache key names the database it came from, two handles
// on one database in a process share one change stream, and (SQLite) every statement's
// writes reach the caches. Built per database: test_writers (SQLite file) and
// test_writers_pg (a fresh PostgreSQL database).

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/database_url.hpp"
#include "support/temp_dir.hpp"

#ifdef GOCP_TEST_HAVE_REDIS
#include <gocp/backends/redis.hpp>

#include "support/redis_server.hpp"
#endif

using gocp::c;

namespace writers {

/// The link shortener of the reproductions.
struct Link {
  std::int64_t id = 0;
  std::string slug;
  std::string url;
};

}  // namespace writers

template <>
struct gocp::model<writers::Link> {
  static constexpr std::string_view name = "writers.link";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&writers::Link::id, "id"),
                  gocp::field(&writers::Link::slug, "slug", gocp::max_length(64), gocp::unique),
                  gocp::field(&writers::Link::url, "url", gocp::max_length(2000)));
};

namespace {

using writers::Link;
using Cached = gocp::Repository<Link, gocp::CachedGetOrCreate>;

/// The same database under another spelling of its URL: `/./` inside a SQLite path,
/// `localhost` for PostgreSQL's `127.0.0.1`.
std::string respelled(std::string url) {
  if (auto at = url.find("@127.0.0.1:"); at != std::string::npos) return url.replace(at, 11, "@localhost:");
  const auto slash = url.rfind('/');
  return url.insert(slash, "/.");
}

}  // namespace

// ---- 1. cache keys name the database ---------------------------------------------------

TEST_CASE("a database's identity is stored in it: every handle and spelling reads the same one",
          "[identity]") {
  gocp::test::TempDir dir;
  const std::string url = gocp::test::database_url(dir);
  const auto first = gocp::Database::open(url);
  REQUIRE(first.id().size() == 32);
  CHECK(gocp::Database::open(url).id() == first.id());
  CHECK(gocp::Database::open(respelled(url)).id() == first.id());
  gocp::test::TempDir other_dir;
  CHECK(gocp::Database::open(gocp::test::database_url(other_dir)).id() != first.id());
  // two in-memory databases are two databases
  CHECK(gocp::Database::open("sqlite::memory:").id() != gocp::Database::open("sqlite::memory:").id());
}

TEST_CASE("two spellings of one database share cache entries", "[identity]") {
  gocp::test::TempDir dir;
  const std::string url = gocp::test::database_url(dir);
  const auto a = gocp::Database::open(url);
  const auto b = gocp::Database::open(respelled(url));
  // two registries naming one locmem store, as two parts of a program would
  gocp::CacheRegistry caches_a{{"default", "locmem:///spellings"}, {"writers.link", "locmem:///spellings"}},
      caches_b{{"default", "locmem:///spellings"}, {"writers.link", "locmem:///spellings"}};
  Cached links_a{a, caches_a}, links_b{b, caches_b};
  links_a.create_table();
  const Link hot = links_a.get_or_create(c(&Link::slug) == "hot", gocp::defaults(c(&Link::url) = "https://v1/")).first;
  CHECK(links_a.get_or_create(c(&Link::slug) == "hot").first.url == "https://v1/");  // filled
  const auto before = links_b.stats();
  const auto [got, created] = links_b.get_or_create(c(&Link::slug) == "hot");
  CHECK_FALSE(created);
  CHECK(got.id == hot.id);
  CHECK(links_b.stats().db_queries == before.db_queries);  // answered from the entry a filled
  CHECK(links_b.stats().hits == before.hits + 1);
}

TEST_CASE("a copied database file gets a new identity from renew_identity", "[identity][sqlite]") {
  gocp::test::TempDir dir;
  const auto original = gocp::Database::open(dir.sqlite_url("original.db"));
  original.execute("PRAGMA wal_checkpoint(TRUNCATE)");  // the id row is in the main file, as cp copies it
  std::filesystem::copy_file(dir.file("original.db"), dir.file("copy.db"));
  CHECK(gocp::Database::open(dir.sqlite_url("copy.db")).id() == original.id());  // what a copy is
  const std::string renewed = gocp::Database::renew_identity(dir.sqlite_url("copy.db"));
  CHECK(renewed != original.id());
  CHECK(gocp::Database::open(dir.sqlite_url("copy.db")).id() == renewed);
  CHECK(gocp::Database::open(dir.sqlite_url("original.db")).id() == original.id());
  CHECK_THROWS_WITH(gocp::Database::renew_identity("sqlite::memory:"),
                    Catch::Contains("in memory") && Catch::Contains("no stored identity"));
}

#if defined(GOCP_TEST_HAVE_REDIS) && defined(GOCP_TEST_HAVE_POSTGRES)
// The reproduction 3: one Redis shared by a SQLite and a PostgreSQL database, no
// key_prefix. Ids collide (each database's first link is id 1); each must read its own row.
TEST_CASE("one Redis, a SQLite and a PostgreSQL database, no key_prefix: each reads its own rows",
          "[identity][redis][postgres]") {
  gocp::test::RedisServer redis;
  gocp::test::TempDir dir;
  const auto lite = gocp::Database::open(dir.sqlite_url());
  const auto pg = gocp::Database::open(gocp::test::PostgresServer::instance().create_database());
  gocp::CacheRegistry lite_caches{{"default", redis.url()}, {"writers.link", redis.url()}},
      pg_caches{{"default", redis.url()}, {"writers.link", redis.url()}};
  Cached lite_links{lite, lite_caches}, pg_links{pg, pg_caches};
  lite_links.create_table();
  pg_links.create_table();
  const Link from_lite =
      lite_links.get_or_create(c(&Link::slug) == "home", gocp::defaults(c(&Link::url) = "https://sqlite/")).first;
  const Link only_lite =
      lite_links.get_or_create(c(&Link::slug) == "staging", gocp::defaults(c(&Link::url) = "https://sqlite-only/")).first;
  // cached: the second ask of each is a hit
  CHECK(lite_links.get_or_create(c(&Link::id) == from_lite.id).first.url == "https://sqlite/");
  CHECK(lite_links.get_or_create(c(&Link::id) == only_lite.id).first.url == "https://sqlite-only/");
  CHECK(lite_links.get_or_create(c(&Link::id) == from_lite.id).first.url == "https://sqlite/");
  CHECK(lite_links.stats().hits >= 1);
  const Link from_pg =
      pg_links.get_or_create(c(&Link::slug) == "home", gocp::defaults(c(&Link::url) = "https://pg/")).first;
  REQUIRE(from_pg.id == from_lite.id);  // the collision the keys must survive
  CHECK(pg_links.get_or_create(c(&Link::id) == from_pg.id).first.url == "https://pg/");
  CHECK(pg_links.get_or_create(c(&Link::id) == from_pg.id).first.url == "https://pg/");
  // a row only the SQLite database holds: PostgreSQL creates its own
  const auto [pg_staging, created] =
      pg_links.get_or_create(c(&Link::id) == only_lite.id, gocp::defaults(c(&Link::slug) = "pg-staging",
                                                                          c(&Link::url) = "https://pg-staging/"));
  CHECK(created);
  CHECK(pg_staging.url == "https://pg-staging/");
  CHECK(pg_links.in_bulk({from_pg.id}).at(from_pg.id).url == "https://pg/");
  CHECK(lite_links.in_bulk({from_lite.id}).at(from_lite.id).url == "https://sqlite/");
  CHECK(lite_links.get_or_create(c(&Link::id) == only_lite.id).first.url == "https://sqlite-only/");
}
#endif

// ---- 2. one process, one view of a database -------------------------------------------

// The reproduction 2: a write through handle 2 reaches handle 1's cached repository.
TEST_CASE("two Database::open of one database share one change stream", "[identity][coherence]") {
  gocp::test::TempDir dir;
  const std::string url = gocp::test::database_url(dir);
  const auto one = gocp::Database::open(url);
  const auto two = gocp::Database::open(url);
  CHECK_FALSE(one == two);  // two handles ...
  CHECK(&one.changes() == &two.changes());  // ... one stream
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"writers.link", "locmem:///"}};
  Cached cached{one, caches};
  gocp::Repository<Link> plain{two};
  cached.create_table();
  cached.get_or_create(c(&Link::slug) == "hot", gocp::defaults(c(&Link::url) = "https://v1/"));
  CHECK(cached.get_or_create(c(&Link::slug) == "hot").first.url == "https://v1/");
  CHECK(cached.stats().hits == 1);
  Link hot = plain.get(c(&Link::slug) == "hot");
  hot.url = "https://v2/";
  plain.save(hot);
  CHECK(cached.get_or_create(c(&Link::slug) == "hot").first.url == "https://v2/");
  // a bulk update through the second handle too
  plain.filter(c(&Link::slug) == "hot").update(c(&Link::url) = "https://v3/");
  CHECK(cached.get_or_create(c(&Link::slug) == "hot").first.url == "https://v3/");
}

// ---- 3. SQLite: every statement's writes become RowChanges ----------------------------

namespace {

/// A text primary key: not the rowid, so the update hook cannot name its rows.
struct Tag {
  std::string name;
  int uses = 0;
};

}  // namespace

template <>
struct gocp::model<Tag> {
  static constexpr std::string_view name = "writers.tag";
  static constexpr auto schema = gocp::table(gocp::primary_key(&Tag::name, "name", gocp::max_length(64)),
                                             gocp::field(&Tag::uses, "uses"));
};

namespace {

/// Three cached links on a SQLite file, and every change the stream delivers.
struct Hooked {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(dir.sqlite_url());
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"writers.link", "locmem:///"}, {"writers.tag", "locmem:///"}};
  Cached links{db, caches};
  std::vector<gocp::RowChange> seen;
  std::shared_ptr<void> subscription;
  std::string table = links.info().table;

  Hooked() {
    links.create_table();
    for (const char* slug : {"a", "b", "c"}) {
      links.get_or_create(c(&Link::slug) == slug, gocp::defaults(c(&Link::url) = std::string("https://") + slug + "/"));
      links.get_or_create(c(&Link::slug) == slug);  // cached
    }
    subscription = db.changes().subscribe(table, [this](const gocp::RowChange& change) { seen.push_back(change); });
  }

  /// The url a cached get_or_create answers for `slug`, and whether it came from the cache.
  std::pair<std::string, bool> read(const char* slug) {
    const auto hits = links.stats().hits;
    const std::string url = links.get_or_create(c(&Link::slug) == slug, gocp::defaults(c(&Link::url) = "https://new/"))
                                .first.url;
    return {url, links.stats().hits == hits + 1};
  }
  std::int64_t id_of(const char* slug) const { return links.get(c(&Link::slug) == slug).id; }
};

}  // namespace

TEST_CASE_METHOD(Hooked, "raw SQL through db.execute invalidates exactly the rows it wrote (update hook)",
                 "[sqlite][hooks]") {
  CHECK(read("a") == std::pair<std::string, bool>{"https://a/", true});
  db.execute("UPDATE " + table + " SET url = 'https://raw/' WHERE slug = 'a'");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].pk == gocp::Value{id_of("a")});
  CHECK((seen[0].had_row && seen[0].has_row && !seen[0].whole_table && !seen[0].before && !seen[0].after));
  CHECK(read("a") == std::pair<std::string, bool>{"https://raw/", false});
  CHECK(read("b") == std::pair<std::string, bool>{"https://b/", true});  // the other rows stay cached
  db.execute("DELETE FROM " + table + " WHERE slug = 'c'");
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].is_delete());
  CHECK(read("c") == std::pair<std::string, bool>{"https://new/", false});  // created again
  // a borrowed connection is raw SQL too
  db.with_connection([&](gocp::Connection& conn) {
    const gocp::Value url{std::string("https://borrowed/")};
    conn.query("UPDATE " + table + " SET url = ? WHERE slug = 'b'", {&url, 1}, [](const gocp::Row&) { return true; });
  });
  CHECK(read("b") == std::pair<std::string, bool>{"https://borrowed/", false});
}

TEST_CASE_METHOD(Hooked, "a repository's writes are published once, with their values", "[sqlite][hooks]") {
  Link a = links.get(c(&Link::slug) == "a");
  a.url = "https://saved/";
  links.save(a);
  REQUIRE(seen.size() == 1);  // the repository's change, not the hook's as well
  CHECK(seen[0].after.has_value());
  links.filter(c(&Link::slug) != "a").update(c(&Link::url) = "https://bulk/");
  CHECK(seen.size() == 3);
}

TEST_CASE_METHOD(Hooked, "DELETE without WHERE names every row (no truncate optimisation)", "[sqlite][hooks]") {
  const std::vector<std::int64_t> ids{id_of("a"), id_of("b"), id_of("c")};
  db.execute("DELETE FROM " + table);
  REQUIRE(seen.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(seen[i].is_delete());
    CHECK_FALSE(seen[i].whole_table);
    CHECK(seen[i].pk == gocp::Value{ids[i]});
  }
  CHECK(read("a") == std::pair<std::string, bool>{"https://new/", false});
}

TEST_CASE_METHOD(Hooked, "REPLACE's implicit deletes invalidate the whole table", "[sqlite][hooks]") {
  // 'a' holds the slug: REPLACE deletes its row (unreported by the update hook) and inserts 99
  db.execute("REPLACE INTO " + table + " (id, slug, url) VALUES (99, 'a', 'https://replaced/')");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].whole_table);
  const auto [url, hit] = read("a");
  CHECK(url == "https://replaced/");
  CHECK_FALSE(hit);
  CHECK(links.get_or_create(c(&Link::slug) == "a").first.id == 99);
}

TEST_CASE_METHOD(Hooked, "writes to a WITHOUT ROWID table, or one keyed by text, invalidate the whole table",
                 "[sqlite][hooks]") {
  gocp::Repository<Tag, gocp::CachedGetOrCreate> tags{db, caches};
  std::vector<gocp::RowChange> tag_changes;
  auto sub = db.changes().subscribe(tags.info().table,
                                    [&](const gocp::RowChange& change) { tag_changes.push_back(change); });
  for (const bool without_rowid : {true, false}) {
    INFO("WITHOUT ROWID: " << without_rowid);
    db.execute("DROP TABLE IF EXISTS " + tags.info().table);
    db.execute("CREATE TABLE " + tags.info().table + " (name TEXT PRIMARY KEY, uses INTEGER NOT NULL)" +
               (without_rowid ? " WITHOUT ROWID" : ""));
    tags.get_or_create(c(&Tag::name) == "cpp", gocp::defaults(c(&Tag::uses) = 1));
    CHECK(tags.get_or_create(c(&Tag::name) == "cpp").first.uses == 1);  // cached
    tag_changes.clear();
    db.execute("UPDATE " + tags.info().table + " SET uses = 2 WHERE name = 'cpp'");
    REQUIRE(tag_changes.size() == 1);
    CHECK(tag_changes[0].whole_table);
    CHECK(tags.get_or_create(c(&Tag::name) == "cpp").first.uses == 2);
  }
}

TEST_CASE_METHOD(Hooked, "DDL invalidates the whole table", "[sqlite][hooks]") {
  CHECK(read("a").second);
  db.execute("CREATE INDEX writers_link_url ON " + table + " (url)");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].whole_table);
  CHECK_FALSE(read("a").second);  // dropped: read again
  CHECK(read("a").second);
  db.execute("ALTER TABLE " + table + " ADD COLUMN extra INTEGER");
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].whole_table);
  CHECK_FALSE(read("b").second);
}

TEST_CASE_METHOD(Hooked, "raw writes of a transaction are published at its commit, dropped by its rollback",
                 "[sqlite][hooks]") {
  CHECK_THROWS_AS(db.atomic([&] {
                    db.execute("UPDATE " + table + " SET url = 'https://rolled-back/'");
                    throw std::runtime_error("no");
                  }),
                  std::runtime_error);
  CHECK(seen.empty());
  CHECK(read("a") == std::pair<std::string, bool>{"https://a/", true});
  // BEGIN ... ROLLBACK in raw SQL too
  db.with_connection([&](gocp::Connection& conn) {
    conn.execute("BEGIN");
    conn.execute("UPDATE " + table + " SET url = 'https://rolled-back/'");
    conn.execute("ROLLBACK");
  });
  CHECK(seen.empty());
  db.atomic([&] {
    db.execute("UPDATE " + table + " SET url = 'https://committed/' WHERE slug = 'b'");
    CHECK(seen.empty());  // not before the commit
  });
  REQUIRE(seen.size() == 1);
  CHECK(read("b") == std::pair<std::string, bool>{"https://committed/", false});
  CHECK(read("a").second);
}

// ---- 4. SQLite: writes by other processes and programs (?watch=) ----------------------

namespace {

/// Runs `sql` on `file` with the sqlite3 command-line shell: a writer that is not gocp.
void sqlite3_cli(const std::filesystem::path& file, const std::string& sql) {
  const std::string command = "sqlite3 '" + file.string() + "' \"" + sql + "\"";
  REQUIRE(std::system(command.c_str()) == 0);
}

/// Runs `sql` on `file` in a forked child through SQLite's C API, and waits for it.
void forked_writer(const std::filesystem::path& file, const std::string& sql) {
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    sqlite3* conn = nullptr;
    int rc = sqlite3_open(file.c_str(), &conn);
    if (rc == SQLITE_OK) sqlite3_busy_timeout(conn, 5000);
    if (rc == SQLITE_OK) rc = sqlite3_exec(conn, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(conn);
    _exit(rc == SQLITE_OK ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

/// Two cached links on a SQLite file opened with `?watch=<mode>`.
struct Watched {
  gocp::test::TempDir dir;
  gocp::Database db;
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"writers.link", "locmem:///"}};
  Cached links;
  std::string table;

  explicit Watched(const std::string& mode)
      : db(gocp::Database::open(dir.sqlite_url() + "?watch=" + mode)), links(db, caches), table(links.info().table) {
    links.create_table();
    for (const char* slug : {"hot", "cold"})
      links.get_or_create(c(&Link::slug) == slug, gocp::defaults(c(&Link::url) = std::string("https://") + slug + "/"));
  }
  std::pair<std::string, bool> read(const char* slug) {
    const auto hits = links.stats().hits;
    const std::string url = links.get_or_create(c(&Link::slug) == slug, gocp::defaults(c(&Link::url) = "https://new/"))
                                .first.url;
    return {url, links.stats().hits == hits + 1};
  }
};

}  // namespace

TEST_CASE("?watch=strict: a write by the sqlite3 CLI reaches this process's locmem cache at the next read",
          "[sqlite][watch]") {
  Watched w("strict");
  for (int i = 0; i < 2; ++i) {  // the first read may see this process's own creates come back through the log
    w.read("hot");
    w.read("cold");
  }
  CHECK(w.read("hot") == std::pair<std::string, bool>{"https://hot/", true});
  sqlite3_cli(w.dir.file("test.db"), "UPDATE " + w.table + " SET url = 'https://cli/' WHERE slug = 'hot'");
  CHECK(w.read("hot") == std::pair<std::string, bool>{"https://cli/", false});
  CHECK(w.read("cold") == std::pair<std::string, bool>{"https://cold/", true});  // only the row written
  sqlite3_cli(w.dir.file("test.db"), "DELETE FROM " + w.table + " WHERE slug = 'cold'");
  CHECK(w.read("cold") == std::pair<std::string, bool>{"https://new/", false});  // gone: created again
}

TEST_CASE("?watch=<ms>: a write by another process is seen within the bound", "[sqlite][watch]") {
  Watched w("50");
  for (int i = 0; i < 2; ++i) w.read("hot");
  std::this_thread::sleep_for(std::chrono::milliseconds(60));  // past the bound of the reads above
  w.read("hot");
  forked_writer(w.dir.file("test.db"), "UPDATE " + w.table + " SET url = 'https://forked/' WHERE slug = 'hot'");
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  CHECK(w.read("hot").first == "https://forked/");
}

TEST_CASE("?watch= installs the change log triggers with the table, and off installs none", "[sqlite][watch]") {
  Watched w("strict");
  const auto triggers = [](const gocp::Database& db) {
    std::int64_t n = 0;
    db.with_connection([&](gocp::Connection& conn) {
      conn.query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'gocp_log_%'", {},
                 [&](const gocp::Row& row) {
                   n = row.integer(0);
                   return false;
                 });
    });
    return n;
  };
  CHECK(triggers(w.db) == 3);
  gocp::test::TempDir dir;
  const auto plain = gocp::Database::open(dir.sqlite_url());
  gocp::Repository<Link>(plain).create_table();
  CHECK(triggers(plain) == 0);
  CHECK_THROWS_WITH(gocp::Database::open(dir.sqlite_url() + "?watch=soon"),
                    Catch::Contains("watch='soon'") && Catch::Contains("strict"));
  CHECK_THROWS_WITH(gocp::Database::open("sqlite::memory:?watch=strict"), Catch::Contains("in-memory"));
}
