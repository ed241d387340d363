// Cached querysets (issue 19): `.cache()` reads, get()/find() with CachedQueries (negative
// caching included), and their invalidation rules 1-7, counted in SQL statements: a first
// read Q(1), a repeat Q(0), after a write that must invalidate Q(1), after a write that
// must not Q(0). Transactions, eviction of versions and entries, the deny list, threads
// checked against uncached reads, and threads that miss one result at once (one query).
// On SQLite and PostgreSQL (test_cached_queries_pg.*), and on locmem, Redis and memcached
// (test_cached_queries_redis.*, _memcached.*).

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/cache_url.hpp"
#include "support/database_url.hpp"
#include "support/query_models.hpp"
#include "support/temp_dir.hpp"

using gocp::c;
using qm::Link;
using qm::Tag;
using qm::User;

namespace {

using Ids = std::vector<std::int64_t>;

template <class T>
Ids ids(const std::vector<T>& rows) {
  Ids out;
  for (const T& r : rows) out.push_back(r.id);
  return out;
}

gocp::CacheRegistry make_caches() {
  const std::string url = gocp::test::cache_url();
  return gocp::CacheRegistry{{"default", url}, {"qm.link", url}, {"qm.user", url}, {"qm.tag", url}};
}

struct Fixture {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir));
  qm::Data data{db};
  gocp::CacheRegistry caches = make_caches();
  gocp::Repository<Link, gocp::CachedQueries> links{db, caches};
  gocp::Repository<User, gocp::CachedQueries> users{db, caches};
  gocp::Repository<Tag> tags{db, caches};

  /// The SQL statements `read()` sent through `repo` (its counters are shared by its copies).
  template <class Repo, class Read>
  static std::uint64_t q(const Repo& repo, Read&& read) {
    const auto before = repo.stats().db_queries;
    read();
    return repo.stats().db_queries - before;
  }

  gocp::Repository<Link, gocp::CachedQueries> of(const User& u) const {
    return links.filter(c(&Link::user_id) == u.id).order_by(c(&Link::created_at).desc()).cache();
  }

  void touch(Link l) const {  // a write that changes no grouping field
    l.clicks += 1;
    links.save(l);
  }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "a cached list: Q(1), then Q(0), with the database's rows", "[queries]") {
  const auto anns = of(data.ann);
  std::vector<Link> first, second;
  CHECK(q(links, [&] { first = anns.all(); }) == 1);
  CHECK(q(links, [&] { second = anns.all(); }) == 0);
  CHECK(ids(first) == Ids{data.b.id, data.c.id, data.a.id});
  CHECK(ids(second) == ids(first));
  CHECK(second[0].url == "https://b");
  CHECK(links.stats().hits >= 1);
  // a different query is another entry
  CHECK(q(links, [&] { anns.limit(1).all(); }) == 1);
  CHECK(q(links, [&] { anns.limit(1).all(); }) == 0);
  // without cache(), every read asks the database
  CHECK(q(links, [&] { links.filter(c(&Link::user_id) == data.ann.id).all(); }) == 1);
  CHECK(q(links, [&] { links.filter(c(&Link::user_id) == data.ann.id).all(); }) == 1);
}

TEST_CASE_METHOD(Fixture, "all_shared: the cached list itself on a hit, a new one after a write - the old one unchanged",
                 "[queries]") {
  const auto anns = of(data.ann);
  std::shared_ptr<const std::vector<Link>> first, second, third;
  CHECK(q(links, [&] { first = anns.all_shared(); }) == 1);
  CHECK(q(links, [&] { second = anns.all_shared(); }) == 0);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(ids(*first) == Ids{data.b.id, data.c.id, data.a.id});
  CHECK(ids(*second) == ids(*first));
  if (!gocp::test::cache_is_shared()) CHECK(second == first);  // locmem: the entry's own list, not a copy
  // all() and all_shared() are one entry: either fills it for the other
  CHECK(q(links, [&] { CHECK(ids(anns.all()) == ids(*first)); }) == 0);
  touch(data.a);  // ann's: invalidates
  CHECK(q(links, [&] { third = anns.all_shared(); }) == 1);
  CHECK(third != first);
  CHECK(third->back().clicks == data.a.clicks + 1);
  CHECK(first->back().clicks == data.a.clicks);  // a list handed out never changes
  // without cache(), every call asks the database, each into a list of its own
  const auto plain = links.filter(c(&Link::user_id) == data.ann.id).order_by(c(&Link::created_at).desc());
  std::shared_ptr<const std::vector<Link>> u1, u2;
  CHECK(q(links, [&] { u1 = plain.all_shared(); }) == 1);
  CHECK(q(links, [&] { u2 = plain.all_shared(); }) == 1);
  CHECK(u1 != u2);
  CHECK(ids(*u1) == ids(*third));
}

