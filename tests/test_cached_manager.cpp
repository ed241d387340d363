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
#include "support/error_of.hpp"
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
using gocp::test::redis_round_trips;
#endif

}  // namespace

TEST_CASE_METHOD(Fixture, "objects_by_pks without caches: the input's order with gaps and repeats in one query",
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

TEST_CASE_METHOD(Fixture, "objects_by_pks with caches: one cache read and one query for the misses then none",
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

TEST_CASE_METHOD(Fixture, "objects_by_pks in a transaction that wrote the table sees its writes and caches nothing",
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

// ---- from_cache -------------------------------------------------------------------------

namespace {

auto leo_lookup() { return c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy"; }

}  // namespace

TEST_CASE_METHOD(Fixture, "from_cache: one query then none - a write to the row reads it again and another row's does not",
                 "[from_cache]") {
  const auto leo = plain.create(Author{0, "Leo", "Tolstoy", 3, {}});
  const auto other = plain.create(Author{0, "Anna", "Karenina", 1, {}});
  const char* key = "author:{first_name}:{last_name}";

  auto before = statements();
  CHECK(cached.from_cache(key, leo_lookup())->id == leo.id);
  CHECK(statements() - before == 1);
  before = statements();
  CHECK(cached.from_cache(key, leo_lookup())->books_in_store == 3);
  CHECK(statements() - before == 0);

  // a write that must not invalidate: another author's row
  CHECK(plain.filter(c(&Author::id) == other.id).update(c(&Author::books_in_store) = 2) == 1);
  before = statements();
  CHECK(cached.from_cache(key, leo_lookup())->books_in_store == 3);
  CHECK(statements() - before == 0);

  // a write that must: the row itself
  CHECK(plain.filter(c(&Author::id) == leo.id).update(c(&Author::books_in_store) = 4) == 1);
  before = statements();
  CHECK(cached.from_cache(key, leo_lookup())->books_in_store == 4);
  CHECK(statements() - before == 1);
  before = statements();
  CHECK(cached.from_cache(key, leo_lookup())->books_in_store == 4);
  CHECK(statements() - before == 0);

  // the row leaves the lookup (renamed): the answer becomes "does not exist"
  Author renamed = *plain.find(c(&Author::id) == leo.id);
  renamed.first_name = "Lev";
  plain.save(renamed);
  CHECK_FALSE(cached.from_cache(key, leo_lookup(), {.none_on_error = true}));
}

TEST_CASE_METHOD(Fixture, "from_cache: a missing row is cached too until the insert that makes it exist",
                 "[from_cache]") {
  const char* key = "author:{first_name}:{last_name}";
  auto before = statements();
  CHECK_THROWS_AS(cached.from_cache(key, leo_lookup()), gocp::DoesNotExist);
  CHECK(statements() - before == 1);
  before = statements();
  CHECK_FALSE(cached.from_cache(key, leo_lookup(), {.none_on_error = true}));  // the same entry: cached "none"
  CHECK_THROWS_AS(cached.from_cache(key, leo_lookup()), gocp::DoesNotExist);
  CHECK(statements() - before == 0);

  // an insert of another author leaves it cached; the insert that makes it exist does not
  plain.create(Author{0, "Anna", "Karenina", 0, {}});
  before = statements();
  CHECK_FALSE(cached.from_cache(key, leo_lookup(), {.none_on_error = true}));
  CHECK(statements() - before == 0);
  const auto leo = plain.create(Author{0, "Leo", "Tolstoy", 0, {}});
  before = statements();
  CHECK(cached.from_cache(key, leo_lookup())->id == leo.id);
  CHECK(statements() - before == 1);

  // several rows still raise, none_on_error or not
  gocp::Repository<Author> by_last{db, caches};
  plain.create(Author{0, "Ilya", "Tolstoy", 0, {}});
  CHECK_THROWS_AS(cached.from_cache("authors:{last_name}", c(&Author::last_name) == "Tolstoy", {.none_on_error = true}),
                  gocp::MultipleObjectsReturned);
}

TEST_CASE_METHOD(Fixture, "from_cache: const filters narrow the query without entering the key and never share an entry",
                 "[from_cache]") {
  const auto leo = plain.create(Author{0, "Leo", "Tolstoy", 3, {}});
  const char* key = "author:{first_name}:{last_name}";
  const gocp::FromCache<Author> in_stock{.none_on_error = true, .filters = c(&Author::books_in_store) >= 1};
  const gocp::FromCache<Author> well_stocked{.none_on_error = true, .filters = c(&Author::books_in_store) >= 5};

  auto before = statements();
  CHECK(cached.from_cache(key, leo_lookup(), in_stock)->id == leo.id);
  CHECK_FALSE(cached.from_cache(key, leo_lookup(), well_stocked));  // the same template, another query: its own entry
  CHECK(statements() - before == 2);
  before = statements();
  CHECK(cached.from_cache(key, leo_lookup(), in_stock));
  CHECK_FALSE(cached.from_cache(key, leo_lookup(), well_stocked));
  CHECK(statements() - before == 0);

  // a write of the row that enters the filter: both answers read again
  CHECK(plain.filter(c(&Author::id) == leo.id).update(c(&Author::books_in_store) = 7) == 1);
  before = statements();
  CHECK(cached.from_cache(key, leo_lookup(), well_stocked)->books_in_store == 7);
  CHECK(cached.from_cache(key, leo_lookup(), in_stock)->books_in_store == 7);
  CHECK(statements() - before == 2);
}

TEST_CASE_METHOD(Fixture, "from_cache: a template naming a field the lookup does not fix is a ConfigurationError",
                 "[from_cache]") {
  plain.create(Author{0, "Leo", "Tolstoy", 3, {}});
  const auto before = statements();
  const std::string not_fixed =
      gocp::test::error_of<gocp::ConfigurationError>([&] { cached.from_cache("author:{store}", leo_lookup()); });
  CHECK_THAT(not_fixed, Catch::Contains("'store'") && Catch::Contains("\"author:{store}\"") &&
                            Catch::Contains("library.author"));
  // a range does not fix the field
  CHECK_THAT(gocp::test::error_of<gocp::ConfigurationError>(
                 [&] { cached.from_cache("author:{books_in_store}", c(&Author::books_in_store) > 2); }),
             Catch::Contains("'books_in_store'") && Catch::Contains("does not fix"));
  // nor does one side of an OR
  CHECK_THAT(gocp::test::error_of<gocp::ConfigurationError>([&] {
               cached.from_cache("author:{first_name}",
                                 c(&Author::first_name) == "Leo" || c(&Author::first_name) == "Lev");
             }),
             Catch::Contains("'first_name'"));
  CHECK_THAT(gocp::test::error_of<gocp::ConfigurationError>([&] { cached.from_cache("author:{nope}", leo_lookup()); }),
             Catch::Contains("'nope'") && Catch::Contains("not a field"));
  CHECK_THAT(gocp::test::error_of<gocp::ConfigurationError>([&] { cached.from_cache("author:{first_name", leo_lookup()); }),
             Catch::Contains("unclosed"));
  CHECK(statements() == before);  // refused before any query

  // a repository without a query cache
  CHECK_THAT(gocp::test::error_of<gocp::ConfigurationError>([&] { plain.from_cache("author:{first_name}", leo_lookup()); }),
             Catch::Contains("from_cache") && Catch::Contains("'default'"));
}

TEST_CASE_METHOD(Fixture, "from_cache with text values: converted to the field's type (none_on_error for one that cannot be)",
                 "[from_cache]") {
  const auto leo = plain.create(Author{0, "Leo", "Tolstoy", 3, {}});
  const std::string id = std::to_string(leo.id);
  auto before = statements();
  CHECK(cached.from_cache("author:{id}", {{"id", id}})->first_name == "Leo");
  CHECK(statements() - before == 1);
  before = statements();
  CHECK(cached.from_cache("author:{id}", {{"id", id}})->first_name == "Leo");
  // the typed lookup with the same values is the same entry
  CHECK(cached.from_cache("author:{id}", c(&Author::id) == leo.id)->first_name == "Leo");
  CHECK(statements() - before == 0);

  // values that cannot be an integer field's: no query, an empty answer or a ValidationError
  for (const char* bad : {"4x2", "", "99999999999999999999", " 1"}) {
    INFO(bad);
    CHECK_FALSE(cached.from_cache("author:{id}", {{"id", bad}}, {.none_on_error = true}));
    CHECK(cached.from_cache_list("author:{id}", {{"id", bad}}, {.none_on_error = true}).empty());
    CHECK_THAT(gocp::test::error_of<gocp::ValidationError>([&] { cached.from_cache("author:{id}", {{"id", bad}}); }),
               Catch::Contains("'id'") && Catch::Contains("library.author"));
  }
  // past the field's max_length (255 characters)
  CHECK_FALSE(cached.from_cache("author:{first_name}", {{"first_name", std::string(256, 'x')}, {"last_name", "T"}},
                                {.none_on_error = true}));
  CHECK(statements() - before == 0);
  // a missing row, as text
  CHECK_FALSE(cached.from_cache("author:{id}", {{"id", std::to_string(leo.id + 1)}}, {.none_on_error = true}));
  CHECK_THAT(gocp::test::error_of<gocp::ConfigurationError>([&] { cached.from_cache("author:{id}", {{"nope", "1"}}); }),
             Catch::Contains("'nope'"));
}

TEST_CASE_METHOD(Fixture, "from_cache_list: every match in order and cached - invalidated by a row entering or leaving it",
                 "[from_cache]") {
  plain.create(Author{0, "Leo", "Tolstoy", 3, {}});
  plain.create(Author{0, "Ilya", "Tolstoy", 1, {}});
  const auto anna = plain.create(Author{0, "Anna", "Karenina", 1, {}});
  const auto tolstoys = cached.order_by(c(&Author::first_name));
  const auto names = [](const std::vector<Author>& rows) {
    std::vector<std::string> out;
    for (const Author& a : rows) out.push_back(a.first_name);
    return out;
  };

  auto before = statements();
  CHECK(names(tolstoys.from_cache_list("authors:{last_name}", c(&Author::last_name) == "Tolstoy")) ==
        std::vector<std::string>{"Ilya", "Leo"});
  CHECK(statements() - before == 1);
  before = statements();
  CHECK(names(tolstoys.from_cache_list("authors:{last_name}", c(&Author::last_name) == "Tolstoy")) ==
        std::vector<std::string>{"Ilya", "Leo"});
  CHECK(tolstoys.from_cache_list("authors:{last_name}", c(&Author::last_name) == "Nobody").empty());
  CHECK(statements() - before == 1);  // the empty list, read once
  before = statements();
  CHECK(tolstoys.from_cache_list("authors:{last_name}", c(&Author::last_name) == "Nobody").empty());
  CHECK(statements() - before == 0);

  // a write of a row outside it: still cached
  CHECK(plain.filter(c(&Author::id) == anna.id).update(c(&Author::books_in_store) = 9) == 1);
  before = statements();
  CHECK(tolstoys.from_cache_list("authors:{last_name}", c(&Author::last_name) == "Tolstoy").size() == 2);
  CHECK(statements() - before == 0);
  // a row entering it (renamed into it): read again
  Author renamed = anna;
  renamed.last_name = "Tolstoy";
  renamed.books_in_store = 9;
  plain.save(renamed);
  before = statements();
  CHECK(names(tolstoys.from_cache_list("authors:{last_name}", c(&Author::last_name) == "Tolstoy")) ==
        std::vector<std::string>{"Anna", "Ilya", "Leo"});
  CHECK(statements() - before == 1);
  // and leaving it (deleted)
  CHECK(plain.remove(renamed));
  CHECK(names(tolstoys.from_cache_list("authors:{last_name}", c(&Author::last_name) == "Tolstoy")) ==
        std::vector<std::string>{"Ilya", "Leo"});
  // a transaction that wrote the table reads the database and caches nothing
  db.atomic([&] {
    plain.create(Author{0, "Sofia", "Tolstoy", 0, {}});
    CHECK(tolstoys.from_cache_list("authors:{last_name}", c(&Author::last_name) == "Tolstoy").size() == 3);
  });
  CHECK(tolstoys.from_cache_list("authors:{last_name}", c(&Author::last_name) == "Tolstoy").size() == 3);
}
