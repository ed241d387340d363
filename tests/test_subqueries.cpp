// Conditions across relations: `c(&Link::user_id).in(users.filter(...))` and
// `c(&User::id).in(links.filter(...), &Link::user_id)` as subqueries, with NULLs, empty
// inner sets, exclude, nesting, bound values, statement shapes, the caching policy's
// fallback to the database, and RelatedSet reads through its query(). On SQLite, and
// on PostgreSQL as test_subqueries_pg.*.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/database_url.hpp"
#include "support/query_models.hpp"
#include "support/temp_dir.hpp"

using gocp::c;
using qm::Link;
using qm::Tag;
using qm::User;

namespace {

struct Fixture : qm::Fixture {
  gocp::Repository<Tag> tags{db};

  gocp::Repository<User> example_users() const { return users.filter(c(&User::email).endswith("@example.com")); }
};

template <class T>
std::vector<std::int64_t> ids(const std::vector<T>& rows) {
  std::vector<std::int64_t> out;
  for (const T& r : rows) out.push_back(r.id);
  return out;
}

using Ids = std::vector<std::int64_t>;

}  // namespace

TEST_CASE_METHOD(Fixture, "in(repository) tests the inner repository's primary keys, in one statement",
                 "[subquery]") {
  const auto inner = example_users();
  const auto before = links.stats().db_queries, inner_before = inner.stats().db_queries;
  const auto theirs = links.filter(c(&Link::user_id).in(inner)).all();
  CHECK(ids(theirs) == Ids{data.a.id, data.b.id, data.c.id, data.d.id});
  CHECK(links.stats().db_queries == before + 1);
  CHECK(inner.stats().db_queries == inner_before);  // the subquery ran inside the outer statement
  CHECK(links.filter(c(&Link::user_id).in(inner)).count() == 4);
  CHECK(links.filter(c(&Link::user_id).in(inner)).exists());
}

TEST_CASE_METHOD(Fixture, "in(repository, &Other::field) tests that field's values", "[subquery]") {
  const auto busy = users.filter(c(&User::id).in(links.filter(c(&Link::clicks) > 100), &Link::user_id));
  const auto before = users.stats().db_queries;
  CHECK(ids(busy.all()) == Ids{data.ann.id, data.bob.id});
  CHECK(users.stats().db_queries == before + 1);

  SECTION("the inner repository's bound values apply") {
    const auto bobs = links.bind(c(&Link::user_id) = data.bob.id);
    CHECK(ids(users.filter(c(&User::id).in(bobs, &Link::referrer_id)).all()) == Ids{data.ann.id});
  }
  SECTION("an optional column and a plain one match (std::optional<T> and T)") {
    // referrer_id is std::optional<std::int64_t>, User::id std::int64_t
    CHECK(ids(links.filter(c(&Link::referrer_id).in(example_users())).all()) == Ids{data.a.id, data.d.id, data.e.id});
  }
}

TEST_CASE_METHOD(Fixture, "an empty subquery matches nothing, and excluding it excludes nothing", "[subquery]") {
  const auto nobody = users.filter(c(&User::email) == "nobody@example.com");
  CHECK(links.filter(c(&Link::user_id).in(nobody)).all().empty());
  CHECK(links.filter(c(&Link::user_id).in(nobody)).count() == 0);
  CHECK(links.exclude(c(&Link::user_id).in(nobody)).count() == 5);
}

TEST_CASE_METHOD(Fixture, "exclude of a subquery is the complement of its filter, NULLs included", "[subquery]") {
  SECTION("the inner set holds NULL: NOT IN would match nothing; exclude matches the other rows") {
    // referrers: bob, NULL, NULL, ann, bob
    const auto referred = c(&User::id).in(links, &Link::referrer_id);
    CHECK(ids(users.filter(referred).all()) == Ids{data.ann.id, data.bob.id});
    CHECK(ids(users.exclude(referred).all()) == Ids{data.cy.id, data.dee.id});
  }
  SECTION("the outer column is NULL: its rows are excluded by the filter and kept by exclude") {
    const auto by_example = c(&Link::referrer_id).in(example_users());
    CHECK(ids(links.filter(by_example).all()) == Ids{data.a.id, data.d.id, data.e.id});
    CHECK(ids(links.exclude(by_example).all()) == Ids{data.b.id, data.c.id});
    CHECK(ids(links.filter(!by_example || c(&Link::clicks) == 10).all()) == Ids{data.a.id, data.b.id, data.c.id});
  }
}

