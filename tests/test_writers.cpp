// Every writer seen (issue 20): a cache key names the database it came from, two handles
// on one database in a process share one change stream, and (SQLite) every statement's
// writes reach the caches. Built per database: test_writers (SQLite file) and
// test_writers_pg (a fresh PostgreSQL database).

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/database_url.hpp"
#include "support/eventually.hpp"
#include "support/processes.hpp"
#include "support/temp_dir.hpp"

#ifdef GOCP_TEST_HAVE_REDIS
#include <gocp/backends/redis.hpp>

#include "support/redis_server.hpp"
#endif
#ifdef GOCP_TEST_HAVE_MEMCACHED
#include <gocp/backends/memcached.hpp>

#include "support/memcached_server.hpp"
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

TEST_CASE_METHOD(Hooked, "a kept statement that SQLite prepares again after a schema change names what it now writes",
                 "[sqlite][hooks]") {
  gocp::Repository<Tag, gocp::CachedGetOrCreate> tags{db, caches};
  const std::string drop = "DROP TABLE IF EXISTS " + tags.info().table;
  db.execute(drop);  // kept while the table is absent: it writes nothing
  tags.create_table();
  tags.get_or_create(c(&Tag::name) == "cpp", gocp::defaults(c(&Tag::uses) = 1));
  CHECK(tags.get_or_create(c(&Tag::name) == "cpp").first.uses == 1);  // cached
  db.execute(drop);  // the kept statement, prepared again by SQLite: now it drops the table
  tags.create_table();
  const auto [tag, created] = tags.get_or_create(c(&Tag::name) == "cpp", gocp::defaults(c(&Tag::uses) = 5));
  CHECK(created);  // not the dropped row from the cache
  CHECK(tag.uses == 5);
}

TEST_CASE_METHOD(Hooked, "ALTER TABLE and DROP TABLE invalidate the whole table, CREATE TABLE and indexes nothing",
                 "[sqlite][hooks]") {
  CHECK(read("a").second);
  db.execute("CREATE INDEX writers_link_url ON " + table + " (url)");  // no row changes
  db.execute("DROP INDEX writers_link_url");
  db.execute("CREATE TABLE IF NOT EXISTS " + table + " (id INTEGER PRIMARY KEY)");  // exists: nothing happens
  CHECK(seen.empty());
  CHECK(read("a").second);  // still cached
  db.execute("ALTER TABLE " + table + " ADD COLUMN extra INTEGER");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].whole_table);
  CHECK_FALSE(read("a").second);  // dropped: read again
  CHECK(read("a").second);
  db.execute("DROP TABLE " + table);
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].whole_table);
  links.create_table();
  CHECK(read("a") == std::pair<std::string, bool>{"https://new/", false});  // the old row is gone from the cache too
}

TEST_CASE_METHOD(Hooked, "cached querysets see raw SQL: a pk-only or table-wide change is a miss, then cached again",
                 "[sqlite][hooks][queries]") {
  gocp::Repository<Link, gocp::CachedQueries> queries{db, caches};
  const auto urls = [&] {
    const auto before = queries.stats().db_queries;
    std::vector<std::string> out;
    for (const Link& l : queries.filter(c(&Link::slug) != "none").order_by(c(&Link::slug)).cache().all())
      out.push_back(l.url);
    return std::pair{out, queries.stats().db_queries - before};
  };
  using Read = std::pair<std::vector<std::string>, std::uint64_t>;
  CHECK(urls() == Read{{"https://a/", "https://b/", "https://c/"}, 1});
  CHECK(urls() == Read{{"https://a/", "https://b/", "https://c/"}, 0});  // cached
  db.execute("UPDATE " + table + " SET url = 'https://raw/' WHERE slug = 'b'");  // pk only: values unknown
  CHECK(urls() == Read{{"https://a/", "https://raw/", "https://c/"}, 1});
  CHECK(urls() == Read{{"https://a/", "https://raw/", "https://c/"}, 0});
  db.execute("REPLACE INTO " + table + " (id, slug, url) VALUES (99, 'c', 'https://replaced/')");  // whole table
  CHECK(urls() == Read{{"https://a/", "https://raw/", "https://replaced/"}, 1});
  // a get by any lookup is a cached query too
  CHECK(queries.get(c(&Link::url) == "https://raw/").slug == "b");
  CHECK(queries.get(c(&Link::url) == "https://raw/").slug == "b");
  const auto before = queries.stats().db_queries;
  db.execute("UPDATE " + table + " SET url = 'https://raw-2/' WHERE slug = 'b'");
  CHECK_FALSE(queries.find(c(&Link::url) == "https://raw/").has_value());
  CHECK(queries.stats().db_queries == before + 1);
}

TEST_CASE("two databases behind one locmem registry: cached querysets never meet", "[identity][queries][sqlite]") {
  gocp::test::TempDir dir;
  const auto one = gocp::Database::open(dir.sqlite_url());
  const auto two = gocp::Database::open(dir.sqlite_url("two.db"));
  REQUIRE(one.id() != two.id());
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"writers.link", "locmem:///"}};
  gocp::Repository<Link, gocp::CachedQueries> first{one, caches}, second{two, caches};
  first.create_table();
  second.create_table();
  first.create({.slug = "home", .url = "https://one/"});
  second.create({.slug = "home", .url = "https://two/"});
  for (int i = 0; i < 2; ++i) {  // the second round from the caches: each its own
    CHECK(first.filter(c(&Link::slug) == "home").cache().all().at(0).url == "https://one/");
    CHECK(second.filter(c(&Link::slug) == "home").cache().all().at(0).url == "https://two/");
    CHECK(first.get(c(&Link::slug) == "home").url == "https://one/");
    CHECK(second.get(c(&Link::slug) == "home").url == "https://two/");
  }
  CHECK(first.stats().hits == 2);
  CHECK(second.stats().hits == 2);
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
  gocp::test::check_exited_cleanly(gocp::test::run_processes(1, [&](int) {
    sqlite3* conn = nullptr;
    int rc = sqlite3_open(file.c_str(), &conn);
    if (rc == SQLITE_OK) sqlite3_busy_timeout(conn, 5000);
    if (rc == SQLITE_OK) rc = sqlite3_exec(conn, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(conn);
    return rc == SQLITE_OK ? 0 : 1;
  }));
}

