// The policies, alone and combined: CachedGetOrCreate, AlwaysGetOrCreate,
// NonAtomicGetOrCreate, on a real SQLite file (or PostgreSQL) and the cache of the build (locmem, redis, memcached).

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <string>
#include <vector>

#include "support/cache_url.hpp"
#include "support/library_models.hpp"
#include "support/database_url.hpp"
#include "support/temp_dir.hpp"

using gocp::c;
using gocp::test::Author;
using gocp::test::Child;
using gocp::test::Country;
using gocp::test::Parent;

namespace {

gocp::Expr<Author> named(const std::string& first, const std::string& last) {
  return c(&Author::first_name) == first && c(&Author::last_name) == last;
}

struct Fixture {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir));
  std::string url = gocp::test::cache_url();  // one store for every alias, as a service has
  gocp::CacheRegistry caches{
      {"default", url}, {"library.author", url}, {"geo.country", url}, {"family.parent", url}, {"family.child", url}};
  gocp::Repository<Author, gocp::CachedGetOrCreate> authors{db, caches};

  Fixture() {
    authors.create_table();
    gocp::Repository<Country>{db}.create_table();
    gocp::Repository<Parent>{db}.create_table();
    gocp::Repository<Child>{db}.create_table();
  }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "cached: the second get_or_create is a hit and asks the database nothing", "[cached]") {
  gocp::Repository<Country, gocp::CachedGetOrCreate> countries{db, caches};
  auto [fr, created] = countries.get_or_create(c(&Country::code) == "FR", gocp::defaults(c(&Country::name) = "France"));
  CHECK(created);
  const auto before = countries.stats();
  CHECK(before.misses == 1);
  CHECK(before.hits == 0);
  // the typed tier stores the row the INSERT returned: no read of it again after the create
  if (!gocp::test::cache_is_shared()) CHECK(before.db_queries == 2);  // the SELECT, the INSERT

  auto [again, created_again] = countries.get_or_create(c(&Country::code) == "FR");
  const auto after = countries.stats();
  CHECK_FALSE(created_again);
  CHECK(again.id == fr.id);
  CHECK(again.name == "France");
  CHECK(after.hits == 1);
  CHECK(after.db_queries == before.db_queries);
  // the typed tier kept the created object with its lookup: the objects alias is not asked
  CHECK(caches.stats("geo.country").hits == (gocp::test::cache_is_shared() ? 1u : 0u));
  CHECK(caches.stats("default").hits == 1);
  CHECK(caches.stats("default").fills >= 1);
}

TEST_CASE_METHOD(Fixture, "cached: save invalidates, the next call reads the database, the one after hits",
                 "[cached]") {
  auto [leo, created] = authors.get_or_create(named("Leo", "Tolstoy"));
  REQUIRE(created);
  leo.books_in_store = 3;
  authors.save(leo);
  CHECK(authors.stats().invalidations >= 1);

  const auto s0 = authors.stats();
  auto [fresh, c1] = authors.get_or_create(named("Leo", "Tolstoy"));
  const auto s1 = authors.stats();
  CHECK(fresh.books_in_store == 3);
  CHECK(s1.misses == s0.misses + 1);
  CHECK(s1.db_queries > s0.db_queries);

  auto [hit, c2] = authors.get_or_create(named("Leo", "Tolstoy"));
  const auto s2 = authors.stats();
  CHECK(hit.books_in_store == 3);
  CHECK(s2.hits == s1.hits + 1);
  CHECK(s2.db_queries == s1.db_queries);
}