TEST_CASE_METHOD(Fixture, "rule 1: a write to a row the result returned invalidates it, another row's does not",
                 "[queries][invalidation]") {
  const auto anns = of(data.ann);
  CHECK(q(links, [&] { anns.all(); }) == 1);
  touch(data.d);  // bob's
  CHECK(q(links, [&] { anns.all(); }) == 0);
  touch(data.a);  // ann's
  std::vector<Link> got;
  CHECK(q(links, [&] { got = anns.all(); }) == 1);
  CHECK(got.back().clicks == data.a.clicks + 1);
  CHECK(q(links, [&] { anns.all(); }) == 0);
  links.remove(data.c);  // a delete of a returned row
  CHECK(q(links, [&] { got = anns.all(); }) == 1);
  CHECK(ids(got) == Ids{data.b.id, data.a.id});
}

TEST_CASE_METHOD(Fixture, "rule 2: a row entering or leaving the group invalidates (old and new values)",
                 "[queries][invalidation]") {
  const auto anns = of(data.ann);
  const auto popular = links.filter(c(&Link::user_id) == data.ann.id && c(&Link::clicks) > 100).cache();
  CHECK(q(links, [&] { anns.all(); }) == 1);
  CHECK(q(links, [&] { popular.count(); }) == 1);
  Link d = data.d;  // bob's link enters ann's group: its new values
  d.user_id = data.ann.id;
  links.save(d);
  std::vector<Link> got;
  CHECK(q(links, [&] { got = anns.all(); }) == 1);
  CHECK(ids(got) == Ids{data.d.id, data.b.id, data.c.id, data.a.id});
  std::size_t n = 0;
  CHECK(q(links, [&] { n = popular.count(); }) == 1);
  CHECK(n == 2);
  Link a = data.a;  // ann's link leaves: its old values
  a.user_id = data.bob.id;
  links.save(a);
  CHECK(q(links, [&] { got = anns.all(); }) == 1);
  CHECK(ids(got) == Ids{data.d.id, data.b.id, data.c.id});
  CHECK(q(links, [&] { anns.all(); }) == 0);
  CHECK(q(links, [&] { popular.count(); }) == 1);
  touch(data.e);  // dee's: in neither group, before or after
  CHECK(q(links, [&] { anns.all(); }) == 0);
  CHECK(q(links, [&] { popular.count(); }) == 0);
  // an insert into the group
  links.create({0, data.ann.id, "https://new", 500, qm::day(9), std::nullopt, std::nullopt, std::nullopt});
  CHECK(q(links, [&] { n = popular.count(); }) == 1);
  CHECK(n == 3);
}

TEST_CASE_METHOD(Fixture, "rule 3: in() of a few values is per value, while ranges, negations, LIKE and long in() are table-wide",
                 "[queries][invalidation]") {
  const auto two = links.filter(c(&Link::user_id).in({data.ann.id, data.bob.id})).cache();
  CHECK(q(links, [&] { two.count(); }) == 1);
  touch(data.e);  // dee's
  CHECK(q(links, [&] { two.count(); }) == 0);
  touch(data.d);  // bob's
  CHECK(q(links, [&] { two.count(); }) == 1);

  std::vector<std::int64_t> many;
  for (std::int64_t i = 1; i <= 40; ++i) many.push_back(i);
  const auto wide = links.filter(c(&Link::user_id).in(many)).cache();
  const auto range = links.filter(c(&Link::clicks) > 100).cache();
  const auto negation = links.exclude(c(&Link::user_id) == data.dee.id).cache();
  const auto like = links.filter(c(&Link::url).startswith("https://a")).cache();
  const auto everything = links.cache();
  for (const auto* r : {&wide, &range, &negation, &like, &everything}) {
    CHECK(q(links, [&] { r->count(); }) == 1);
    CHECK(q(links, [&] { r->count(); }) == 0);
  }
  links.create({0, data.cy.id, "https://cy", 0, qm::day(1), std::nullopt, std::nullopt, std::nullopt});
  for (const auto* r : {&wide, &range, &negation, &like, &everything}) CHECK(q(links, [&] { r->count(); }) == 1);
  CHECK(everything.count() == 6);
  CHECK(q(links, [&] { two.count(); }) == 0);  // cy is in neither of its groups
}

TEST_CASE_METHOD(Fixture, "rule 4: a condition across a relation is invalidated by writes to the inner table",
                 "[queries][relations][invalidation]") {
  const auto by_example = links.filter(c(&Link::user_id).in(users.filter(c(&User::email).endswith("@example.com")))).cache();
  const auto by_ann = links.filter(c(&Link::user_id).in(users.filter(c(&User::email) == "ann@example.com"))).cache();
  std::size_t n = 0;
  CHECK(q(links, [&] { n = by_example.count(); }) == 1);
  CHECK(n == 4);
  CHECK(q(links, [&] { by_ann.count(); }) == 1);
  CHECK(q(links, [&] { by_example.count(); }) == 0);
  CHECK(q(links, [&] { by_ann.count(); }) == 0);
  User dee = data.dee;  // enters the inner set
  dee.email = "dee@example.com";
  users.save(dee);
  CHECK(q(links, [&] { n = by_example.count(); }) == 1);
  CHECK(n == 5);
  CHECK(q(links, [&] { by_ann.count(); }) == 0);  // the inner group is ann's email: dee's write is not in it
  User ann = data.ann;  // leaves the inner set of by_ann
  ann.email = "ann@elsewhere.org";
  users.save(ann);
  CHECK(q(links, [&] { n = by_ann.count(); }) == 1);
  CHECK(n == 0);
  // and the outer table's writes
  CHECK(q(links, [&] { by_example.count(); }) == 1);
  touch(data.e);
  CHECK(q(links, [&] { n = by_example.count(); }) == 1);
  CHECK(n == 2);  // bob's and dee's
}