/// What a Database reported of its watch of other writers (Event::Kind::watch_*), in order.
struct WatchEvents {
  std::mutex mutex;
  std::vector<gocp::Event::Kind> kinds;
  std::vector<std::size_t> counts;
  std::string last_detail;
  gocp::EventSink sink() {
    return [this](const gocp::Event& e) {
      if (e.kind != gocp::Event::Kind::watch_lost && e.kind != gocp::Event::Kind::watch_resumed &&
          e.kind != gocp::Event::Kind::watch_error)
        return;
      std::lock_guard lock(mutex);
      kinds.push_back(e.kind);
      counts.push_back(e.count);
      last_detail = std::string(e.detail);
    };
  }
  std::vector<gocp::Event::Kind> seen() {
    std::lock_guard lock(mutex);
    return kinds;
  }
  std::size_t last_count() {
    std::lock_guard lock(mutex);
    return counts.empty() ? 0 : counts.back();
  }
};

/// Two cached links on a SQLite file opened with `?watch=<mode>`.
struct Watched {
  gocp::test::TempDir dir;
  WatchEvents events;
  gocp::Database db;
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"writers.link", "locmem:///"}};
  Cached links;
  std::string table;

  explicit Watched(const std::string& mode)
      : db(gocp::Database::open(dir.sqlite_url() + "?watch=" + mode, {.on_event = events.sink()})),
        links(db, caches),
        table(links.info().table) {
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

TEST_CASE("?watch=strict: a cached queryset sees a write by the sqlite3 CLI at the next read", "[sqlite][watch][queries]") {
  Watched w("strict");
  gocp::Repository<Link, gocp::CachedQueries> queries{w.db, w.caches};
  const auto hot = [&] { return queries.filter(c(&Link::slug) == "hot").cache().all().at(0).url; };
  for (int i = 0; i < 2; ++i) hot();  // this process's own creates may come back through the log first
  const auto before = queries.stats().db_queries;
  CHECK(hot() == "https://hot/");
  CHECK(queries.stats().db_queries == before);  // cached
  sqlite3_cli(w.dir.file("test.db"), "UPDATE " + w.table + " SET url = 'https://cli/' WHERE slug = 'hot'");
  CHECK(hot() == "https://cli/");
  CHECK(queries.stats().db_queries == before + 1);
}

TEST_CASE("?watch=strict: this process's own writes do not come back through the log", "[sqlite][watch][queries]") {
  Watched w("strict");
  gocp::Repository<Link, gocp::CachedQueries> queries{w.db, w.caches};
  const auto cold = [&] { return queries.filter(c(&Link::slug) == "cold").cache().all().at(0).url; };
  for (int i = 0; i < 2; ++i) {  // the creates above are the last writes that come back (written before the log was read)
    cold();
    w.read("hot");
  }
  std::vector<gocp::RowChange> seen;
  const auto subscription = w.db.changes().subscribe(w.table, [&](const gocp::RowChange& c) { seen.push_back(c); });
  const auto before = queries.stats().db_queries;
  w.links.filter(c(&Link::slug) == "hot").update(c(&Link::url) = "https://v2/");
  CHECK(seen.size() == 1);  // published by the write itself, with the row's values
  CHECK(cold() == "https://cold/");  // catches up with the log: the write is not published again as pk-only,
  CHECK(queries.stats().db_queries == before);  // which would have invalidated every cached query of the table
  CHECK(seen.size() == 1);
  w.db.execute("UPDATE " + w.table + " SET url = 'https://v3/' WHERE slug = 'hot'");  // raw SQL: the update hook
  CHECK(seen.size() == 2);
  CHECK(w.read("hot") == std::pair<std::string, bool>{"https://v3/", false});
  CHECK(seen.size() == 2);
  CHECK(w.read("hot") == std::pair<std::string, bool>{"https://v3/", true});
}

TEST_CASE("?watch=strict: a statement that failed with no log row leaves the next transaction's own rows skipped",
          "[sqlite][watch][queries]") {
  Watched w("strict");
  gocp::Repository<Link, gocp::CachedQueries> queries{w.db, w.caches};
  const auto cold = [&] { return queries.filter(c(&Link::slug) == "cold").cache().all().at(0).url; };
  for (int i = 0; i < 2; ++i) cold();  // the creates above come back once (written before the log was read)
  w.db.atomic([&] {  // hot's row collides before any of its log rows is written; the transaction commits
    CHECK_THROWS_AS(w.db.execute("UPDATE " + w.table + " SET slug = 'cold' WHERE slug = 'hot'"), gocp::IntegrityError);
  });
  const auto before = queries.stats().db_queries;
  w.links.filter(c(&Link::slug) == "hot").update(c(&Link::url) = "https://v2/");
  CHECK(cold() == "https://cold/");  // its log row skipped: not published again as pk-only,
  CHECK(queries.stats().db_queries == before);  // which would have invalidated every cached query of the table
}

TEST_CASE("?watch=strict: a log row number a rollback gave back is another writer's, not skipped as this process's",
          "[sqlite][watch]") {
  Watched w("strict");
  const auto cli_writes_cold = [&](const std::string& url) {
    sqlite3_cli(w.dir.file("test.db"), "UPDATE " + w.table + " SET url = '" + url + "' WHERE slug = 'cold'");
  };
  for (int i = 0; i < 2; ++i) w.read("cold");
  REQUIRE(w.read("cold") == std::pair<std::string, bool>{"https://cold/", true});
  SECTION("a savepoint rolled back") {
    w.db.atomic([&] {
      w.links.filter(c(&Link::slug) == "hot").update(c(&Link::url) = "https://t1/");  // log row n
      try {
        w.db.atomic([&] {
          w.links.filter(c(&Link::slug) == "hot").update(c(&Link::url) = "https://t2/");  // n + 1, given back
          throw std::runtime_error("undo");
        });
      } catch (const std::runtime_error&) {
      }
    });
    cli_writes_cold("https://cli/");  // takes n + 1
    CHECK(w.read("cold") == std::pair<std::string, bool>{"https://cli/", false});
  }
  SECTION("a statement that failed after its first row") {
    w.db.atomic([&] {
      w.links.filter(c(&Link::slug) == "hot").update(c(&Link::url) = "https://t1/");  // log row n
      // hot's row is updated (n + 1), then cold's collides: the statement is undone
      CHECK_THROWS_AS(w.db.execute("UPDATE " + w.table + " SET slug = 'same' WHERE slug IN ('hot', 'cold')"),
                      gocp::IntegrityError);
    });
    cli_writes_cold("https://cli/");  // takes n + 1
    CHECK(w.read("cold") == std::pair<std::string, bool>{"https://cli/", false});
  }
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

#if !defined(__SANITIZE_THREAD__)
// (Not under ThreadSanitizer, which cannot start threads in a child forked from a
// threaded process: the child's ticker is a thread.)
TEST_CASE("?watch=<ms>: a child forked from a watching process watches on its own, and exits", "[sqlite][watch][fork]") {
  Watched w("50");
  for (int i = 0; i < 2; ++i) w.read("hot");
  for (int i = 0; i < 2; ++i) w.read("cold");
  const std::string file = w.dir.file("test.db").string();
  // a connection not gocp's: its writes reach the caches only through the log
  const auto write_elsewhere = [&](const std::string& sql) {
    sqlite3* other = nullptr;
    int rc = sqlite3_open(file.c_str(), &other);
    if (rc == SQLITE_OK) sqlite3_busy_timeout(other, 5000);
    if (rc == SQLITE_OK) rc = sqlite3_exec(other, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(other);
    return rc == SQLITE_OK;
  };
  // committed before the fork, after the parent's last look at the log: the child reads on from there
  REQUIRE(write_elsewhere("UPDATE " + w.table + " SET url = 'https://before-fork/' WHERE slug = 'cold'"));
  const std::string update = "UPDATE " + w.table + " SET url = 'https://after-fork/' WHERE slug = 'hot'";
  // a pre-forked server's worker: the parent's Database, repository and caches, used
  gocp::test::check_exited_cleanly(gocp::test::run_processes(1, [&](int) {
    if (!gocp::test::eventually([&] { return w.read("cold").first == "https://before-fork/"; }, std::chrono::seconds(2),
                                std::chrono::milliseconds(5)))
      return 5;
    if (w.read("hot").first != "https://hot/") return 2;
    if (!write_elsewhere(update)) return 3;
    // the parent's ticker did not come along: without one of the child's, no check is ever due
    if (!gocp::test::eventually([&] { return w.read("hot").first == "https://after-fork/"; }, std::chrono::seconds(2),
                                std::chrono::milliseconds(5)))
      return 4;
    std::destroy_at(&w);  // joins the child's own ticker (the parent's is not this process's to join)
    return 0;
  }, 20));
  // one that never reads: destroying what it inherited neither joins the parent's ticker nor closes its connection
  gocp::test::check_exited_cleanly(gocp::test::run_processes(1, [&](int) {
    std::destroy_at(&w);
    return 0;
  }, 20));
  // the parent's watch runs on: it sees the child's write within the bound
  CHECK(gocp::test::eventually([&] { return w.read("hot").first == "https://after-fork/"; }, std::chrono::seconds(2),
                               std::chrono::milliseconds(5)));
  CHECK(w.events.seen().empty());
}
#endif

TEST_CASE("?watch=: readers keep the log short, and a reader the trimming passed invalidates every logged table",
          "[sqlite][watch]") {
  Watched w("strict&watch_log_rows=100");
  for (int i = 0; i < 2; ++i) w.read("hot");
  CHECK(w.read("hot") == std::pair<std::string, bool>{"https://hot/", true});
  const std::string url = w.dir.sqlite_url() + "?watch=strict&watch_log_rows=100";
  // another process: changes hot, writes 300 more rows, then reads (and so trims the log)
  gocp::test::check_exited_cleanly(gocp::test::run_processes(1, [&](int) {
    const auto db = gocp::Database::open(url);
    gocp::CacheRegistry caches{{"default", "locmem:///"}, {"writers.link", "locmem:///"}};
    Cached links{db, caches};
    links.filter(c(&Link::slug) == "hot").update(c(&Link::url) = "https://child/");
    for (int i = 0; i < 300; ++i) links.create(Link{0, "c" + std::to_string(i), "https://c/"});
    links.get_or_create(c(&Link::slug) == "cold");  // a cached read: the log is read, then trimmed
    return 0;
  }));
  std::int64_t logged = 0;
  w.db.with_connection([&](gocp::Connection& conn) {
    conn.query("SELECT COUNT(*) FROM gocp_changes", {}, [&](const gocp::Row& row) {
      logged = row.integer(0);
      return false;
    });
  });
  CHECK(logged <= 110);  // trimmed to the last 100 rows (and the few written since)
  CHECK(logged >= 100);
  CHECK(w.events.seen().empty());
  // hot's change was trimmed before this process read it: the gap flushes the table, and says so
  CHECK(w.read("hot") == std::pair<std::string, bool>{"https://child/", false});
  CHECK(w.read("cold") == std::pair<std::string, bool>{"https://cold/", false});
  CHECK(w.events.seen() == std::vector<gocp::Event::Kind>{gocp::Event::Kind::watch_resumed});
  std::lock_guard lock(w.events.mutex);
  CHECK_THAT(w.events.last_detail, Catch::Contains("fell behind") && Catch::Contains("watch_log_rows"));
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

// ---- the history checker ----------------------------------------------------------------

namespace {

/// One operation of the history, its start and end on CLOCK_MONOTONIC (comparable across
/// processes): a read of `key` that returned `value`, or a write of `value` to `key`; or
/// one that failed (an error returned to the caller: a failed write may still have
/// committed, so its value is no phantom, but no read has to see it).
struct Op {
  bool write = false;
  bool failed = false;
  int key = 0;
  std::string value = "-";
  std::int64_t start = 0, end = 0;
};

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

constexpr int kHistoryKeys = 8;

std::string history_slug(int key) { return "k" + std::to_string(key); }

/// A worker process: `threads` threads on its own Database and cache (`cache_url` for both
/// aliases), each doing cached reads, repository saves and raw SQL writes for `duration`;
/// the history goes to `log` (one line per operation).
void history_worker(const std::string& url, const std::string& cache_url, int process, int threads,
                    std::chrono::milliseconds duration, const std::filesystem::path& log) {
  const auto db = gocp::Database::open(url);
  gocp::CacheRegistry caches{{"default", cache_url}, {"writers.link", cache_url}};
  Cached links{db, caches};
  std::vector<std::vector<Op>> ops(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  const auto until = std::chrono::steady_clock::now() + duration;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      std::uint64_t rng = 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(process * 16 + t + 1);
      int n = 0, failures = 0;
      while (std::chrono::steady_clock::now() < until) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        const int key = static_cast<int>((rng >> 33) % kHistoryKeys);
        const int kind = static_cast<int>((rng >> 20) % 4);
        Op op;
        op.key = key;
        op.write = kind >= 2;
        if (op.write) op.value = "p" + std::to_string(process) + "t" + std::to_string(t) + "n" + std::to_string(n++);
        op.start = monotonic_ns();
        try {
          if (!op.write) {  // a cached read
            op.value = links.get_or_create(c(&Link::slug) == history_slug(key)).first.url;
          } else {
            if (kind == 2) {  // through the repository
              links.filter(c(&Link::slug) == history_slug(key)).update(c(&Link::url) = op.value);
            } else {  // raw SQL
              db.execute("UPDATE " + links.info().table + " SET url = '" + op.value + "' WHERE slug = '" +
                         history_slug(key) + "'");
            }
          }
        } catch (const std::exception& e) {
          op.failed = true;  // an error returned to a caller: counted by the checker
          if (++failures <= 3) std::fprintf(stderr, "history worker %d, thread %d: %s\n", process, t, e.what());
        }
        op.end = monotonic_ns();
        ops[static_cast<std::size_t>(t)].push_back(std::move(op));
      }
    });
  for (auto& w : workers) w.join();
  std::FILE* out = std::fopen(log.c_str(), "w");
  for (const auto& thread_ops : ops)
    for (const Op& op : thread_ops)  // R, W; failed: X (a read), F (a write)
      std::fprintf(out, "%c %d %s %lld %lld\n", op.failed ? (op.write ? 'F' : 'X') : (op.write ? 'W' : 'R'), op.key,
                   op.value.c_str(),
                   static_cast<long long>(op.start), static_cast<long long>(op.end));
  std::fclose(out);
}

struct HistoryVerdict {
  std::size_t reads = 0, writes = 0, stale = 0, phantom = 0;
  int errors = 0;
  std::int64_t max_stale_ns = 0;  ///< the stalest read: from the end of the first write it missed to its start
  std::int64_t last_error_start = 0;  ///< when the last failed operation began (0: none failed)
};

/// Stale: a read returned a value that a write strictly after the one that wrote it had
/// overwritten before the read began (a failed write may or may not have happened: a
/// read need not see it). Phantom: a value no write, failed or not, produced.
HistoryVerdict check_history(const std::vector<Op>& ops) {
  HistoryVerdict v;
  std::map<std::pair<int, std::string>, const Op*> writer;  // (key, value) -> the write of it
  for (const Op& op : ops) {
    if (op.failed) {
      ++v.errors;
      v.last_error_start = std::max(v.last_error_start, op.start);
    }
    if (op.write) {
      v.writes += !op.failed;
      writer[{op.key, op.value}] = &op;
    }
  }
  for (const Op& read : ops) {
    if (read.write || read.failed) continue;
    ++v.reads;
    const Op* w1 = nullptr;
    if (read.value != "init") {
      auto it = writer.find({read.key, read.value});
      if (it == writer.end()) {
        ++v.phantom;
        continue;
      }
      w1 = it->second;
    }
    std::int64_t missed_since = 0;  // the end of the earliest write the read should have seen
    for (const Op& w2 : ops)
      if (w2.write && !w2.failed && w2.key == read.key && w2.end < read.start && (!w1 || w1->end < w2.start))
        missed_since = missed_since ? std::min(missed_since, w2.end) : w2.end;
    if (missed_since) {
      ++v.stale;
      v.max_stale_ns = std::max(v.max_stale_ns, read.start - missed_since);
    }
  }
  return v;
}

/// Seeds kHistoryKeys links at `url`, runs `processes` history_worker processes of
/// `threads` threads (each with its own `cache_url` caches) for `duration` while `during`
/// (if given) runs here, then reads and checks their histories; prints and returns the
/// verdict (`label` names the run). No operation may fail unless `errors_allowed` (a run
/// whose database goes down: the caller checks when they failed).
HistoryVerdict run_history(const std::string& label, const std::string& url, const std::string& cache_url,
                           const gocp::test::TempDir& dir, int processes, int threads, std::chrono::milliseconds duration,
                           const std::function<void()>& during = {}, bool errors_allowed = false) {
  {
    const auto db = gocp::Database::open(url);
    gocp::Repository<Link> links{db};
    links.create_table();
    for (int key = 0; key < kHistoryKeys; ++key)
      links.create(Link{0, history_slug(key), "init"});
  }  // closed before the fork: no thread of gocp's runs in this process
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      int status = 0;
      try {
        history_worker(url, cache_url, p, threads, duration, dir.file("history-" + std::to_string(p)));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "history worker %d: %s\n", p, e.what());
        status = 1;
      }
      _exit(status);
    }
    children.push_back(child);
  }
  if (during) during();
  for (pid_t child : children) {
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    INFO("exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << ", signal "
                        << (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  std::vector<Op> ops;
  for (int p = 0; p < processes; ++p) {
    std::FILE* in = std::fopen(dir.file("history-" + std::to_string(p)).c_str(), "r");
    REQUIRE(in);
    char kind = 0;
    int key = 0;
    char value[128];
    long long start = 0, end = 0;
    while (std::fscanf(in, " %c %d %127s %lld %lld", &kind, &key, value, &start, &end) == 5)
      ops.push_back(Op{kind == 'W' || kind == 'F', kind == 'F' || kind == 'X', key, value, start, end});
    std::fclose(in);
  }
  const HistoryVerdict v = check_history(ops);
  INFO("operations " << ops.size() << ": reads " << v.reads << ", writes " << v.writes << ", stale " << v.stale
                     << " (stalest " << v.max_stale_ns / 1000 << " us), phantom " << v.phantom << ", errors "
                     << v.errors);
  std::printf("history (%s, %d processes x %d threads, %lld ms): %zu reads, %zu writes checked; stale %zu (stalest "
              "%lld us), phantom %zu, errors %d\n",
              label.c_str(), processes, threads, static_cast<long long>(duration.count()), v.reads, v.writes, v.stale,
              static_cast<long long>(v.max_stale_ns / 1000), v.phantom, v.errors);
  CHECK(v.reads > 100);
  CHECK(v.writes > 100);
  CHECK(v.phantom == 0);
  if (!errors_allowed) CHECK(v.errors == 0);
  return v;
}

}  // namespace

TEST_CASE("history: 2 processes x 2 threads on one SQLite file (?watch=strict), each with locmem: no stale read",
          "[sqlite][history]") {
  gocp::test::TempDir dir;
  const HistoryVerdict v = run_history("strict", dir.sqlite_url() + "?watch=strict", "locmem:///", dir, 2, 2,
                                       std::chrono::milliseconds(1500));
  CHECK(v.stale == 0);
}

#if defined(GOCP_TEST_HAVE_REDIS) || defined(GOCP_TEST_HAVE_MEMCACHED)
namespace {

/// Issue 21's history: 3 processes x 2 threads on one SQLite file (?watch=strict), each
/// caching in `server` (Redis or memcached) while, in a cycle of about `cycle`, it is
/// paused past the timeout and resumed, meets `more` (its own faults), then is killed
/// and restarted. A write whose process cannot reach the cache (its circuit open) leaves
/// its invalidation remembered in that process only; every other process reads the
/// change log before a cached read and delivers it itself. The run lasts one cycle, or
/// GOCP_HISTORY_CYCLES of them (the long run: README, "Every writer seen").
template <class Server>
HistoryVerdict history_with_faults(const std::string& label, Server& server, std::chrono::milliseconds cycle,
                                   const std::function<void()>& more = {}) {
  using namespace std::chrono_literals;
  const char* cycles_env = std::getenv("GOCP_HISTORY_CYCLES");
  const int cycles = cycles_env ? std::max(1, std::atoi(cycles_env)) : 1;
  gocp::test::TempDir dir;
  const std::string cache_url = server.url("timeout_ms=100&connect_timeout_ms=100&retry_ms=50&max_retry_ms=200");
  return run_history(label, dir.sqlite_url() + "?watch=strict", cache_url, dir, 3, 2, cycle * cycles, [&] {
    for (int i = 0; i < cycles; ++i) {
      std::this_thread::sleep_for(500ms);
      server.pause();  // past the timeout: circuits open while writes go on
      std::this_thread::sleep_for(500ms);
      server.resume();
      std::this_thread::sleep_for(400ms);
      if (more) more();
      server.kill();  // entries and versions gone, then back empty
      std::this_thread::sleep_for(300ms);
      server.restart();
      std::this_thread::sleep_for(200ms);
    }
  });
}

}  // namespace
#endif

#ifdef GOCP_TEST_HAVE_REDIS
TEST_CASE("history: 3 processes x 2 threads on one SQLite file (?watch=strict), one Redis paused, evicting, out of "
          "memory, its scripts flushed, killed and restarted mid-run: no stale read, no error",
          "[sqlite][history][redis]") {
  using namespace std::chrono_literals;
  gocp::test::RedisServer redis;
  const HistoryVerdict v = history_with_faults("strict, redis faults", redis, 3700ms, [&] {
    redis.command("CONFIG SET maxmemory-policy allkeys-lru");
    redis.command("CONFIG SET maxmemory 1");  // every write evicts: entries and versions lost
    std::this_thread::sleep_for(300ms);
    redis.command("CONFIG SET maxmemory-policy noeviction");  // then every write refused (OOM)
    std::this_thread::sleep_for(300ms);
    redis.command("CONFIG SET maxmemory 0");
    std::this_thread::sleep_for(300ms);
    redis.command("SCRIPT FLUSH");
    std::this_thread::sleep_for(300ms);
  });
  CHECK(v.stale == 0);
}
#endif

#ifdef GOCP_TEST_HAVE_MEMCACHED
TEST_CASE("history: 3 processes x 2 threads on one SQLite file (?watch=strict), one memcached paused, killed and "
          "restarted mid-run: no stale read, no error",
          "[sqlite][history][memcached]") {
  gocp::test::MemcachedServer memcached;
  CHECK(history_with_faults("strict, memcached faults", memcached, std::chrono::milliseconds(2000)).stale == 0);
}
#endif

#ifdef GOCP_TEST_HAVE_REDIS
// Issue 21's cross-process window, made deterministic: the writer cannot reach the shared
// cache at all (a port nothing listens on), so its invalidation stays with it and dies with
// it; the reader's cached entry is still in Redis. With ?watch=strict the reader delivers it
// from the change log before it trusts the entry; without, it serves the old row.
TEST_CASE("a write whose process cannot reach the shared cache is delivered by the next reader of the change log",
          "[sqlite][watch][redis]") {
  gocp::test::RedisServer redis;
  for (const bool watching : {true, false}) {
    INFO("watch=strict: " << watching);
    gocp::test::TempDir dir;
    const std::string url = dir.sqlite_url() + (watching ? "?watch=strict" : "");
    gocp::Repository<Link>(gocp::Database::open(url)).create_table();
    // the writer is forked before this process opens anything it could inherit (a fork
    // would copy this process's streams and Redis connections into it); a pipe says when
    int go[2];
    REQUIRE(pipe(go) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // the writer: its cache is a port nothing listens on
      int status = 0;
      char byte = 0;
      if (read(go[0], &byte, 1) != 1) _exit(3);
      try {
        const auto wdb = gocp::Database::open(url);
        const std::string nowhere = "redis://127.0.0.1:1/0?timeout_ms=50&connect_timeout_ms=50";
        gocp::CacheRegistry wcaches{{"default", nowhere}, {"writers.link", nowhere}};
        Cached writer{wdb, wcaches};
        writer.filter(c(&Link::slug) == "hot").update(c(&Link::url) = "https://v2/");
        status = wcaches.stats("writers.link").cache_errors > 0 ? 0 : 2;  // its invalidation did not reach Redis
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer: %s\n", e.what());
        status = 1;
      }
      _exit(status);
    }
    const auto db = gocp::Database::open(url);
    gocp::CacheRegistry caches{{"default", redis.url()}, {"writers.link", redis.url()}};
    Cached links{db, caches};
    links.get_or_create(c(&Link::slug) == "hot", gocp::defaults(c(&Link::url) = "https://v1/"));
    for (int i = 0; i < 2; ++i) links.get_or_create(c(&Link::slug) == "hot");  // the create came back through the log
    const auto hits = links.stats().hits;
    CHECK(links.get_or_create(c(&Link::slug) == "hot").first.url == "https://v1/");
    CHECK(links.stats().hits == hits + 1);  // from Redis
    REQUIRE(write(go[1], "w", 1) == 1);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    close(go[0]);
    close(go[1]);
    REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    if (watching) {
      CHECK(links.get_or_create(c(&Link::slug) == "hot").first.url == "https://v2/");
    } else {  // the limit the README states: without the log, the writer's invalidation is its own
      CHECK(links.get_or_create(c(&Link::slug) == "hot").first.url == "https://v1/");
    }
  }
}
#endif

// ---- 5. PostgreSQL: writes by anyone (?watch=notify) -----------------------------------

#ifdef GOCP_TEST_HAVE_POSTGRES
namespace {

/// The database name in a test URL (`postgresql://...:<port>/<name>?...`).
std::string database_name(const std::string& url) {
  const auto slash = url.rfind('/');
  return url.substr(slash + 1, url.find('?', slash) - slash - 1);
}

/// Two cached links on a fresh PostgreSQL database opened with `?watch=notify`, and a
/// writer that is not gocp: a libpq connection of its own (as psql would be).
struct Notified {
  gocp::test::PostgresServer& server = gocp::test::PostgresServer::instance();
  std::string url = server.create_database("watch=notify");
  std::string name = database_name(url);
  WatchEvents events;
  gocp::Database db = gocp::Database::open(url, {.on_event = events.sink()});
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"writers.link", "locmem:///"}};
  Cached links{db, caches};
  std::string table = links.info().table;

  Notified() {
    links.create_table();
    for (const char* slug : {"hot", "cold"})
      links.get_or_create(c(&Link::slug) == slug, gocp::defaults(c(&Link::url) = std::string("https://") + slug + "/"));
    wait_for_notices(2);  // this process's own two inserts come back: an extra invalidation each
    read("hot");
    read("cold");
  }
  std::pair<std::string, bool> read(const char* slug) {
    const auto hits = links.stats().hits;
    const std::string url = links.get_or_create(c(&Link::slug) == slug, gocp::defaults(c(&Link::url) = "https://new/"))
                                .first.url;
    return {url, links.stats().hits == hits + 1};
  }
  std::uint64_t notices() const { return gocp::postgres::listener_status(db).notices; }
  /// Waits (at most 5 s) until the listener has received `n` notices in all.
  void wait_for_notices(std::uint64_t n) const { REQUIRE(gocp::test::eventually([&] { return notices() >= n; })); }
  /// Runs `sql` on a connection of its own (not gocp's) and waits for its notice.
  void write_elsewhere(const std::string& sql) {
    const auto before = notices();
    server.execute(name, sql);
    wait_for_notices(before + 1);
  }
  /// Runs `sql`, which writes the row `slug`, on a connection of its own and waits until
  /// that row's notice is published. A listener that has just LISTENed again may still
  /// receive a notice committed before it did (PostgreSQL starts it at the queue's tail),
  /// so a count that grows by one may be that stray notice and not this write's.
  void write_elsewhere(const std::string& sql, const char* slug) {
    const gocp::Value pk = std::stoll(server.scalar(name, "SELECT id FROM " + table + " WHERE slug = '" + slug + "'"));
    std::atomic<bool> heard{false};
    std::atomic<std::uint64_t> counted_after{0};  // the count its batch is published under
    const auto subscription = db.changes().subscribe(table, [&](const gocp::RowChange& change) {
      if (change.pk != pk || heard.load()) return;
      counted_after.store(notices() + 1);  // counted once its whole batch is published
      heard.store(true);
    });
    server.execute(name, sql);
    gocp::test::eventually([&] { return heard.load() && notices() >= counted_after.load(); });
    REQUIRE(heard.load());
    REQUIRE(notices() >= counted_after.load());
  }
  std::int64_t triggers_on(const std::string& t) const {
    return std::stoll(server.scalar(name, "SELECT count(*) FROM pg_trigger WHERE tgrelid = '\"" + t +
                                              "\"'::regclass AND tgname LIKE 'gocp_notify_%'"));
  }
};

}  // namespace

