// The cached manager (issue 19, seed 003): objects_by_pks and from_cache, with exact counts
// of the SQL statements that reach the database. Built once, run on SQLite and PostgreSQL
// (test_cached_manager_pg), and on locmem, Redis and memcached (test_cached_manager_redis,
// _memcached): support/cached_authors.hpp.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/cached_authors.hpp"
#include "support/library_models.hpp"

using gocp::c;
using gocp::test::Author;

namespace {

struct Fixture : gocp::test::CachedAuthors {
  gocp::Repository<Author> plain{db};           // no caches: every read is the database's
  gocp::Repository<Author> cached{db, caches};  // reads through the caches

  /// `n` authors, created without caches (nothing cached yet); their pks in order.
  std::vector<std::int64_t> make_authors(int n) {
    std::vector<std::int64_t> pks;
    db.atomic([&] {
      for (int i = 0; i < n; ++i)
        pks.push_back(plain.create(Author{0, "F" + std::to_string(i), "L", i, {}}).id);
    });
    return pks;
  }
  std::uint64_t statements() const { return cached.stats().db_queries; }
};

/// The pk of each slot, 0 for an empty one.
std::vector<std::int64_t> pks_of(const std::vector<std::optional<Author>>& got) {
  std::vector<std::int64_t> out;
  for (const auto& a : got) out.push_back(a ? a->id : 0);
  return out;
}

#ifdef GOCP_TEST_HAVE_REDIS
/// Round trips made so far by the objects alias, on a Redis run (0 on the others).
std::uint64_t redis_round_trips(const gocp::CacheRegistry& caches) {
  if (gocp::test::cache_kind() != "redis") return 0;
  return dynamic_cast<gocp::RedisCache&>(caches.cache("library.author")).round_trips();
}
#endif

}  // namespace

TEST_CASE_METHOD(Fixture, "objects_by_pks without caches: the input's order, gaps and repeats, one query",
                 "[objects_by_pks]") {
  const auto pks = make_authors(5);
  const std::int64_t none = pks.back() + 100;
  const auto before = plain.stats().db_queries;
  const auto got = plain.objects_by_pks(std::vector<std::int64_t>{pks[3], none, pks[0], pks[3], pks[1]});
  CHECK(plain.stats().db_queries - before == 1);
  CHECK(pks_of(got) == std::vector<std::int64_t>{pks[3], 0, pks[0], pks[3], pks[1]});
  CHECK(got[0]->first_name == "F3");
  CHECK(got[0]->books_in_store == 3);
  CHECK(plain.objects_by_pks({pks[4], pks[2]})[1]->first_name == "F2");  // a braced list

  const auto empty_before = plain.stats().db_queries;
  CHECK(plain.objects_by_pks(std::vector<std::int64_t>{}).empty());
  CHECK(plain.stats().db_queries == empty_before);  // nothing asked, nothing sent

  // the repository's filters apply: a row they exclude is an empty slot
  CHECK(pks_of(plain.filter(c(&Author::books_in_store) >= 2).objects_by_pks({pks[1], pks[2], pks[4]})) ==
        std::vector<std::int64_t>{0, pks[2], pks[4]});
}

TEST_CASE_METHOD(Fixture, "objects_by_pks of 1000 pks without caches is one statement", "[objects_by_pks]") {
  const auto pks = make_authors(1000);
  const auto before = plain.stats().db_queries;
  const auto got = plain.objects_by_pks(pks);
  CHECK(plain.stats().db_queries - before == 1);
  CHECK(pks_of(got) == pks);
}