TEST_CASE_METHOD(Fixture, "rule 5: many-to-many add, remove and clear invalidate through the through table",
                 "[queries][relations][invalidation]") {
  const Tag news = tags.create({0, "news"});
  const Tag other = tags.create({0, "other"});
  const auto tagged = gocp::related(links, news, gocp::model<Tag>::links);
  const auto others = gocp::related(links, other, gocp::model<Tag>::links);
  const auto cached = tagged.query().cache();
  std::vector<Link> got;
  CHECK(q(links, [&] { got = cached.all(); }) == 1);
  CHECK(got.empty());
  CHECK(q(links, [&] { cached.all(); }) == 0);
  tagged.add(data.a, data.b);
  CHECK(q(links, [&] { got = cached.all(); }) == 1);
  CHECK(ids(got) == Ids{data.a.id, data.b.id});
  others.add(data.c);  // another tag's through rows
  CHECK(q(links, [&] { cached.all(); }) == 0);
  tagged.remove(data.a);
  CHECK(q(links, [&] { got = cached.all(); }) == 1);
  CHECK(ids(got) == Ids{data.b.id});
  // the reverse side: a link's tags
  const auto tags_of_b = gocp::related(tags, data.b, gocp::model<Tag>::links).query().cache();
  std::vector<Tag> b_tags;
  CHECK(q(tags, [&] { b_tags = tags_of_b.all(); }) == 1);
  CHECK(q(tags, [&] { tags_of_b.all(); }) == 0);
  tagged.clear();
  CHECK(q(links, [&] { got = cached.all(); }) == 1);
  CHECK(got.empty());
  CHECK(q(tags, [&] { b_tags = tags_of_b.all(); }) == 1);
  CHECK(b_tags.empty());
}

TEST_CASE_METHOD(Fixture, "rule 6: cache(&field) is accepted when every OR-group fixes the field, refused otherwise",
                 "[queries][invalidation]") {
  // url first: without a restriction the url's version is chosen (fewest versions, first)
  const auto by_url = links.filter(c(&Link::url) == "https://a" && c(&Link::user_id) == data.ann.id);
  CHECK(q(links, [&] { by_url.cache().count(); }) == 1);
  CHECK(q(links, [&] { by_url.cache(&Link::user_id).count(); }) == 1);
  touch(data.b);  // ann's other link: not the url's value, but ann's
  CHECK(q(links, [&] { by_url.cache().count(); }) == 0);
  CHECK(q(links, [&] { by_url.cache(&Link::user_id).count(); }) == 1);
  touch(data.d);  // bob's: neither
  CHECK(q(links, [&] { by_url.cache(&Link::user_id).count(); }) == 0);
  // in every OR-group, through && and in()
  const auto grouped = links.filter((c(&Link::user_id) == data.ann.id && c(&Link::clicks) > 50) ||
                                    (c(&Link::user_id).in({data.bob.id, data.dee.id}) && c(&Link::note).is_null()));
  CHECK(q(links, [&] { grouped.cache(&Link::user_id).all(); }) == 1);
  CHECK(q(links, [&] { grouped.cache(&Link::user_id).all(); }) == 0);
  // refused, naming the field
  const auto either = links.filter(c(&Link::user_id) == data.ann.id || c(&Link::clicks) > 100);
  CHECK_THROWS_AS(either.cache(&Link::user_id).all(), gocp::ConfigurationError);
  CHECK_THROWS_WITH(either.cache(&Link::user_id).count(), Catch::Contains("'user_id'") && Catch::Contains("qm.link"));
  CHECK_THROWS_WITH(links.filter(c(&Link::clicks) > 1).cache(&Link::user_id).all(), Catch::Contains("'user_id'"));
  CHECK_THROWS_WITH(links.cache(&Link::user_id).all(), Catch::Contains("'user_id'"));
}