TEST_CASE("?watch=notify: a write by another connection reaches this process's locmem cache", "[postgres][notify]") {
  Notified n;
  CHECK(n.read("hot") == std::pair<std::string, bool>{"https://hot/", true});
  CHECK(n.read("cold") == std::pair<std::string, bool>{"https://cold/", true});
  n.write_elsewhere("UPDATE " + n.table + " SET url = 'https://psql/' WHERE slug = 'hot'");
  CHECK(n.read("hot") == std::pair<std::string, bool>{"https://psql/", false});
  CHECK(n.read("cold") == std::pair<std::string, bool>{"https://cold/", true});  // only the row written
  n.write_elsewhere("DELETE FROM " + n.table + " WHERE slug = 'cold'");
  const auto heard = n.notices();
  CHECK(n.read("cold") == std::pair<std::string, bool>{"https://new/", false});  // gone: created again
  n.wait_for_notices(heard + 1);  // that create comes back too: pk-only, so a cached query of the table misses once
  // a cached queryset (CachedQueries) too
  gocp::Repository<Link, gocp::CachedQueries> queries{n.db, n.caches};
  const auto hot = [&] { return queries.filter(c(&Link::slug) == "hot").cache().all().at(0).url; };
  hot();
  const auto before = queries.stats().db_queries;
  CHECK(hot() == "https://psql/");
  CHECK(queries.stats().db_queries == before);  // cached
  n.write_elsewhere("UPDATE " + n.table + " SET url = 'https://psql-2/' WHERE slug = 'hot'");
  CHECK(hot() == "https://psql-2/");
  CHECK(queries.stats().db_queries == before + 1);
}