TEST_CASE_METHOD(Fixture, "cached: in_bulk answers from what get_or_create cached, asking the database nothing",
                 "[cached][in_bulk]") {
  std::vector<std::int64_t> pks;
  for (const char* first : {"Leo", "Anton", "Ivan"}) pks.push_back(authors.get_or_create(named(first, "X")).first.id);
  auto [upd, made] = authors.update_or_create(named("Leo", "X"), gocp::defaults(c(&Author::books_in_store) = 5));
  CHECK_FALSE(made);
  for (const char* first : {"Leo", "Anton", "Ivan"}) authors.get_or_create(named(first, "X"));  // all cached
  const auto before = authors.stats();
  const auto got = authors.in_bulk(pks);
  const auto after = authors.stats();
  CHECK(got.size() == 3);
  CHECK(got.at(pks[0]).books_in_store == 5);  // the updated object, not the one read before the update
  CHECK(got.at(pks[1]).first_name == "Anton");
  CHECK(after.hits - before.hits == 3);
  CHECK(after.db_queries == before.db_queries);
  // a bound repository (a related manager's shape) sees only its rows, cached or not
  const auto bound = authors.bind(c(&Author::last_name) = "Y");
  CHECK(bound.in_bulk(pks).empty());
  auto [y, made_y] = bound.get_or_create(c(&Author::first_name) == "Leo");
  CHECK(made_y);
  pks.push_back(y.id);
  CHECK(bound.in_bulk(pks).size() == 1);
  CHECK(authors.in_bulk(pks).size() == 4);
  CHECK(authors.filter(c(&Author::first_name) == "Leo").in_bulk(pks).size() == 2);
}

TEST_CASE_METHOD(Fixture, "cached: a deleted row is never served, the mapping is refreshed", "[cached]") {
  auto [leo, created] = authors.get_or_create(named("Leo", "Tolstoy"));
  authors.get_or_create(named("Leo", "Tolstoy"));  // cached now
  CHECK(authors.remove(leo));
  auto [reborn, created_again] = authors.get_or_create(named("Leo", "Tolstoy"));
  CHECK(created_again);
  CHECK(reborn.id != leo.id);
  auto [hit, c3] = authors.get_or_create(named("Leo", "Tolstoy"));
  CHECK_FALSE(c3);
  CHECK(hit.id == reborn.id);

  SECTION("remove_all and bulk update through any repository holding the registry invalidate too") {
    gocp::Repository<Author> plain{db, caches};  // no policy, same caches: its writes invalidate
    CHECK(plain.filter(c(&Author::id) == reborn.id).update(c(&Author::books_in_store) = 11) == 1);
    CHECK(authors.get_or_create(named("Leo", "Tolstoy")).first.books_in_store == 11);
    CHECK(plain.remove_all() == 1);
    auto [third, created3] = authors.get_or_create(named("Leo", "Tolstoy"));
    CHECK(created3);
    CHECK(third.books_in_store == 0);
  }
}

TEST_CASE_METHOD(Fixture, "cached: a mapped object that no longer matches the lookup is not served", "[cached]") {
  auto [leo, created] = authors.get_or_create(named("Leo", "Tolstoy"));
  authors.get_or_create(named("Leo", "Tolstoy"));
  leo.first_name = "Lev";
  authors.save(leo);
  auto [other, created_other] = authors.get_or_create(named("Leo", "Tolstoy"));
  CHECK(created_other);
  CHECK(other.id != leo.id);
  CHECK(other.first_name == "Leo");
}

TEST_CASE_METHOD(Fixture, "cached: keys include the repository's filters", "[cached]") {
  authors.get_or_create(named("Leo", "Tolstoy"), gocp::defaults(c(&Author::store) = "Amazon"));
  authors.get_or_create(named("Leo", "Tolstoy"));  // cached for the unfiltered repository
  auto kiosk = authors.filter(c(&Author::store) == "Kiosk");
  // Leo is in the cache but not in this repository's rows: the lookup goes to the
  // database, misses, and creating him collides with the unique constraint.
  CHECK_THROWS_AS(kiosk.get_or_create(named("Leo", "Tolstoy")), gocp::IntegrityError);
  auto amazon = authors.filter(c(&Author::store) == "Amazon");
  CHECK_FALSE(amazon.get_or_create(named("Leo", "Tolstoy")).second);
}