TEST_CASE_METHOD(Fixture, "rule 7: bulk update, remove_all, bulk_create and upserts invalidate like single writes",
                 "[queries][invalidation]") {
  const auto anns = of(data.ann);
  const auto bobs = of(data.bob);
  const auto count_anns = [&] { return q(links, [&] { anns.all(); }); };
  const auto count_bobs = [&] { return q(links, [&] { bobs.all(); }); };
  CHECK(count_anns() == 1);
  CHECK(count_bobs() == 1);
  links.filter(c(&Link::user_id) == data.ann.id).update(c(&Link::clicks) += 1);
  CHECK(count_anns() == 1);
  CHECK(count_bobs() == 0);
  links.filter(c(&Link::user_id) == data.dee.id).remove_all();
  CHECK(count_anns() == 0);
  CHECK(count_bobs() == 0);
  links.bulk_create({Link{0, data.bob.id, "https://bulk", 1, qm::day(7), std::nullopt, std::nullopt, std::nullopt}});
  CHECK(count_anns() == 0);
  CHECK(count_bobs() == 1);
  std::vector<Link> got;
  CHECK(q(links, [&] { got = bobs.all(); }) == 0);
  CHECK(got.size() == 2);
  // an upsert that updates ann's link a
  Link again = data.a;
  again.id = 0;
  again.clicks = 999;
  links.bulk_create({again}, {.update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Link::url),
                                                                         gocp::update_fields(&Link::clicks))});
  CHECK(q(links, [&] { got = anns.all(); }) == 1);
  CHECK(got.back().clicks == 999);
  // an upsert does not know the old values of the row it updated: every result of the
  // table is invalidated (its `wide` version), over-invalidating bob's, never under
  CHECK(count_bobs() == 1);
  CHECK(count_bobs() == 0);
  // a cascade: deleting bob deletes his links
  users.remove(data.bob);
  CHECK(q(links, [&] { got = bobs.all(); }) == 1);
  CHECK(got.empty());
}

TEST_CASE_METHOD(Fixture, "rule 7 at scale: a bulk update of 500 rows invalidates by each row's values, no more",
                 "[queries][invalidation]") {
  std::vector<Link> many;
  for (int i = 0; i < 500; ++i)
    many.push_back(Link{0, data.ann.id, "https://many/" + std::to_string(i), 0, qm::day(1), "n-" + std::to_string(i),
                        std::nullopt, std::nullopt});
  links.bulk_create(many);
  const auto noted = links.filter(c(&Link::note) == std::string("n-250")).cache();
  const auto bobs = of(data.bob);
  std::vector<Link> got;
  CHECK(q(links, [&] { got = noted.all(); }) == 1);
  CHECK(got.size() == 1);
  CHECK(q(links, [&] { bobs.all(); }) == 1);
  CHECK(q(links, [&] { bobs.all(); }) == 0);
  // 500 rows' old and new values: a thousand field keys, each bumped once
  CHECK(links.filter(c(&Link::note).startswith("n-")).update(c(&Link::note) = std::string("moved")) == 500);
  CHECK(q(links, [&] { got = noted.all(); }) == 1);  // its value left: invalidated
  CHECK(got.empty());
  CHECK(q(links, [&] { bobs.all(); }) == 0);  // none of bob's rows changed
}

TEST_CASE_METHOD(Fixture, "every cached read kind: first, last, count, exists, values, values_list, aggregate",
                 "[queries]") {
  const auto anns = of(data.ann);
  const auto check_all = [&](std::uint64_t expected) {
    CHECK(q(links, [&] { CHECK(anns.first()->id == data.b.id); }) == expected);
    CHECK(q(links, [&] { CHECK(anns.last()->id == data.a.id); }) == expected);
    CHECK(q(links, [&] { CHECK(anns.count() == 3); }) == expected);
    CHECK(q(links, [&] { CHECK(anns.exists()); }) == expected);
    CHECK(q(links, [&] { CHECK(anns.values(&Link::url, &Link::note)[2] == std::tuple<std::string, std::optional<std::string>>{"https://a", "x"}); }) == expected);
    CHECK(q(links, [&] { CHECK(anns.values_list(&Link::clicks) == std::vector<std::int64_t>{200, 5, data.a.clicks}); }) == expected);
    CHECK(q(links, [&] {
            auto [n, total, best] = anns.aggregate(gocp::count(), gocp::sum(&Link::clicks), gocp::max(&Link::rating));
            CHECK(n == 3);
            CHECK(total == 205 + data.a.clicks);
            CHECK(best == 4.5);
          }) == expected);
  };
  check_all(1);
  check_all(0);
  touch(data.d);
  check_all(0);
  Link a = data.a;
  links.save(a);  // the same values: still a write of ann's row
  check_all(1);
  // a missing answer is cached as well
  const auto nobody = links.filter(c(&Link::user_id) == data.cy.id).cache();
  CHECK(q(links, [&] { CHECK(!nobody.first()); }) == 1);
  CHECK(q(links, [&] { CHECK(!nobody.first()); }) == 0);
  CHECK(q(links, [&] { CHECK(!nobody.exists()); }) == 1);
  CHECK(q(links, [&] { CHECK(!nobody.exists()); }) == 0);
}

