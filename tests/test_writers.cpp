// Every writer seen (issue 20): a cache key names the database it came from, two handles
// on one database in a process share one change stream, and (SQLite) every statement's
// writes reach the caches. Built per database: test_writers (SQLite file) and
// test_writers_pg (a fresh PostgreSQL database).

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <cstdint>
#include <string>

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
