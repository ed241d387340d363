// Aggregates (gocp::count / sum / avg / min / max, Repository::aggregate) and grouped
// queries (Repository::group_by(...).aggregate(...)): typed results, NULL on an empty
// set, DISTINCT, the repository's filters and bound values, a sum past 64 bits, NULL
// keys, ordering and slicing, each with its exact statement count. On SQLite, and on
// PostgreSQL as test_aggregates_pg.*.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "support/database_url.hpp"
#include "support/query_models.hpp"
#include "support/temp_dir.hpp"

using gocp::c;
using qm::Link;
using qm::User;

namespace {

using qm::Fixture;

using std::nullopt;
using OptInt = std::optional<std::int64_t>;
using OptDouble = std::optional<double>;

}  // namespace

TEST_CASE("aggregates are typed from their members", "[aggregate][static]") {
  STATIC_REQUIRE(std::is_same_v<decltype(gocp::count())::result_type, std::int64_t>);
  STATIC_REQUIRE(std::is_same_v<decltype(gocp::count(&Link::note, gocp::distinct))::result_type, std::int64_t>);
  STATIC_REQUIRE(std::is_same_v<decltype(gocp::sum(&Link::clicks))::result_type, OptInt>);
  STATIC_REQUIRE(std::is_same_v<decltype(gocp::sum(&Link::rating))::result_type, OptDouble>);
  STATIC_REQUIRE(std::is_same_v<decltype(gocp::avg(&Link::clicks))::result_type, OptDouble>);
  STATIC_REQUIRE(std::is_same_v<decltype(gocp::max(&Link::created_at))::result_type, std::optional<gocp::Timestamp>>);
  STATIC_REQUIRE(std::is_same_v<decltype(gocp::min(&Link::note))::result_type, std::optional<std::string>>);
  STATIC_REQUIRE(std::is_same_v<decltype(gocp::min(&Link::referrer_id))::result_type, OptInt>);
}

TEST_CASE_METHOD(Fixture, "aggregate computes every aggregate in one statement", "[aggregate]") {
  const auto before = links.stats().db_queries;
  const auto [rows, total, mean, first, last] =
      links.aggregate(gocp::count(), gocp::sum(&Link::clicks), gocp::avg(&Link::clicks), gocp::min(&Link::created_at),
                      gocp::max(&Link::created_at));
  CHECK(links.stats().db_queries == before + 1);
  CHECK(rows == 5);
  CHECK(total == OptInt{365});
  CHECK(mean == OptDouble{73.0});
  CHECK(first == qm::day(0));
  CHECK(last == qm::day(4));
}

TEST_CASE_METHOD(Fixture, "NULLs: count(field) counts values, sum/avg/min/max skip NULLs", "[aggregate]") {
  const auto [notes, ratings, rating_sum, rating_avg, lowest_note, highest_note, first_url] =
      links.aggregate(gocp::count(&Link::note), gocp::count(&Link::rating), gocp::sum(&Link::rating),
                      gocp::avg(&Link::rating), gocp::min(&Link::note), gocp::max(&Link::note), gocp::min(&Link::url));
  CHECK(notes == 2);
  CHECK(ratings == 2);
  CHECK(rating_sum == OptDouble{6.0});
  CHECK(rating_avg == OptDouble{3.0});
  CHECK(lowest_note == std::optional<std::string>{"x"});
  CHECK(highest_note == std::optional<std::string>{"y"});
  CHECK(first_url == std::optional<std::string>{"https://a"});
}

TEST_CASE_METHOD(Fixture, "over no row: counts are 0, the others nullopt (SQL's NULL)", "[aggregate]") {
  const auto none = links.filter(c(&Link::clicks) > 1000);
  const auto before = links.stats().db_queries;
  const auto [rows, notes, total, mean, lowest, highest] =
      none.aggregate(gocp::count(), gocp::count(&Link::note), gocp::sum(&Link::clicks), gocp::avg(&Link::clicks),
                     gocp::min(&Link::url), gocp::max(&Link::created_at));
  CHECK(links.stats().db_queries == before + 1);
  CHECK(rows == 0);
  CHECK(notes == 0);
  CHECK(total == nullopt);
  CHECK(mean == nullopt);
  CHECK(lowest == nullopt);
  CHECK(highest == nullopt);
  // only NULLs is the same as nothing
  CHECK(std::get<0>(links.filter(c(&Link::rating).is_null()).aggregate(gocp::sum(&Link::rating))) == nullopt);
}