TEST_CASE_METHOD(Fixture, "CachedQueries: get and find by any lookup, and 'does not exist' cached until an insert",
                 "[queries][negative]") {
  for (int i = 0; i < 2; ++i)
    CHECK(q(links, [&] { CHECK_THROWS_AS(links.get(c(&Link::url) == "https://zzz"), gocp::DoesNotExist); }) ==
          (i == 0 ? 1u : 0u));
  CHECK(q(links, [&] { CHECK(!links.find(c(&Link::url) == "https://zzz")); }) == 0);  // get and find share it
  const Link made = links.create({0, data.cy.id, "https://zzz", 3, qm::day(5), std::nullopt, std::nullopt, std::nullopt});
  CHECK(q(links, [&] { CHECK(links.get(c(&Link::url) == "https://zzz").id == made.id); }) == 1);
  CHECK(q(links, [&] { CHECK(links.get(c(&Link::url) == "https://zzz").id == made.id); }) == 0);
  // a lookup no unique constraint covers, and one with a range
  CHECK(q(links, [&] { CHECK(links.get(c(&Link::user_id) == data.bob.id).id == data.d.id); }) == 1);
  CHECK(q(links, [&] { CHECK(links.get(c(&Link::user_id) == data.bob.id).id == data.d.id); }) == 0);
  CHECK(q(links, [&] { CHECK(links.find(c(&Link::clicks) > 175)->id == data.b.id); }) == 1);
  CHECK(q(links, [&] { CHECK(links.find(c(&Link::clicks) > 175)->id == data.b.id); }) == 0);
  // several rows: MultipleObjectsReturned every time, never cached as an answer
  CHECK(q(links, [&] { CHECK_THROWS_AS(links.get(c(&Link::user_id) == data.ann.id), gocp::MultipleObjectsReturned); }) == 1);
  CHECK(q(links, [&] { CHECK_THROWS_AS(links.get(c(&Link::user_id) == data.ann.id), gocp::MultipleObjectsReturned); }) == 1);
  // no_cache() bypasses
  CHECK(q(links, [&] { links.no_cache().find(c(&Link::url) == "https://zzz"); }) == 1);
  // the repository's filters are part of the query
  const auto bobs = links.filter(c(&Link::user_id) == data.bob.id);
  CHECK(q(links, [&] { CHECK(!bobs.find(c(&Link::url) == "https://zzz")); }) == 1);
  CHECK(q(links, [&] { CHECK(!bobs.find(c(&Link::url) == "https://zzz")); }) == 0);
}

TEST_CASE_METHOD(Fixture, "CachedGetOrCreate: get and find by a unique lookup are cached, others are not",
                 "[queries][policies]") {
  gocp::Repository<User, gocp::CachedGetOrCreate> people{db, caches};
  CHECK(q(people, [&] { CHECK(people.get(c(&User::email) == "bob@example.com").id == data.bob.id); }) == 1);
  CHECK(q(people, [&] { CHECK(people.get(c(&User::email) == "bob@example.com").id == data.bob.id); }) == 0);
  CHECK(q(people, [&] { CHECK(!people.find(c(&User::email) == "nobody@example.com")); }) == 1);
  CHECK(q(people, [&] { CHECK(!people.find(c(&User::email) == "nobody@example.com")); }) == 0);
  people.get_or_create(c(&User::email) == "nobody@example.com");
  CHECK(q(people, [&] { CHECK(people.find(c(&User::email) == "nobody@example.com")); }) == 1);
  CHECK(q(people, [&] { people.find(c(&User::email).endswith("@other.org")); }) == 1);
  CHECK(q(people, [&] { people.find(c(&User::email).endswith("@other.org")); }) == 1);
}

TEST_CASE_METHOD(Fixture, "transactions: a rollback leaves nothing wrong cached and a transaction sees its own writes",
                 "[queries][transaction]") {
  const auto anns = of(data.ann);
  CHECK(q(links, [&] { anns.all(); }) == 1);
  try {
    db.atomic([&] {
      links.create({0, data.ann.id, "https://rolled", 1, qm::day(8), std::nullopt, std::nullopt, std::nullopt});
      std::vector<Link> inside;
      CHECK(q(links, [&] { inside = anns.all(); }) == 1);  // it wrote the table: the database
      CHECK(inside.size() == 4);
      CHECK(q(links, [&] { anns.all(); }) == 1);           // and nothing was filled
      throw std::runtime_error("roll back");
    });
  } catch (const std::runtime_error&) {
  }
  std::vector<Link> got;
  CHECK(q(links, [&] { got = anns.all(); }) == 0);  // nothing was invalidated, nothing stale cached
  CHECK(got.size() == 3);
  // a read-only transaction may hit; a miss inside fills nothing
  const auto bobs = of(data.bob);
  db.atomic([&] {
    CHECK(q(links, [&] { anns.all(); }) == 0);
    CHECK(q(links, [&] { bobs.all(); }) == 1);
  });
  CHECK(q(links, [&] { bobs.all(); }) == 1);
  // a committed write invalidates at commit
  db.atomic([&] { touch(data.a); });
  CHECK(q(links, [&] { got = anns.all(); }) == 1);
  CHECK(got.back().clicks == data.a.clicks + 1);
  // select_for_update is never cached
  db.atomic([&] {
    CHECK(q(links, [&] { anns.select_for_update().all(); }) == 1);
    CHECK(q(links, [&] { anns.select_for_update().all(); }) == 1);
  });
}