TEST_CASE_METHOD(Fixture, "cached: update_or_create caches the updated object, not the one it read", "[cached]") {
  authors.get_or_create(named("Leo", "Tolstoy"));
  authors.get_or_create(named("Leo", "Tolstoy"));
  auto [updated, created] = authors.update_or_create(named("Leo", "Tolstoy"),
                                                     gocp::defaults(c(&Author::books_in_store) = 5));
  CHECK_FALSE(created);
  CHECK(updated.books_in_store == 5);
  const auto s0 = authors.stats();
  auto [hit, c2] = authors.get_or_create(named("Leo", "Tolstoy"));
  CHECK(authors.stats().hits == s0.hits + 1);
  CHECK(hit.books_in_store == 5);

  auto [made, created_new] = authors.update_or_create(named("Anna", "Karenina"),
                                                      gocp::defaults(c(&Author::books_in_store) = 2));
  CHECK(created_new);
  const auto s1 = authors.stats();
  CHECK(authors.get_or_create(named("Anna", "Karenina")).first.books_in_store == 2);
  CHECK(authors.stats().hits == s1.hits + 1);
}

TEST_CASE_METHOD(Fixture, "cached with dummy:// caches: always the database, always right", "[cached]") {
  gocp::CacheRegistry off{{"default", "dummy://"}, {"library.author", "dummy://"}};
  gocp::Repository<Author, gocp::CachedGetOrCreate> uncached{db, off};
  auto [a, created] = uncached.get_or_create(named("Leo", "Tolstoy"));
  auto [b, created_b] = uncached.get_or_create(named("Leo", "Tolstoy"));
  CHECK(created);
  CHECK_FALSE(created_b);
  CHECK(a.id == b.id);
  CHECK(uncached.stats().hits == 0);
  CHECK(uncached.stats().misses == 2);
}

TEST_CASE_METHOD(Fixture, "construction: a missing alias is a ConfigurationError naming it and those configured",
                 "[registry]") {
  gocp::CacheRegistry only_default{{"default", "locmem:///"}};
  try {
    gocp::Repository<Author, gocp::CachedGetOrCreate> r{db, only_default};
    FAIL("expected ConfigurationError");
  } catch (const gocp::ConfigurationError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("'library.author'") && Catch::Contains("'default'"));
  }
  gocp::CacheRegistry only_model{{"library.author", "locmem:///"}};
  CHECK_THROWS_WITH((gocp::Repository<Author, gocp::CachedGetOrCreate>{db, only_model}),
                    Catch::Contains("'default'") && Catch::Contains("'library.author'"));
  // a repository without the lookup policy needs only the model's alias
  CHECK_NOTHROW(gocp::Repository<Author>{db, only_model});
}

namespace {
struct Impostor {  // another type claiming Author's model name
  std::int64_t id = 0;
};
}  // namespace
template <>
struct gocp::model<Impostor> {
  static constexpr std::string_view name = "library.author";
  static constexpr auto schema = gocp::table(gocp::primary_key(&Impostor::id, "id"));
};

TEST_CASE_METHOD(Fixture, "two model types with one name is an error, not a silent clash", "[registry]") {
  CHECK_THROWS_WITH((gocp::Repository<Impostor>{db, caches}),
                    Catch::Contains("library.author") && Catch::Contains("two different model types"));
}

// ---- AlwaysGetOrCreate, NonAtomicGetOrCreate and combinations ------------------------