TEST_CASE_METHOD(Fixture, "distinct counts, sums and averages distinct values", "[aggregate]") {
  const auto [owners, referrers, referrer_sum, referrer_avg] =
      links.aggregate(gocp::count(&Link::user_id, gocp::distinct), gocp::count(&Link::referrer_id, gocp::distinct),
                      gocp::sum(&Link::referrer_id, gocp::distinct), gocp::avg(&Link::referrer_id, gocp::distinct));
  CHECK(owners == 3);
  CHECK(referrers == 2);
  CHECK(referrer_sum == OptInt{data.ann.id + data.bob.id});
  CHECK(referrer_avg == OptDouble{static_cast<double>(data.ann.id + data.bob.id) / 2});
}

TEST_CASE_METHOD(Fixture, "the repository's filters and bound values apply", "[aggregate]") {
  const auto anns = links.bind(c(&Link::user_id) = data.ann.id);
  CHECK(std::get<0>(anns.aggregate(gocp::sum(&Link::clicks))) == OptInt{215});
  CHECK(std::get<0>(anns.filter(c(&Link::clicks) < 100).aggregate(gocp::max(&Link::clicks))) == OptInt{10});
  // with a subquery: the links of example.com users
  const auto example = users.filter(c(&User::email).endswith("@example.com"));
  CHECK(links.filter(c(&Link::user_id).in(example)).aggregate(gocp::sum(&Link::clicks)) == std::tuple{OptInt{365}});
}

TEST_CASE_METHOD(Fixture, "a sum past 64 bits is an error naming the field, not a wrapped number", "[aggregate]") {
  const User big = users.create({0, "big@example.com"});
  links.create({0, big.id, "https://max1", std::numeric_limits<std::int64_t>::max(), qm::day(0), nullopt, nullopt, nullopt});
  links.create({0, big.id, "https://max2", 1, qm::day(0), nullopt, nullopt, nullopt});
  const auto bigs = links.filter(c(&Link::user_id) == big.id);
  CHECK_THROWS_WITH(bigs.aggregate(gocp::sum(&Link::clicks)),
                    Catch::Contains("'qm.link.clicks'") && Catch::Contains("outside the range of a 64-bit integer"));
  CHECK_THROWS_AS(bigs.group_by(&Link::user_id).aggregate(gocp::sum(&Link::clicks)).all(), gocp::DatabaseError);
  // the largest sum that fits is read back exactly
  CHECK(std::get<0>(bigs.filter(c(&Link::clicks) > 1).aggregate(gocp::sum(&Link::clicks))) ==
        OptInt{std::numeric_limits<std::int64_t>::max()});
  CHECK(std::get<0>(bigs.aggregate(gocp::avg(&Link::clicks))).has_value());
}

TEST_CASE_METHOD(Fixture, "group_by: one row per key, ordered by the keys", "[aggregate][group_by]") {
  using Row = std::tuple<std::int64_t, std::int64_t, OptInt>;
  const auto per_user = links.group_by(&Link::user_id).aggregate(gocp::count(), gocp::sum(&Link::clicks));
  const auto before = links.stats().db_queries;
  CHECK(per_user.all() == std::vector<Row>{{data.ann.id, 3, 215}, {data.bob.id, 1, 150}, {data.dee.id, 1, 0}});
  CHECK(links.stats().db_queries == before + 1);

  SECTION("ordered by an aggregate, descending, and sliced") {
    const auto top = per_user.order_by(gocp::desc(gocp::sum(&Link::clicks)));
    CHECK(top.all() == std::vector<Row>{{data.ann.id, 3, 215}, {data.bob.id, 1, 150}, {data.dee.id, 1, 0}});
    CHECK(top.limit(2).all() == std::vector<Row>{{data.ann.id, 3, 215}, {data.bob.id, 1, 150}});
    CHECK(top.offset(1).limit(1).all() == std::vector<Row>{{data.bob.id, 1, 150}});
    CHECK(top.offset(2).all() == std::vector<Row>{{data.dee.id, 1, 0}});
    CHECK(top.offset(3).all().empty());
    CHECK(top.limit(0).all().empty());
  }
  SECTION("ties are broken by the keys, ascending") {
    // bob and dee both have one link: count desc puts ann first, then bob before dee
    CHECK(per_user.order_by(gocp::desc(gocp::count())).all() ==
          std::vector<Row>{{data.ann.id, 3, 215}, {data.bob.id, 1, 150}, {data.dee.id, 1, 0}});
    CHECK(per_user.order_by(gocp::count()).all() ==
          std::vector<Row>{{data.bob.id, 1, 150}, {data.dee.id, 1, 0}, {data.ann.id, 3, 215}});
  }
  SECTION("ordered by a key descending, or by an aggregate it does not select") {
    CHECK(per_user.order_by(gocp::desc(&Link::user_id)).all() ==
          std::vector<Row>{{data.dee.id, 1, 0}, {data.bob.id, 1, 150}, {data.ann.id, 3, 215}});
    CHECK(per_user.order_by(gocp::asc(gocp::max(&Link::created_at))).all() ==
          std::vector<Row>{{data.ann.id, 3, 215}, {data.bob.id, 1, 150}, {data.dee.id, 1, 0}});
  }
  SECTION("filters apply before grouping") {
    CHECK(links.filter(c(&Link::clicks) > 5).group_by(&Link::user_id).aggregate(gocp::count()).all() ==
          std::vector<std::tuple<std::int64_t, std::int64_t>>{{data.ann.id, 2}, {data.bob.id, 1}});
  }
  SECTION("without aggregates: the distinct keys") {
    CHECK(links.group_by(&Link::user_id).all() ==
          std::vector<std::tuple<std::int64_t>>{{data.ann.id}, {data.bob.id}, {data.dee.id}});
  }
  SECTION("an empty set has no group") {
    CHECK(links.filter(c(&Link::clicks) > 1000).group_by(&Link::user_id).aggregate(gocp::count()).all().empty());
  }
}