TEST_CASE("the byte tier's result encoding: objects round-trip exactly, and bytes that are not such a result are refused",
          "[queries][codec]") {
  using Codec = gocp::detail::query_bytes::Codec<std::vector<Link>>;
  std::vector<Link> links(2);
  links[0] = Link{7, 3, "https://example.com/a-long-url-past-the-small-string-buffer", -5, {}, std::nullopt, -0.5, 9};
  links[0].created_at = gocp::Timestamp(std::chrono::microseconds(1'700'000'000'123'456));
  links[1] = Link{8, 3, "", 0, {}, std::string("ünï\0note", 9), std::nullopt, std::nullopt};
  std::string bytes;
  Codec::put(bytes, links);
  std::vector<Link> back;
  std::string_view in = bytes;
  REQUIRE(Codec::get(in, back));
  CHECK(in.empty());
  REQUIRE(back.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(back[i].id == links[i].id);
    CHECK(back[i].url == links[i].url);
    CHECK(back[i].clicks == links[i].clicks);
    CHECK(back[i].created_at == links[i].created_at);
    CHECK(back[i].note == links[i].note);
    CHECK(back[i].rating == links[i].rating);
    CHECK(back[i].referrer_id == links[i].referrer_id);
  }
  // truncated anywhere: refused, never a partial object
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::string_view cut(bytes.data(), n);
    std::vector<Link> partial;
    CHECK_FALSE(Codec::get(cut, partial));
  }
  // a column written as another type (user_id's int64 as a double): refused, not converted
  std::string retyped = bytes;
  const std::size_t user_id_at = 8 + 9;  // the count, then id's index byte and 8 bytes
  REQUIRE(retyped[user_id_at] == 1);
  retyped[user_id_at] = 2;
  std::string_view r = retyped;
  std::vector<Link> wrong;
  bool decoded = false;
  try {
    decoded = Codec::get(r, wrong);
  } catch (const gocp::Error&) {
  }
  CHECK_FALSE(decoded);
}

TEST_CASE("eviction: a version cell its full shard forgets no longer matches the entries that hold it",
          "[queries][eviction]") {
  gocp::detail::VersionShelf shelf(16, gocp::Cache::Ttl{});  // 64 versions a shard
  const std::vector<std::string> key{"ann"};
  std::vector<std::shared_ptr<const gocp::detail::VersionCell>> cell(1);
  std::vector<std::uint64_t> value(1);
  shelf.read(key, cell, value);
  const auto held = cell[0];
  const std::uint64_t filled_under = value[0];
  // thousands of other versions: ann's shard fills and is emptied
  std::vector<std::string> other(1);
  for (int i = 0; i < 16 * 64 * 4; ++i) {
    other[0] = "v" + std::to_string(i);
    shelf.read(other, cell, value);
  }
  shelf.bump(key);  // a write of ann's row after the shelf forgot it: nothing to bump
  CHECK(held->value.load() != filled_under);  // but the forgotten cell moved as it went
  shelf.read(key, cell, value);
  CHECK(cell[0] != held);  // a new cell, fresh
}

TEST_CASE_METHOD(Fixture, "eviction: a lost version or entry is a miss, never a stale hit", "[queries][eviction]") {
  const auto anns = of(data.ann);
  CHECK(q(links, [&] { anns.all(); }) == 1);
  CHECK(q(links, [&] { anns.all(); }) == 0);
  // lose ann's version, then write ann's row: the bump finds nothing to bump
  std::string key;
  const gocp::Value ann_id{data.ann.id};
  gocp::detail::write_version_key(key, gocp::detail::table_prefix(gocp::model_info<Link>(), db.id()),
                                  gocp::detail::VersionRef::Kind::field, 1, &ann_id);
  auto* local = dynamic_cast<gocp::LocMemCache*>(&caches.cache("default"));
  const auto lose_versions = [&] {
    if (local) local->shelf<gocp::detail::VersionShelf>("gocp:query-versions:" + db.id())->clear();
    else caches.cache("default").remove(key);
  };
  lose_versions();
  touch(data.a);
  std::vector<Link> got;
  CHECK(q(links, [&] { got = anns.all(); }) == 1);
  CHECK(got.back().clicks == data.a.clicks + 1);
  CHECK(q(links, [&] { anns.all(); }) == 0);
  lose_versions();
  CHECK(q(links, [&] { anns.all(); }) == 1);
  // lose the entries
  if (local) local->shelf<gocp::detail::QueryShelf>("gocp:queries:" + db.id())->clear();
  else if (auto* shared = dynamic_cast<gocp::SharedCache*>(&caches.cache("default"))) (void)shared;
  if (local) CHECK(q(links, [&] { anns.all(); }) == 1);
  CHECK(q(links, [&] { got = anns.all(); }) == 0);
  CHECK(got.size() == 3);
}

TEST_CASE_METHOD(Fixture, "the registry's deny list: queries reading a denied table always ask the database",
                 "[queries]") {
  caches.never_cache_queries_of("qm.user");
  const auto across = links.filter(c(&Link::user_id).in(users.filter(c(&User::email).endswith("@example.com")))).cache();
  CHECK(q(links, [&] { across.count(); }) == 1);
  CHECK(q(links, [&] { across.count(); }) == 1);
  CHECK(q(users, [&] { users.find(c(&User::email) == "ann@example.com"); }) == 1);
  CHECK(q(users, [&] { users.find(c(&User::email) == "ann@example.com"); }) == 1);
  CHECK(q(links, [&] { of(data.ann).all(); }) == 1);
  CHECK(q(links, [&] { of(data.ann).all(); }) == 0);
}

TEST_CASE_METHOD(Fixture, "the registry's cache_gets(false): get and find are cached only after cache()",
                 "[queries]") {
  CHECK(caches.caches_gets());
  caches.cache_gets(false);  // CACHEBOT_CACHE_GET = False
  CHECK(q(links, [&] { links.get(c(&Link::url) == data.a.url); }) == 1);
  CHECK(q(links, [&] { links.get(c(&Link::url) == data.a.url); }) == 1);
  CHECK(q(links, [&] { links.find(c(&Link::url) == "https://zzz"); }) == 1);
  CHECK(q(links, [&] { links.find(c(&Link::url) == "https://zzz"); }) == 1);
  gocp::Repository<User, gocp::CachedGetOrCreate> people{db, caches};
  CHECK(q(people, [&] { people.get(c(&User::email) == "bob@example.com"); }) == 1);
  CHECK(q(people, [&] { people.get(c(&User::email) == "bob@example.com"); }) == 1);
  // asked for: cached
  CHECK(q(links, [&] { links.cache().get(c(&Link::url) == data.a.url); }) == 1);
  CHECK(q(links, [&] { links.cache().get(c(&Link::url) == data.a.url); }) == 0);
  caches.cache_gets(true);
  CHECK(q(links, [&] { CHECK(links.get(c(&Link::url) == data.a.url).id == data.a.id); }) == 0);  // the same entry
  CHECK(q(people, [&] { people.get(c(&User::email) == "bob@example.com"); }) == 1);
  CHECK(q(people, [&] { people.get(c(&User::email) == "bob@example.com"); }) == 0);
}

TEST_CASE("cache() needs a default alias", "[queries]") {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir));
  gocp::Repository<User> plain{db};
  CHECK_THROWS_WITH(plain.cache(), Catch::Contains("'default'") && Catch::Contains("qm.user"));
}