TEST_CASE_METHOD(Fixture, "objects_by_pks with caches: one cache read, one query for the misses, then none",
                 "[objects_by_pks]") {
  const auto pks = make_authors(20);
  const std::int64_t none = pks.back() + 100;
  const std::vector<std::int64_t> asked{pks[7], pks[2], pks[7], pks[19], pks[0]};
  std::vector<std::int64_t> with_gap = asked;
  with_gap.insert(with_gap.begin() + 1, none);

  auto before = statements();
  CHECK(pks_of(cached.objects_by_pks(with_gap)) ==
        std::vector<std::int64_t>{pks[7], 0, pks[2], pks[7], pks[19], pks[0]});
  CHECK(statements() - before == 1);  // cold: one IN for all four distinct misses (and the gap)
  CHECK(cached.stats().misses == 5);  // four rows and the gap, each asked once

  before = statements();
  const auto hits = cached.stats().hits;
  const auto warm = cached.objects_by_pks(asked);
  CHECK(statements() - before == 0);  // every row now from the cache
  CHECK(cached.stats().hits - hits == 4);
  CHECK(pks_of(warm) == asked);
  CHECK(warm[1]->first_name == "F2");

  before = statements();
  CHECK(pks_of(cached.objects_by_pks(with_gap)) ==
        std::vector<std::int64_t>{pks[7], 0, pks[2], pks[7], pks[19], pks[0]});
  CHECK(statements() - before == 1);  // the gap is not a cached answer: it asks again, alone

  // a write through a repository without caches invalidates the row it changed, only it
  CHECK(plain.filter(c(&Author::id) == pks[2]).update(c(&Author::books_in_store) = 42) == 1);
  before = statements();
  const auto after_write = cached.objects_by_pks(asked);
  CHECK(statements() - before == 1);
  CHECK(after_write[1]->books_in_store == 42);
  before = statements();
  CHECK(cached.objects_by_pks(asked)[1]->books_in_store == 42);
  CHECK(statements() - before == 0);

  // a deleted row becomes an empty slot
  CHECK(plain.remove(*plain.find(c(&Author::id) == pks[19])));
  CHECK(pks_of(cached.objects_by_pks(asked)) == std::vector<std::int64_t>{pks[7], pks[2], pks[7], 0, pks[0]});

  // the repository's filters apply to cached objects as to those read
  before = statements();
  CHECK(pks_of(cached.filter(c(&Author::books_in_store) == 42).objects_by_pks(asked)) ==
        std::vector<std::int64_t>{0, pks[2], 0, 0, 0});
  CHECK(statements() - before == 1);  // only the deleted row is asked of the database
}

TEST_CASE_METHOD(Fixture, "objects_by_pks in a transaction that wrote the table sees its writes, caches nothing",
                 "[objects_by_pks]") {
  const auto pks = make_authors(3);
  cached.objects_by_pks(pks);  // cached
  db.atomic([&] {
    CHECK(plain.filter(c(&Author::id) == pks[1]).update(c(&Author::books_in_store) = 9) == 1);
    CHECK(cached.objects_by_pks(pks)[1]->books_in_store == 9);
  });
  CHECK(cached.objects_by_pks(pks)[1]->books_in_store == 9);
  CHECK_THROWS_AS(db.atomic([&] {
                    CHECK(plain.filter(c(&Author::id) == pks[0]).update(c(&Author::books_in_store) = 11) == 1);
                    CHECK(cached.objects_by_pks(pks)[0]->books_in_store == 11);
                    throw std::runtime_error("roll back");
                  }),
                  std::runtime_error);
  const auto before = statements();
  CHECK(cached.objects_by_pks(pks)[0]->books_in_store == 0);
  CHECK(statements() - before == 0);  // the rolled-back write reached no cache
}

TEST_CASE_METHOD(Fixture, "objects_by_pks of 1000 rows: one statement cold and none warm (on Redis at most three round trips)",
                 "[objects_by_pks]") {
  const auto pks = make_authors(1000);
  std::vector<std::int64_t> asked(pks.rbegin(), pks.rend());  // an order that is not the table's
#ifdef GOCP_TEST_HAVE_REDIS
  auto trips = redis_round_trips(caches);
#endif
  auto before = statements();
  CHECK(pks_of(cached.objects_by_pks(asked)) == asked);
  CHECK(statements() - before == 1);
#ifdef GOCP_TEST_HAVE_REDIS
  if (gocp::test::cache_kind() == "redis") CHECK(redis_round_trips(caches) - trips <= 3 + 1);  // + a first connection
  trips = redis_round_trips(caches);
#endif
  before = statements();
  CHECK(pks_of(cached.objects_by_pks(asked)) == asked);
  CHECK(statements() - before == 0);
#ifdef GOCP_TEST_HAVE_REDIS
  if (gocp::test::cache_kind() == "redis") CHECK(redis_round_trips(caches) - trips == 1);  // one MGET
  trips = redis_round_trips(caches);
#endif
  // one bulk write of every row: every row read again, in one statement, and cached again
  CHECK(plain.update(c(&Author::books_in_store) = -1) == 1000);
  before = statements();
  const auto fresh = cached.objects_by_pks(asked);
  CHECK(statements() - before == 1);
  CHECK(std::all_of(fresh.begin(), fresh.end(), [](const auto& a) { return a && a->books_in_store == -1; }));
#ifdef GOCP_TEST_HAVE_REDIS
  if (gocp::test::cache_kind() == "redis") CHECK(redis_round_trips(caches) - trips <= 1 + 3);  // the write's + the read's
#endif
}