TEST_CASE_METHOD(Fixture, "group_by a NULL-able key: NULL is one group, sorted as the largest value",
                 "[aggregate][group_by]") {
  using Row = std::tuple<OptInt, std::int64_t, std::optional<gocp::Timestamp>>;
  const auto per_referrer =
      links.group_by(&Link::referrer_id).aggregate(gocp::count(), gocp::min(&Link::created_at));
  CHECK(per_referrer.all() ==
        std::vector<Row>{{data.ann.id, 1, qm::day(3)}, {data.bob.id, 2, qm::day(0)}, {nullopt, 2, qm::day(1)}});
  CHECK(per_referrer.order_by(gocp::desc(&Link::referrer_id)).all() ==
        std::vector<Row>{{nullopt, 2, qm::day(1)}, {data.bob.id, 2, qm::day(0)}, {data.ann.id, 1, qm::day(3)}});
  // a NULL aggregate sorts the same way: first when descending
  using Rated = std::tuple<std::int64_t, OptDouble>;
  CHECK(links.group_by(&Link::user_id).aggregate(gocp::max(&Link::rating)).order_by(gocp::desc(gocp::max(&Link::rating))).all() ==
        std::vector<Rated>{{data.bob.id, nullopt}, {data.dee.id, nullopt}, {data.ann.id, 4.5}});
}

TEST_CASE_METHOD(Fixture, "group_by several keys", "[aggregate][group_by]") {
  using Row = std::tuple<std::int64_t, OptInt, OptInt>;
  const auto rows = links.group_by(&Link::user_id, &Link::referrer_id).aggregate(gocp::sum(&Link::clicks)).all();
  CHECK(rows == std::vector<Row>{{data.ann.id, data.bob.id, 10},
                                 {data.ann.id, nullopt, 205},
                                 {data.bob.id, data.ann.id, 150},
                                 {data.dee.id, data.bob.id, 0}});
  const auto by_second = links.group_by(&Link::user_id, &Link::referrer_id)
                             .aggregate(gocp::sum(&Link::clicks))
                             .order_by(gocp::desc(&Link::referrer_id))
                             .all();
  CHECK(by_second == std::vector<Row>{{data.ann.id, nullopt, 205},
                                      {data.ann.id, data.bob.id, 10},
                                      {data.dee.id, data.bob.id, 0},
                                      {data.bob.id, data.ann.id, 150}});
}

TEST_CASE_METHOD(Fixture, "bad grouped queries are clear errors, before any statement", "[aggregate][group_by]") {
  const auto per_user = links.group_by(&Link::user_id).aggregate(gocp::count());
  const auto before = links.stats().db_queries;
  CHECK_THROWS_AS(per_user.order_by(&Link::clicks), gocp::ConfigurationError);
  CHECK_THROWS_WITH(per_user.order_by(&Link::clicks), Catch::Contains("not one of its group_by keys"));
  CHECK_THROWS_WITH(per_user.limit(-1), Catch::Contains("limit(-1)") && Catch::Contains("must not be negative"));
  CHECK_THROWS_AS(per_user.offset(-5), gocp::ConfigurationError);
  CHECK(links.stats().db_queries == before);
}