TEST_CASE_METHOD(Fixture, "threads writing and reading cached querysets: every cached read is the database's",
                 "[queries][concurrency]") {
  constexpr int kWriters = 2, kReaders = 2, kRounds = 150;
  const std::vector<User> people{data.ann, data.bob, data.cy, data.dee};
  std::shared_mutex writing;  // readers compare while no write is in flight
  std::atomic<int> checked{0};
  std::vector<std::string> mismatches;
  std::mutex mismatches_mutex;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w)
    threads.emplace_back([&, w] {
      std::mt19937 rng(static_cast<unsigned>(w + 1));
      for (int i = 0; i < kRounds; ++i) {
        std::unique_lock lock(writing);
        const auto all = links.no_cache().all();
        if (all.empty()) break;
        Link l = all[rng() % all.size()];
        switch (rng() % 4) {
          case 0: l.user_id = people[rng() % people.size()].id; links.save(l); break;
          case 1: l.clicks = static_cast<std::int64_t>(rng() % 300); links.save(l); break;
          case 2:
            links.filter(c(&Link::user_id) == people[rng() % people.size()].id).update(c(&Link::clicks) += 1);
            break;
          default:
            links.create({0, people[rng() % people.size()].id, "https://t" + std::to_string(w) + "-" + std::to_string(i),
                          static_cast<std::int64_t>(rng() % 300), qm::day(static_cast<int>(rng() % 30)), std::nullopt,
                          std::nullopt, std::nullopt});
        }
      }
    });
  for (int r = 0; r < kReaders; ++r)
    threads.emplace_back([&, r] {
      std::mt19937 rng(static_cast<unsigned>(100 + r));
      for (int i = 0; i < kRounds * 2; ++i) {
        const User& u = people[rng() % people.size()];
        const auto query = links.filter(c(&Link::user_id) == u.id || c(&Link::clicks) > 250).order_by(c(&Link::clicks));
        const auto by_user = links.filter(c(&Link::user_id) == u.id).order_by(c(&Link::created_at).desc()).limit(5);
        std::shared_lock lock(writing);
        const auto cached = ids(by_user.cache().all()), uncached = ids(by_user.no_cache().all());
        const auto cached_n = query.cache().count(), uncached_n = query.no_cache().count();
        const auto cached_sum = std::get<0>(query.cache().aggregate(gocp::sum(&Link::clicks)));
        const auto uncached_sum = std::get<0>(query.no_cache().aggregate(gocp::sum(&Link::clicks)));
        checked += 3;
        if (cached != uncached || cached_n != uncached_n || cached_sum != uncached_sum) {
          std::lock_guard g(mismatches_mutex);
          mismatches.push_back("user " + std::to_string(u.id) + " round " + std::to_string(i));
        }
      }
    });
  for (auto& t : threads) t.join();
  CHECK(mismatches.empty());
  CHECK(checked.load() == kReaders * kRounds * 2 * 3);
  CHECK(links.stats().hits > 0);
}