TEST_CASE("?watch=notify: one notice per statement, a table-wide one past 1000 rows, and TRUNCATE",
          "[postgres][notify]") {
  Notified n;
  const auto start = n.notices();
  n.write_elsewhere("INSERT INTO " + n.table + " (slug, url) SELECT 'm' || g, 'https://m/' FROM generate_series(1, 500) g");
  n.write_elsewhere("UPDATE " + n.table + " SET url = 'https://m2/' WHERE slug LIKE 'm%'");
  n.server.execute(n.name, "UPDATE " + n.table + " SET url = url WHERE slug = 'nothing'");  // no row: no notice
  n.write_elsewhere("DELETE FROM " + n.table + " WHERE slug LIKE 'm%'");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // time for a stray extra notice to arrive
  CHECK(n.notices() == start + 3);
  CHECK(n.read("cold") == std::pair<std::string, bool>{"https://cold/", true});  // 500 keys named: not this one
  // 2000 rows do not fit in one notice: the whole table is invalidated instead
  n.write_elsewhere("INSERT INTO " + n.table + " (slug, url) SELECT 'b' || g, 'https://b/' FROM generate_series(1, 2000) g");
  CHECK(n.read("cold") == std::pair<std::string, bool>{"https://cold/", false});
  CHECK(n.read("hot") == std::pair<std::string, bool>{"https://hot/", false});
  CHECK(n.read("hot") == std::pair<std::string, bool>{"https://hot/", true});
  n.write_elsewhere("TRUNCATE " + n.table);
  CHECK(n.read("hot") == std::pair<std::string, bool>{"https://new/", false});  // gone: created again
}