TEMPLATE_TEST_CASE("get() creates what is missing, in every combination with AlwaysGetOrCreate", "[always]",
                   (gocp::Repository<Author, gocp::AlwaysGetOrCreate>),
                   (gocp::Repository<Author, gocp::NonAtomicGetOrCreate, gocp::AlwaysGetOrCreate>),
                   (gocp::Repository<Author, gocp::AlwaysGetOrCreate, gocp::NonAtomicGetOrCreate>),
                   (gocp::Repository<Author, gocp::AlwaysGetOrCreate, gocp::CachedGetOrCreate>),
                   (gocp::Repository<Author, gocp::CachedGetOrCreate, gocp::AlwaysGetOrCreate>),
                   (gocp::Repository<Author, gocp::CachedGetOrCreate, gocp::AlwaysGetOrCreate,
                                     gocp::NonAtomicGetOrCreate>),
                   (gocp::Repository<Author, gocp::NonAtomicGetOrCreate, gocp::CachedGetOrCreate,
                                     gocp::AlwaysGetOrCreate>)) {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(gocp::test::database_url(dir));
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"library.author", "locmem:///"}};
  TestType authors{db, caches};
  authors.create_table();

  const Author made = authors.get(named("Leo", "Tolstoy"));  // no DoesNotExist: created
  CHECK(made.id != 0);
  CHECK(authors.count() == 1);
  CHECK(authors.get(named("Leo", "Tolstoy")).id == made.id);
  CHECK(authors.count() == 1);
  // the plain verbs do not reroute through get(): find() still reports a miss
  CHECK_FALSE(authors.find(named("Nobody", "Here")));
  CHECK(authors.count() == 1);
  // get_or_create still reports created correctly
  CHECK(authors.get_or_create(named("Anna", "K")).second);
  CHECK_FALSE(authors.get_or_create(named("Anna", "K")).second);
  // and a combination with CachedGetOrCreate (the only one counting misses) hits on repeats
  if (authors.stats().misses > 0) CHECK(authors.stats().hits > 0);
}

TEST_CASE_METHOD(Fixture, "NonAtomicGetOrCreate: children created inside one transaction without savepoints",
                 "[non_atomic]") {
  gocp::Repository<Parent, gocp::NonAtomicGetOrCreate> parents{db, caches};
  gocp::Repository<Child, gocp::NonAtomicGetOrCreate, gocp::CachedGetOrCreate> children{db, caches};
  gocp::Repository<Child> atomic_children{db};

  const auto savepoints0 = db.savepoints_begun();
  const auto transactions0 = db.transactions_begun();
  db.atomic([&] {
    auto [parent, created] = parents.get_or_create(c(&Parent::name) == "p1");
    REQUIRE(created);
    for (int i = 0; i < 10; ++i)
      CHECK(children.get_or_create(c(&Child::parent_id) == parent.id && c(&Child::name) == std::to_string(i)).second);
  });
  CHECK(db.savepoints_begun() == savepoints0);
  CHECK(db.transactions_begun() == transactions0 + 1);  // the caller's one transaction
  CHECK(children.count() == 10);

  const auto savepoints1 = db.savepoints_begun();
  db.atomic([&] {
    auto [parent, created] = parents.get_or_create(c(&Parent::name) == "p2");
    for (int i = 0; i < 10; ++i)
      atomic_children.get_or_create(c(&Child::parent_id) == parent.id && c(&Child::name) == std::to_string(i));
  });
  CHECK(db.savepoints_begun() == savepoints1 + 10);  // Django's atomic() per create

  SECTION("the caller's transaction owns atomicity: a rollback removes parent and children") {
    CHECK_THROWS(db.atomic([&] {
      auto [parent, created] = parents.get_or_create(c(&Parent::name) == "p3");
      children.get_or_create(c(&Child::parent_id) == parent.id && c(&Child::name) == "x");
      throw std::runtime_error("abort");
    }));
    CHECK_FALSE(parents.find(c(&Parent::name) == "p3"));
    CHECK(children.count() == 20);
  }
  SECTION("a conflicting create still ends in the existing row") {
    auto [p1, created] = parents.get_or_create(c(&Parent::name) == "p1");
    CHECK_FALSE(created);
  }
}