TEST_CASE("a hot result's misses meet: threads that miss it while another fills it wait, and one query answers all",
          "[queries][concurrency]") {
  gocp::test::TempDir dir;
  struct Hold {  // the armed read's SELECT has run; its result is not stored until `go`
    std::latch ran{1}, go{1};
  };
  std::mutex hold_mutex;
  std::shared_ptr<Hold> hold;  // armed while set: the next SELECT of links waits on it
  auto hold_a_select = [&](const gocp::Event& e) {
    if (e.kind != gocp::Event::Kind::statement || e.text.find("SELECT") != 0 ||
        e.text.find("qm_link") == std::string_view::npos)
      return;
    std::shared_ptr<Hold> h;
    {
      std::lock_guard lock(hold_mutex);
      h = std::exchange(hold, nullptr);
    }
    if (!h) return;
    h->ran.count_down();
    h->go.wait();
  };
  auto arm = [&] {
    std::lock_guard lock(hold_mutex);
    hold = std::make_shared<Hold>();
    return hold;
  };
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir), gocp::OpenOptions{.on_event = hold_a_select});
  qm::Data data{db};
  gocp::CacheRegistry caches = make_caches();
  gocp::Repository<Link, gocp::CachedQueries> links{db, caches};
  const auto recent = links.filter(c(&Link::user_id) == data.ann.id).order_by(c(&Link::created_at).desc()).cache();
  using Clicks = std::vector<std::pair<std::int64_t, std::int64_t>>;  // (id, clicks) of each row
  auto clicks = [](const std::vector<Link>& rows) {
    Clicks out;
    for (const Link& l : rows) out.emplace_back(l.id, l.clicks);
    return out;
  };
  const Clicks expected = clicks(recent.no_cache().all());  // the repository's first statements, behind it

  SECTION("one query answers every reader that missed while it ran") {
    constexpr int kFollowers = 3;
    const auto before = links.stats().db_queries;
    std::vector<Clicks> got(1 + kFollowers);
    const auto h = arm();
    std::thread leader([&] { got[0] = clicks(recent.all()); });
    h->ran.wait();
    std::vector<std::thread> followers;
    for (std::size_t i = 1; i < got.size(); ++i) followers.emplace_back([&, i] { got[i] = clicks(recent.all()); });
    // the followers miss while the fill is held; one that comes after it finds the entry
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    h->go.count_down();
    leader.join();
    for (auto& t : followers) t.join();
    CHECK(links.stats().db_queries - before == 1);
    for (const Clicks& answer : got) CHECK(answer == expected);
  }

  SECTION("a reader that waited does not take a fill that a write finished during") {
    const auto h = arm();
    Clicks leaders, waiters;
    std::thread leader([&] { leaders = clicks(recent.all()); });
    h->ran.wait();  // the leader has read the rows; its result is not stored yet
    Link b = links.get(c(&Link::id) == data.b.id);
    b.clicks += 100;
    links.save(b);  // finished before the next reader starts: that reader must see it
    const Clicks after_write = clicks(recent.no_cache().all());
    REQUIRE(after_write != expected);
    std::thread waiter([&] { waiters = clicks(recent.all()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    h->go.count_down();
    leader.join();
    waiter.join();
    CHECK(leaders == expected);  // it began before the write finished: the old rows are a right answer for it
    CHECK(waiters == after_write);
    CHECK(clicks(recent.all()) == after_write);  // and the old rows were never served from the cache
  }

  SECTION("a reader inside a transaction never waits for another thread's fill") {
    const auto h = arm();
    std::thread leader([&] { recent.all(); });
    h->ran.wait();
    std::promise<Clicks> in_transaction;
    std::thread reader([&] { in_transaction.set_value(db.atomic([&] { return clicks(recent.all()); })); });
    auto answer = in_transaction.get_future();
    const bool answered = answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    h->go.count_down();  // whatever happened: let the leader finish
    leader.join();
    reader.join();
    CHECK(answered);
    CHECK(answer.get() == expected);
  }
}

TEST_CASE("a cache that is down: every read asks the database, answers stay right, errors are counted",
          "[queries][faults]") {
  if (!gocp::test::cache_is_shared()) return;  // locmem cannot be down; the servers' runs check it
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir));
  qm::Data data{db};
  // a port nothing listens on
  const std::string url = gocp::test::cache_kind() + "://127.0.0.1:1" + (gocp::test::cache_kind() == "redis" ? "/0" : "") +
                          "?timeout_ms=50&connect_timeout_ms=50";
  gocp::CacheRegistry down{{"default", url}, {"qm.link", url}, {"qm.user", url}};
  gocp::Repository<Link, gocp::CachedQueries> links{db, down};
  const auto anns = links.filter(c(&Link::user_id) == data.ann.id).cache();
  for (int i = 0; i < 3; ++i) CHECK(Fixture::q(links, [&] { CHECK(anns.count() == 3); }) == 1);
  links.create({0, data.ann.id, "https://down", 0, qm::day(3), std::nullopt, std::nullopt, std::nullopt});
  CHECK(Fixture::q(links, [&] { CHECK(anns.count() == 4); }) == 1);
  CHECK(!links.find(c(&Link::url) == "https://nothing"));
  CHECK(links.stats().cache_errors >= 1);
  CHECK(links.stats().hits == 0);
}