TEST_CASE_METHOD(Fixture, "subqueries nest, each with its own filters", "[subquery]") {
  // links of users who own a link that a bob* user referred: a and e (ann, dee) -> ann's and dee's links
  const auto bobs = users.filter(c(&User::email).startswith("bob"));
  const auto referred_by_bob = links.filter(c(&Link::referrer_id).in(bobs));
  const auto owners = users.filter(c(&User::id).in(referred_by_bob, &Link::user_id));
  const auto before = links.stats().db_queries;
  CHECK(ids(links.filter(c(&Link::user_id).in(owners)).all()) == Ids{data.a.id, data.b.id, data.c.id, data.e.id});
  CHECK(links.stats().db_queries == before + 1);
  CHECK(ids(links.exclude(c(&Link::user_id).in(owners)).all()) == Ids{data.d.id});
}

TEST_CASE_METHOD(Fixture, "get and find through a subquery: statements of different subqueries never mix",
                 "[subquery]") {
  // the same outer shape, the subqueries differing only in the column they select, then in their table
  const auto owners = users.filter(c(&User::id).in(links, &Link::user_id));        // ann, bob, dee
  const auto referrers = users.filter(c(&User::id).in(links, &Link::referrer_id));  // ann, bob
  for (int round = 0; round < 2; ++round) {  // the second round runs the prepared statements again
    CHECK(owners.find(c(&User::email) == "dee@other.org").has_value());
    CHECK_FALSE(referrers.find(c(&User::email) == "dee@other.org").has_value());
    CHECK(referrers.get(c(&User::email) == "ann@example.com").id == data.ann.id);
    const auto nobody = users.filter(c(&User::id).in(users.filter(c(&User::email) == "none"), &User::id));
    CHECK_FALSE(nobody.find(c(&User::email) == "ann@example.com").has_value());
  }
  // the same subquery with other bound values
  for (const auto& [email, expected] : {std::pair{"ann@example.com", 3}, std::pair{"bob@example.com", 1}}) {
    CHECK(links.filter(c(&Link::user_id).in(users.filter(c(&User::email) == email))).count() ==
          static_cast<std::size_t>(expected));
  }
}

TEST_CASE_METHOD(Fixture, "get_or_create through a subquery: the term filters and is not copied into a create",
                 "[subquery][get_or_create]") {
  const auto bob = users.filter(c(&User::email) == "bob@example.com");
  const auto [found, created] = links.get_or_create(c(&Link::url) == "https://d" && c(&Link::user_id).in(bob));
  CHECK_FALSE(created);
  CHECK(found.id == data.d.id);
  const auto [made, made_created] = links.get_or_create(
      c(&Link::url) == "https://new" && c(&Link::user_id).in(bob),
      gocp::defaults(c(&Link::user_id) = data.bob.id, c(&Link::clicks) = 7));
  CHECK(made_created);
  CHECK(made.user_id == data.bob.id);
  CHECK(made.clicks == 7);
  CHECK(links.filter(c(&Link::user_id).in(bob)).count() == 2);
}

TEST_CASE_METHOD(Fixture, "the in-memory matcher leaves a subquery to the database", "[subquery][cache]") {
  const auto term = c(&Link::user_id).in(example_users());
  CHECK(gocp::detail::verdict(term, data.a, db.dialect()) == gocp::detail::Truth::undecided);
  // even where another term would decide it: the database may refuse the subquery's values
  CHECK(gocp::detail::verdict(c(&Link::clicks) == -1 && term, data.a, db.dialect()) == gocp::detail::Truth::undecided);
  CHECK(gocp::detail::reads_other_tables(term.nodes()));
  CHECK_FALSE(gocp::detail::reads_other_tables((c(&Link::clicks) == 1).nodes()));
  CHECK_THROWS_WITH(gocp::detail::lookup_hash(gocp::Expr<Link>{}, term), Catch::Contains("never cached"));
}

namespace {
std::string fresh_locmem() {
  static std::atomic<int> next{0};
  return "locmem:///test-subqueries-" + std::to_string(next++);
}
}  // namespace