TEST_CASE("?watch=notify: a listener whose backend is terminated reconnects and flushes the caches",
          "[postgres][notify]") {
  Notified n;
  REQUIRE(gocp::postgres::listener_status(n.db).connections == 1);
  CHECK(n.read("hot") == std::pair<std::string, bool>{"https://hot/", true});
  n.server.execute(n.name, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND application_name = 'gocp listener'");
  // written while the listener may be down: its notice may be lost
  n.server.execute(n.name, "UPDATE " + n.table + " SET url = 'https://while-down/' WHERE slug = 'hot'");
  gocp::test::eventually([&] { return gocp::postgres::listener_status(n.db).connections >= 2; });
  const auto status = gocp::postgres::listener_status(n.db);
  CHECK(status.connections == 2);
  CHECK(status.listening);
  // said to the Database's on_event (stderr without one): lost, then back (after one attempt here;
  // a loaded machine may need more, each said as lost again); said after the reconnection counts
  gocp::test::eventually([&] {
    const auto seen = n.events.seen();
    return std::count(seen.begin(), seen.end(), gocp::Event::Kind::watch_resumed) != 0;
  });
  const auto said = n.events.seen();
  REQUIRE(said.size() >= 2);
  CHECK(said.front() == gocp::Event::Kind::watch_lost);
  CHECK(said.back() == gocp::Event::Kind::watch_resumed);
  CHECK(std::count(said.begin(), said.end(), gocp::Event::Kind::watch_resumed) == 1);
  CHECK(n.events.last_count() >= 1);
  CHECK(n.read("hot") == std::pair<std::string, bool>{"https://while-down/", false});  // flushed: no stale read
  CHECK(n.read("cold") == std::pair<std::string, bool>{"https://cold/", false});       // every entry went
  n.write_elsewhere("UPDATE " + n.table + " SET url = 'https://after/' WHERE slug = 'cold'", "cold");  // heard again
  CHECK(n.read("cold") == std::pair<std::string, bool>{"https://after/", false});
}

TEST_CASE("?watch=notify: create_table and sync_schema install the triggers, watch_table adds them to any table",
          "[postgres][notify]") {
  Notified n;
  CHECK(n.triggers_on(n.table) == 4);
  n.server.execute(n.name, "CREATE TABLE legacy (code TEXT PRIMARY KEY, price INTEGER); "
                           "CREATE TABLE keyless (a INTEGER, b INTEGER)");
  n.db.watch_table("legacy");
  n.db.watch_table("legacy");  // idempotent
  n.db.watch_table("keyless");
  CHECK(n.triggers_on("legacy") == 4);
  CHECK(n.triggers_on("keyless") == 4);
  std::vector<gocp::RowChange> seen;
  std::mutex mutex;
  const auto record = [&](const gocp::RowChange& change) {
    std::lock_guard lock(mutex);
    seen.push_back(change);
  };
  auto legacy = n.db.changes().subscribe("legacy", record);
  auto keyless = n.db.changes().subscribe("keyless", record);
  n.write_elsewhere("INSERT INTO legacy VALUES ('a:1', 1), ('ünï', 2)");
  n.write_elsewhere("INSERT INTO keyless VALUES (1, 2)");
  {
    std::lock_guard lock(mutex);
    REQUIRE(seen.size() == 3);
    std::vector<gocp::Value> keys{seen[0].pk, seen[1].pk};  // the keys' text as written, any character
    CHECK(std::count(keys.begin(), keys.end(), gocp::Value(std::string("a:1"))) == 1);
    CHECK(std::count(keys.begin(), keys.end(), gocp::Value(std::string("ünï"))) == 1);
    CHECK((seen[0].table == "legacy" && seen[0].is_insert() && !seen[0].whole_table));
    CHECK(seen[2].table == "keyless");
    CHECK(seen[2].whole_table);  // no primary key: which row is unknown
  }
  CHECK_THROWS_WITH(n.db.watch_table("missing"), Catch::Contains("missing") && Catch::Contains("no such table"));
  // sync_schema installs them on the model's table when it exists already
  n.server.execute(n.name, "DROP TRIGGER gocp_notify_i ON " + n.table + "; DROP TRIGGER gocp_notify_u ON " + n.table +
                               "; DROP TRIGGER gocp_notify_d ON " + n.table + "; DROP TRIGGER gocp_notify_t ON " + n.table);
  REQUIRE(n.triggers_on(n.table) == 0);
  CHECK(n.links.sync_schema().empty());
  CHECK(n.triggers_on(n.table) == 4);
  // without watch=notify nothing is installed
  n.server.execute(n.name, "CREATE TABLE plain (id BIGINT PRIMARY KEY)");
  gocp::Database::open(n.server.url(n.name)).watch_table("plain");
  CHECK(n.triggers_on("plain") == 0);
}

TEST_CASE("history: 2 processes x 2 threads on PostgreSQL (?watch=notify), each with locmem, the listeners' "
          "backends killed every 300 ms, then the server restarted: no read staler than the notices' delay",
          "[postgres][notify][history]") {
  gocp::test::TempDir dir;
  auto& server = gocp::test::PostgresServer::instance();
  const std::string url = server.create_database("watch=notify");
  const auto duration = std::chrono::milliseconds(3500);
  int kills = 0;
  std::int64_t restart_start = 0, restart_end = 0;
  const HistoryVerdict v = run_history(
      "notify, listeners killed, server restarted", url, "locmem:///", dir, 2, 2, duration,
      [&] {
        for (; kills < 4; ++kills) {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          server.execute(database_name(url), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                                             "current_database() AND application_name = 'gocp listener'");
        }
        restart_start = monotonic_ns();
        server.restart();  // every session closed: the workers' pooled connections and the listeners
        restart_end = monotonic_ns();
      },
      /*errors_allowed=*/true);
  CHECK(kills == 4);
  REQUIRE(restart_end > 0);
  // the workers ran on after the restart (it takes about 0.3 s of the run's 3.5 s): their
  // errors are the restart's, each pooled connection's first use after it (within 2 s, with
  // room for a loaded CI machine: a connection unused that long would be one too many)
  std::printf("  the restart took %lld ms; the last failed operation began %lld ms after it ended\n",
              static_cast<long long>((restart_end - restart_start) / 1'000'000),
              static_cast<long long>((v.last_error_start - restart_end) / 1'000'000));
  CHECK(restart_end - restart_start < 10'000'000'000);
  CHECK(v.errors > 0);
  CHECK(v.last_error_start < restart_end + 2'000'000'000);
  // a read may miss a write only while its notice is on its way (or its loss not yet
  // seen): well under a millisecond on an idle loopback; the bound leaves room for CI load
  CHECK(v.max_stale_ns < 100'000'000);
}

TEST_CASE("locmem on PostgreSQL without ?watch=notify says once that other writers are not seen, and a bad watch= is "
          "refused", "[postgres][notify]") {
  auto& server = gocp::test::PostgresServer::instance();
  const std::string url = server.create_database();
  std::vector<std::string> unseen;
  std::mutex mutex;
  const auto sink = [&](const gocp::Event& e) {
    if (e.kind != gocp::Event::Kind::writes_unseen) return;
    std::lock_guard lock(mutex);
    unseen.emplace_back(e.detail);
  };
  const auto db = gocp::Database::open(url, {.on_event = sink});
  gocp::Repository<Link>{db}.create_table();  // no cache: nothing to say
  CHECK(unseen.empty());
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"writers.link", "locmem:///"}};
  Cached first{db, caches}, second{db, caches};
  REQUIRE(unseen.size() == 1);
  CHECK_THAT(unseen[0], Catch::Contains("?watch=notify") && Catch::Contains("other processes"));
  CHECK_FALSE(gocp::postgres::listener_status(db).running);
  const auto watched = gocp::Database::open(url + "?watch=notify", {.on_event = sink});
  Cached third{watched, caches};
  CHECK(unseen.size() == 1);
  CHECK(gocp::postgres::listener_status(watched).running);
  CHECK_THROWS_MATCHES(gocp::Database::open(url + "?watch=yes"), gocp::ConfigurationError,
                       Catch::Matchers::Predicate<gocp::ConfigurationError>([&](const auto& e) {
                         const std::string what = e.what();
                         return what.find("watch") != std::string::npos && what.find("'yes'") != std::string::npos &&
                                what.find("127.0.0.1") != std::string::npos;
                       }));
}
#endif

#if defined(GOCP_TEST_HAVE_POSTGRES) && !defined(__SANITIZE_THREAD__)
// (Not under ThreadSanitizer, which cannot start threads in a child forked from a
// threaded process: the child's listener is a thread.)
TEST_CASE("?watch=notify: a process forked after the listener started gets its own, and the parent's keeps "
          "listening", "[postgres][notify]") {
  Notified n;  // this process listens
  CHECK(n.read("hot") == std::pair<std::string, bool>{"https://hot/", true});
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // no Catch assertions here: the exit status says what went wrong
    int status = 0;
    try {
      const auto db = gocp::Database::open(n.url);  // the inherited listener is the parent's: not running here
      gocp::CacheRegistry caches{{"default", "locmem:///child"}, {"writers.link", "locmem:///child"}};
      Cached links{db, caches};
      const auto hot = [&] { return links.get_or_create(c(&Link::slug) == "hot").first.url; };
      hot();  // starts this process's listener
      if (gocp::postgres::listener_status(db).connections < 2 || !gocp::postgres::listener_status(db).listening)
        status = 2;
      hot();
      const auto heard = gocp::postgres::listener_status(db).notices;
      n.server.execute(n.name, "UPDATE " + n.table + " SET url = 'https://from-child-test/' WHERE slug = 'hot'");
      gocp::test::eventually([&] { return gocp::postgres::listener_status(db).notices != heard; });
      if (status == 0 && hot() != "https://from-child-test/") status = 3;  // the child's cache heard it
    } catch (const std::exception& e) {
      std::fprintf(stderr, "forked child: %s\n", e.what());
      status = 1;
    }
    _exit(status);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // the parent's listener is untouched by the child's: still connected once, still hearing
  CHECK(gocp::postgres::listener_status(n.db).connections == 1);
  n.write_elsewhere("UPDATE " + n.table + " SET url = 'https://parent/' WHERE slug = 'cold'");
  CHECK(n.read("cold") == std::pair<std::string, bool>{"https://parent/", false});
  CHECK(n.read("hot") == std::pair<std::string, bool>{"https://from-child-test/", false});
}
#endif