TEST_CASE_METHOD(Fixture, "a cached repository filtered by a subquery answers as the database does",
                 "[subquery][cache]") {
  const std::string url = fresh_locmem();
  gocp::CacheRegistry caches{{"default", url}, {"qm.link", url}};
  gocp::Repository<Link, gocp::CachedGetOrCreate> cached_links{db, caches};
  const auto scoped = cached_links.filter(c(&Link::user_id).in(example_users()));

  SECTION("in_bulk asks the database, in one query, every time") {
    for (int round = 0; round < 2; ++round) {
      const auto before = cached_links.stats().db_queries;
      const auto got = scoped.in_bulk(std::vector<std::int64_t>{data.a.id, data.d.id, data.e.id});
      CHECK(got.size() == 2);
      CHECK(got.contains(data.a.id));
      CHECK(got.contains(data.d.id));
      CHECK(cached_links.stats().db_queries == before + 1);
    }
    // the inner table changes: ann leaves example.com, so her links leave the scope
    users.filter(c(&User::id) == data.ann.id).update(c(&User::email) = "ann@other.org");
    const auto got = scoped.in_bulk(std::vector<std::int64_t>{data.a.id, data.d.id, data.e.id});
    const auto truth = links.filter(c(&Link::user_id).in(example_users()))
                           .in_bulk(std::vector<std::int64_t>{data.a.id, data.d.id, data.e.id});
    CHECK(got.size() == truth.size());
    CHECK(got.size() == 1);
    CHECK(got.contains(data.d.id));
  }

  SECTION("get_or_create is never answered from, nor filled into, the cache") {
    for (int round = 0; round < 2; ++round) {
      const auto before = cached_links.stats().db_queries;
      const auto [got, created] = scoped.get_or_create(c(&Link::url) == "https://a");
      CHECK_FALSE(created);
      CHECK(got.id == data.a.id);
      CHECK(cached_links.stats().db_queries == before + 1);
    }
    CHECK(cached_links.stats().hits == 0);
    CHECK(cached_links.stats().fills == 0);
    // a lookup with the subquery (on an unfiltered repository) is not cached either
    const auto lookup = c(&Link::url) == "https://d" && c(&Link::user_id).in(example_users());
    CHECK(cached_links.get_or_create(lookup).first.id == data.d.id);
    CHECK(cached_links.get_or_create(lookup).first.id == data.d.id);
    CHECK(cached_links.stats().hits == 0);

    // ann leaves example.com: her link "a" leaves the scope. The database's answer is to
    // create it, which its unique url refuses (a cache would have served the stale "a").
    users.filter(c(&User::id) == data.ann.id).update(c(&User::email) = "ann@other.org");
    CHECK_THROWS_AS(scoped.get_or_create(c(&Link::url) == "https://a"), gocp::IntegrityError);
    CHECK_FALSE(scoped.find(c(&Link::url) == "https://a").has_value());
    CHECK(cached_links.stats().hits == 0);
  }
}

TEST_CASE_METHOD(Fixture, "a RelatedSet's reads are its query(): the target repository filtered by the link",
                 "[subquery][relations]") {
  const Tag news = tags.create({0, "news"});
  const auto tagged = gocp::related(links, news, gocp::model<Tag>::links);
  tagged.add(data.a, data.d);

  auto before = links.stats().db_queries;
  CHECK(ids(tagged.all()) == Ids{data.a.id, data.d.id});
  CHECK(tagged.count() == 2);
  CHECK(tagged.exists());
  CHECK(links.stats().db_queries == before + 3);

  before = links.stats().db_queries;
  CHECK(ids(tagged.query().filter(c(&Link::clicks) > 100).all()) == Ids{data.d.id});
  CHECK(std::get<0>(tagged.query().aggregate(gocp::sum(&Link::clicks))) == 160);
  CHECK(tagged.query().in_bulk({data.a.id, data.b.id}).size() == 1);
  CHECK(links.stats().db_queries == before + 3);

  SECTION("a set is a subquery") {
    CHECK(ids(links.filter(c(&Link::id).in(tagged)).all()) == Ids{data.a.id, data.d.id});
    CHECK(ids(users.filter(c(&User::id).in(tagged, &Link::user_id)).all()) == Ids{data.ann.id, data.bob.id});
    // the reverse side: tags of links of ann
    const auto anns = links.filter(c(&Link::user_id) == data.ann.id);
    CHECK(tags.filter(c(&Tag::id).in(gocp::related(tags, data.a, gocp::model<Tag>::links))).count() == 1);
    CHECK(anns.count() == 3);
  }
  SECTION("a filtered set filters its query() too") {
    const auto busy = tagged.filter(c(&Link::clicks) > 100);
    CHECK(ids(busy.all()) == Ids{data.d.id});
    CHECK(busy.count() == 1);
    CHECK(busy.find(c(&Link::url) == "https://a") == std::nullopt);
    CHECK(busy.get(c(&Link::url) == "https://d").id == data.d.id);
  }
  SECTION("links made later are seen, unlinked ones are not") {
    tagged.remove(data.a);
    tagged.add(data.e);
    CHECK(ids(tagged.all()) == Ids{data.d.id, data.e.id});
    CHECK(std::get<0>(tagged.query().aggregate(gocp::count())) == 2);
  }
}
