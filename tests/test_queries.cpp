// Reads shaped like a service's (issue 23): order_by with NULLs and ties, reverse,
// limit/offset as Django's slices, first/last, values/values_list, distinct and
// select_for_update — on SQLite and (as test_queries_pg.*) PostgreSQL, against the same
// data. Each check asserts the rows, their order and the exact number of statements.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <future>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "support/database_url.hpp"
#include "support/error_of.hpp"
#include "support/link_models.hpp"
#include "support/temp_dir.hpp"

using gocp::c;
using gocp::test::error_of;
using links::Link;
using links::User;

namespace {

using Ids = std::vector<std::int64_t>;

Ids ids_of(const std::vector<Link>& rows) {
  Ids out;
  for (const Link& l : rows) out.push_back(l.id);
  return out;
}

const gocp::Timestamp kEpoch = gocp::Timestamp{std::chrono::seconds{1'700'000'000}};

/// 40 links: user 1 has 30, user 2 every fourth; clicks and creation times tie in small
/// groups; every third note is NULL.
struct Fixture {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir));
  gocp::Repository<User> users{db};
  gocp::Repository<Link> links{db};
  User u1, u2;
  std::vector<Link> rows;  // as stored, by id

  Fixture() {
    users.create_table();
    links.create_table();
    u1 = users.create(User{.email = "a@example.com"});
    u2 = users.create(User{.email = "b@example.org"});
    for (int i = 1; i <= 40; ++i) {
      Link l;
      l.user_id = i % 4 == 0 ? u2.id : u1.id;
      l.url = "https://l.test/" + std::string(i < 10 ? "0" : "") + std::to_string(i);
      l.clicks = (i * 7) % 5;
      l.created_at = kEpoch + std::chrono::seconds{i / 3};
      if (i % 3 != 0) l.note = "n" + std::to_string(i % 4);
      rows.push_back(links.create(l));
    }
  }

  /// The statements `fn` sent to the database.
  template <class F>
  std::uint64_t queries(F&& fn) const {
    const auto before = links.stats().db_queries;
    fn();
    return links.stats().db_queries - before;
  }

  /// The ids of `keep` rows in the order `less` gives, ties by id (descending when `reversed`).
  template <class Keep, class Less>
  Ids expected(Keep keep, Less less, bool reversed = false) const {
    std::vector<Link> out;
    std::copy_if(rows.begin(), rows.end(), std::back_inserter(out), keep);
    std::sort(out.begin(), out.end(), [&](const Link& a, const Link& b) { return reversed ? a.id > b.id : a.id < b.id; });
    std::stable_sort(out.begin(), out.end(), less);
    return ids_of(out);
  }
  template <class Less>
  Ids expected(Less less, bool reversed = false) const {
    return expected([](const Link&) { return true; }, less, reversed);
  }
};

auto every = [](const Link&) { return true; };

/// `note` ordered with NULLs first or last, ascending or descending.
auto by_note(bool descending, bool nulls_first) {
  return [=](const Link& a, const Link& b) {
    if (!a.note || !b.note) return nulls_first ? (!a.note && b.note) : (a.note && !b.note);
    return descending ? *a.note > *b.note : *a.note < *b.note;
  };
}

Ids slice(const Ids& ids, std::size_t low, std::size_t high) {
  low = std::min(low, ids.size());
  high = std::min(high, ids.size());
  return Ids(ids.begin() + static_cast<std::ptrdiff_t>(low), ids.begin() + static_cast<std::ptrdiff_t>(std::max(low, high)));
}

}  // namespace

// ---- ordering -------------------------------------------------------------------------

TEST_CASE_METHOD(Fixture, "order_by: keys and directions, ties broken by the primary key the way the last key runs",
                 "[queries]") {
  std::vector<Link> got;
  CHECK(queries([&] { got = links.order_by(c(&Link::created_at).desc()).all(); }) == 1);
  CHECK(ids_of(got) == expected([](const Link& a, const Link& b) { return a.created_at > b.created_at; }, true));
  CHECK(ids_of(got).front() == 40);  // the newest group (39, 40), its tie by id the way the last key runs
  CHECK(ids_of(got)[1] == 39);
  CHECK(ids_of(links.order_by(c(&Link::created_at)).all()).front() == 1);  // ascending: (1, 2) by id ascending

  CHECK(queries([&] { got = links.order_by(c(&Link::clicks), c(&Link::created_at).desc()).all(); }) == 1);
  CHECK(ids_of(got) == expected([](const Link& a, const Link& b) {
          return a.clicks != b.clicks ? a.clicks < b.clicks : a.created_at > b.created_at;
        }, true));

  // a plain column is ascending; .asc() says the same
  CHECK(ids_of(links.order_by(c(&Link::clicks)).all()) == ids_of(links.order_by(c(&Link::clicks).asc()).all()));
  // the primary key among the keys: no tie-break after it
  CHECK(ids_of(links.order_by(c(&Link::id).desc()).all()) ==
        expected([](const Link& a, const Link& b) { return a.id > b.id; }));
  // with filters: a user's newest links
  CHECK(ids_of(links.filter(c(&Link::user_id) == u2.id).order_by(c(&Link::created_at).desc()).all()) ==
        expected([&](const Link& l) { return l.user_id == u2.id; },
                 [](const Link& a, const Link& b) { return a.created_at > b.created_at; }, true));
  // unordered reads stay by primary key
  CHECK(ids_of(links.all()) == expected([](const Link& a, const Link& b) { return a.id < b.id; }));
}

TEST_CASE_METHOD(Fixture, "order_by: NULLs are the largest value on every backend, or placed explicitly", "[queries]") {
  const Ids asc = ids_of(links.order_by(c(&Link::note)).all());
  CHECK(asc == expected(by_note(false, false)));  // ASC NULLS LAST
  CHECK(!links.order_by(c(&Link::note)).all().back().note);
  CHECK(ids_of(links.order_by(c(&Link::note).desc()).all()) == expected(by_note(true, true), true));  // DESC NULLS FIRST
  CHECK(!links.order_by(c(&Link::note).desc()).all().front().note);
  CHECK(ids_of(links.order_by(c(&Link::note).asc().nulls_first()).all()) == expected(by_note(false, true)));
  CHECK(ids_of(links.order_by(c(&Link::note).desc().nulls_last()).all()) == expected(by_note(true, false), true));
  std::uint64_t n = queries([&] { links.order_by(c(&Link::note).desc().nulls_last(), c(&Link::clicks)).all(); });
  CHECK(n == 1);
}

TEST_CASE_METHOD(Fixture, "order_by replaces the ordering, order_by() goes back to the primary key", "[queries]") {
  const auto by_clicks = links.order_by(c(&Link::created_at).desc()).order_by(c(&Link::clicks));
  CHECK(ids_of(by_clicks.all()) == expected([](const Link& a, const Link& b) { return a.clicks < b.clicks; }));
  CHECK(ids_of(by_clicks.order_by().all()) == expected([](const Link& a, const Link& b) { return a.id < b.id; }));
}

TEST_CASE_METHOD(Fixture, "reverse flips every key, its NULLs and the tie-break, and unordered reads by pk descending",
                 "[queries]") {
  CHECK(ids_of(links.reverse().all()) == expected([](const Link& a, const Link& b) { return a.id > b.id; }));
  const auto ordered = links.order_by(c(&Link::note), c(&Link::clicks).desc());
  auto forward = ids_of(ordered.all());
  Ids backward;
  CHECK(queries([&] { backward = ids_of(ordered.reverse().all()); }) == 1);
  std::reverse(forward.begin(), forward.end());
  CHECK(backward == forward);  // exactly the reversed list: NULLs and ties included
  CHECK(ids_of(ordered.reverse().reverse().all()) == ids_of(ordered.all()));
  // as Django: an order_by() after reverse() is read reversed too
  CHECK(ids_of(links.reverse().order_by(c(&Link::clicks)).all()) ==
        expected([](const Link& a, const Link& b) { return a.clicks > b.clicks; }, /*reversed=*/true));
}

// ---- slicing -------------------------------------------------------------------------------

TEST_CASE_METHOD(Fixture, "limit and offset compose as Django's slices of a slice", "[queries]") {
  const auto by_created = links.order_by(c(&Link::created_at).desc());
  const Ids all = ids_of(by_created.all());
  std::vector<Link> got;
  CHECK(queries([&] { got = by_created.limit(20).all(); }) == 1);
  CHECK(ids_of(got) == slice(all, 0, 20));
  CHECK(ids_of(by_created.offset(35).all()) == slice(all, 35, 40));  // only an offset (SQLite: LIMIT -1)
  CHECK(ids_of(by_created.limit(10).offset(3).all()) == slice(all, 3, 10));    // qs[:10][3:]
  CHECK(ids_of(by_created.offset(3).limit(10).all()) == slice(all, 3, 13));    // qs[3:][:10]
  CHECK(ids_of(by_created.limit(5).limit(10).all()) == slice(all, 0, 5));      // qs[:5][:10]
  CHECK(ids_of(by_created.limit(10).limit(5).all()) == slice(all, 0, 5));
  CHECK(ids_of(by_created.offset(5).offset(5).limit(2).all()) == slice(all, 10, 12));
  CHECK(ids_of(by_created.offset(2).limit(10).offset(4).limit(3).all()) == slice(all, 6, 9));
  CHECK(by_created.limit(10).offset(30).all().empty());  // past its end: nothing
  CHECK(by_created.offset(100).all().empty());
  // an empty slice is known to be empty: no statement at all (as Django)
  CHECK(queries([&] { CHECK(by_created.limit(0).all().empty()); }) == 0);
  CHECK(queries([&] { CHECK(by_created.offset(4).limit(0).count() == 0); }) == 0);
  // the largest offset and limit are taken as numbers
  CHECK(by_created.offset(std::numeric_limits<std::int64_t>::max()).all().empty());
  CHECK(ids_of(by_created.limit(std::numeric_limits<std::int64_t>::max()).all()) == all);
}

TEST_CASE_METHOD(Fixture, "narrowing a named repository leaves it as it was - a chain of temporaries narrows each in place",
                 "[queries]") {
  const auto u1s = [&](const Link& l) { return l.user_id == u1.id; };
  const auto newest = [](const Link& a, const Link& b) { return a.created_at > b.created_at; };
  const auto mine = links.filter(c(&Link::user_id) == u1.id);
  const auto recent = mine.order_by(c(&Link::created_at).desc()).exclude(c(&Link::clicks) == 0).limit(5);
  // mine is as it was: one term, no order, no slice
  CHECK(mine.queryset().scope().nodes().size() == 1);
  CHECK(mine.queryset().ordering().empty());
  CHECK(!mine.queryset().sliced());
  CHECK(ids_of(mine.all()) == expected(u1s, [](const Link&, const Link&) { return false; }));
  CHECK(ids_of(recent.all()) ==
        slice(expected([&](const Link& l) { return u1s(l) && l.clicks != 0; }, newest, /*reversed=*/true), 0, 5));
  // a named repository moved into a chain is the one narrowed (and may be assigned anew)
  auto named = links.filter(c(&Link::user_id) == u2.id);
  const auto two = std::move(named).order_by(c(&Link::id)).limit(2);
  CHECK(two.queryset().slice().high == 2);
  CHECK(ids_of(two.all()) == slice(expected([&](const Link& l) { return l.user_id == u2.id; },
                                            [](const Link& a, const Link& b) { return a.id < b.id; }),
                                   0, 2));
  named = links.filter(c(&Link::user_id) == u1.id);
  CHECK(ids_of(named.all()) == ids_of(mine.all()));
}

TEST_CASE_METHOD(Fixture, "keyset paging returns exactly the page asked for", "[queries]") {
  std::int64_t last = 5;
  Ids seen;
  for (int page = 0; page < 2; ++page) {
    std::vector<Link> got;
    CHECK(queries([&] { got = links.filter(c(&Link::id) > last).order_by(c(&Link::id)).limit(20).all(); }) == 1);
    const Ids want = page == 0 ? slice(ids_of(rows), 5, 25) : slice(ids_of(rows), 25, 45);
    CHECK(ids_of(got) == want);
    if (got.empty()) break;
    last = got.back().id;
  }
  CHECK(links.filter(c(&Link::id) > std::int64_t{5}).order_by(c(&Link::id)).limit(20).all().size() == 20);
}

TEST_CASE_METHOD(Fixture, "a bad bound is a ValidationError naming it", "[queries]") {
  CHECK(error_of<gocp::ValidationError>([&] { links.limit(-1); }) ==
        "gocp: limit(-1) on 'links.link': a bound must be 0 or more");
  CHECK(error_of<gocp::ValidationError>([&] { links.offset(-3); }) ==
        "gocp: offset(-3) on 'links.link': a bound must be 0 or more");
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  CHECK(error_of<gocp::ValidationError>([&] { links.offset(5).limit(max); }) ==
        "gocp: limit(9223372036854775807) on 'links.link': the slice would reach past the largest int64 (it "
        "already skips 5 rows)");
  CHECK(error_of<gocp::ValidationError>([&] { links.offset(max).offset(1); }) ==
        "gocp: offset(1) on 'links.link': the slice would reach past the largest int64 (it already skips "
        "9223372036854775807 rows)");
}

TEST_CASE_METHOD(Fixture, "first and last: one query each, by pk when unordered, nullopt when empty", "[queries]") {
  std::optional<Link> got;
  CHECK(queries([&] { got = links.first(); }) == 1);
  REQUIRE(got);
  CHECK(got->id == rows.front().id);
  CHECK(got->url == rows.front().url);
  CHECK(queries([&] { got = links.last(); }) == 1);
  REQUIRE(got);
  CHECK(got->id == rows.back().id);

  const auto newest = links.order_by(c(&Link::created_at).desc());
  CHECK(newest.first()->id == ids_of(newest.all()).front());
  CHECK(newest.last()->id == ids_of(newest.all()).back());
  const auto by_note_asc = links.order_by(c(&Link::note));
  CHECK(!by_note_asc.last()->note);  // NULLs are last ascending, so last() is one of them
  CHECK(by_note_asc.last()->id == ids_of(by_note_asc.all()).back());

  CHECK(queries([&] { CHECK_FALSE(links.filter(c(&Link::clicks) > 100).first()); }) == 1);
  CHECK_FALSE(links.filter(c(&Link::clicks) > 100).last());
  // first() of a slice is the slice's first row
  CHECK(newest.offset(7).first()->id == ids_of(newest.all())[7]);
  CHECK_FALSE(newest.offset(40).first());
}

TEST_CASE_METHOD(Fixture, "count and exists of a slice count within it", "[queries]") {
  std::size_t n = 0;
  CHECK(queries([&] { n = links.offset(35).count(); }) == 1);
  CHECK(n == 5);
  CHECK(links.limit(7).count() == 7);
  CHECK(links.offset(10).limit(100).count() == 30);
  CHECK(links.filter(c(&Link::user_id) == u2.id).limit(20).count() == 10);
  CHECK(links.offset(40).count() == 0);
  bool any = false;
  CHECK(queries([&] { any = links.offset(39).exists(); }) == 1);
  CHECK(any);
  CHECK_FALSE(links.offset(40).exists());
  CHECK(links.count() == 40);
}

TEST_CASE_METHOD(Fixture, "a sliced queryset refuses what Django refuses, naming the verb", "[queries]") {
  const auto sliced = links.order_by(c(&Link::id)).limit(5);
  auto refused = [](const char* verb) {
    return std::string("gocp: cannot ") + verb + " a sliced query (limit/offset) of 'links.link'; apply it before "
                                                 "limit()/offset()";
  };
  const std::uint64_t n = queries([&] {
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.filter(c(&Link::clicks) == 1); }) == refused("filter"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.exclude(c(&Link::clicks) == 1); }) == refused("exclude"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.bind(c(&Link::user_id) = u1.id); }) == refused("bind"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.order_by(c(&Link::url)); }) == refused("order_by"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.reverse(); }) == refused("reverse"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.distinct(); }) == refused("distinct"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.last(); }) == refused("last"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.update(c(&Link::clicks) = 0); }) == refused("update"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.remove_all(); }) == refused("remove_all"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.get(c(&Link::id) == std::int64_t{1}); }) == refused("get"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.find(c(&Link::id) == std::int64_t{1}); }) ==
          refused("find"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.get_or_create(c(&Link::id) == std::int64_t{1}); }) ==
          refused("get_or_create"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.update_or_create(c(&Link::id) == std::int64_t{1}); }) ==
          refused("update_or_create"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.in_bulk({1, 2}); }) == refused("in_bulk"));
    CHECK(error_of<gocp::ConfigurationError>([&] { sliced.in_bulk(std::vector<std::int64_t>{1}); }) ==
          refused("in_bulk"));
  });
  CHECK(n == 0);  // refused before any statement
  CHECK(links.count() == 40);
  CHECK(links.filter(c(&Link::clicks) == 0).count() == 8);  // nothing was updated
  // offset(0) cuts nothing: not a slice (Django's qs[0:])
  CHECK(links.offset(0).filter(c(&Link::clicks) == 0).count() == 8);
}

// ---- values ---------------------------------------------------------------------------------

TEST_CASE_METHOD(Fixture, "values and values_list: the members' types, with filters, order and slice", "[queries]") {
  std::vector<std::tuple<std::int64_t, std::string>> pairs;
  CHECK(queries([&] { pairs = links.filter(c(&Link::user_id) == u2.id).values(&Link::id, &Link::url); }) == 1);
  REQUIRE(pairs.size() == 10);
  CHECK(pairs[0] == std::tuple<std::int64_t, std::string>{4, "https://l.test/04"});
  CHECK(std::get<0>(pairs[9]) == 40);

  // std::optional stays optional; the order and slice apply
  auto notes = links.order_by(c(&Link::note).desc(), c(&Link::id)).limit(3).values(&Link::note, &Link::clicks,
                                                                                      &Link::created_at);
  static_assert(std::is_same_v<decltype(notes), std::vector<std::tuple<std::optional<std::string>, int, gocp::Timestamp>>>);
  REQUIRE(notes.size() == 3);
  CHECK(notes[0] == std::tuple<std::optional<std::string>, int, gocp::Timestamp>{std::nullopt, rows[2].clicks,
                                                                                   rows[2].created_at});
  CHECK_FALSE(std::get<0>(notes[2]));

  std::vector<std::string> urls;
  CHECK(queries([&] { urls = links.order_by(c(&Link::created_at).desc()).limit(2).values_list(&Link::url); }) == 1);
  CHECK(urls == std::vector<std::string>{"https://l.test/40", "https://l.test/39"});
  auto clicks = links.reverse().offset(38).values_list(&Link::clicks);
  static_assert(std::is_same_v<decltype(clicks), std::vector<int>>);
  CHECK(clicks == std::vector<int>{rows[1].clicks, rows[0].clicks});
  CHECK(queries([&] { CHECK(links.limit(0).values_list(&Link::url).empty()); }) == 0);
}

TEST_CASE_METHOD(Fixture, "distinct: each combination once, ordered by selected fields, ties by them", "[queries]") {
  std::vector<std::int64_t> owners;
  CHECK(queries([&] { owners = links.distinct().values_list(&Link::user_id); }) == 1);
  CHECK(owners == std::vector<std::int64_t>{u1.id, u2.id});  // tie-break: the selected field, ascending
  CHECK(links.distinct().reverse().values_list(&Link::user_id) == std::vector<std::int64_t>{u2.id, u1.id});
  CHECK(links.distinct().order_by(c(&Link::clicks).desc()).values_list(&Link::clicks) ==
        std::vector<int>{4, 3, 2, 1, 0});
  // NULL is one value, and the largest
  CHECK(links.distinct().values_list(&Link::note) ==
        std::vector<std::optional<std::string>>{"n0", "n1", "n2", "n3", std::nullopt});
  CHECK(links.distinct().order_by(c(&Link::user_id).desc()).limit(3).values(&Link::user_id, &Link::clicks) ==
        std::vector<std::tuple<std::int64_t, int>>{{u2.id, 4}, {u2.id, 3}, {u2.id, 2}});  // ties: the way the key runs
  CHECK(links.filter(c(&Link::user_id) == u2.id).distinct().count() == 10);
  CHECK(links.distinct().all().size() == 40);  // whole rows are distinct by their key
  CHECK(ids_of(links.distinct().order_by(c(&Link::clicks)).all()) ==
        expected([](const Link& a, const Link& b) { return a.clicks < b.clicks; }));

  CHECK(error_of<gocp::ConfigurationError>([&] {
          links.distinct().order_by(c(&Link::created_at)).values_list(&Link::clicks);
        }) == "gocp: distinct() reads only the selected fields of 'links.link', but the ordering names "
              "'links.link.created_at': order by selected fields only (PostgreSQL refuses ORDER BY a column a "
              "SELECT DISTINCT does not read)");
}

// ---- row locks ------------------------------------------------------------------------------

TEST_CASE_METHOD(Fixture, "select_for_update: only inside a transaction, its options checked", "[queries]") {
  const std::string outside =
      "gocp: select_for_update cannot be used outside of a transaction (reading 'links.link'): run the read "
      "inside db.atomic(...)";
  const auto locking = links.select_for_update();
  const std::uint64_t n = queries([&] {
    CHECK(error_of<gocp::TransactionManagementError>([&] { locking.all(); }) == outside);
    CHECK(error_of<gocp::TransactionManagementError>([&] { locking.first(); }) == outside);
    CHECK(error_of<gocp::TransactionManagementError>([&] { locking.values_list(&Link::url); }) == outside);
    CHECK(error_of<gocp::TransactionManagementError>([&] { locking.get(c(&Link::id) == std::int64_t{1}); }) ==
          outside);
    CHECK(error_of<gocp::TransactionManagementError>([&] { locking.in_bulk({1}); }) == outside);
  });
  CHECK(n == 0);
  CHECK(error_of<gocp::ConfigurationError>([&] { links.select_for_update({.skip_locked = true, .nowait = true}); }) ==
        "gocp: select_for_update on 'links.link': skip_locked and nowait cannot both be set");

  db.atomic([&] {
    std::vector<Link> got;
    CHECK(queries([&] { got = locking.filter(c(&Link::user_id) == u2.id).order_by(c(&Link::id).desc()).limit(2).all(); }) ==
          1);
    CHECK(ids_of(got) == Ids{40, 36});
    CHECK(locking.get(c(&Link::id) == std::int64_t{3}).url == "https://l.test/03");
    CHECK(locking.first()->id == 1);
    CHECK(locking.in_bulk({1, 2}).size() == 2);
    CHECK(error_of<gocp::ConfigurationError>([&] { locking.distinct().all(); }) ==
          "gocp: select_for_update cannot be combined with distinct() (reading 'links.link'): PostgreSQL refuses "
          "FOR UPDATE with DISTINCT");
    if (!gocp::test::testing_postgres()) {
      // no row locks on SQLite: the options that depend on them are refused
      CHECK(error_of<gocp::NotSupportedError>([&] { links.select_for_update({.skip_locked = true}).all(); }) ==
            "gocp: select_for_update({.skip_locked = true}) is not supported on sqlite (reading 'links.link'): it has "
            "no row locks; a plain select_for_update() is (its transaction already holds the database's write lock)");
      CHECK(error_of<gocp::NotSupportedError>([&] { links.select_for_update({.nowait = true}).first(); })
                .starts_with("gocp: select_for_update({.nowait = true}) is not supported on sqlite"));
    }
  });
}

TEST_CASE_METHOD(Fixture, "select_for_update on PostgreSQL: skip_locked skips a locked row, nowait raises",
                 "[queries]") {
  if (!gocp::test::testing_postgres()) return;  // SQLite has no row locks (the test above)
  std::promise<void> locked, done;
  std::thread holder([&] {
    db.atomic([&] {
      CHECK(links.select_for_update().filter(c(&Link::id) == std::int64_t{1}).all().size() == 1);
      locked.set_value();
      done.get_future().wait();
    });
  });
  locked.get_future().wait();
  db.atomic([&] {
    const auto mine = links.filter(c(&Link::user_id) == u1.id).order_by(c(&Link::id)).limit(3);
    CHECK(ids_of(links.select_for_update({.skip_locked = true}).filter(c(&Link::user_id) == u1.id)
                     .order_by(c(&Link::id)).limit(3).all()) == Ids{2, 3, 5});
    CHECK(ids_of(mine.all()) == Ids{1, 2, 3});  // an unlocking read still sees it
  });
  const std::string nowait = error_of<gocp::OperationalError>([&] {
    db.atomic([&] { links.select_for_update({.nowait = true}).filter(c(&Link::id) == std::int64_t{1}).first(); });
  });
  CHECK(nowait.find("55P03") != std::string::npos);
  done.set_value();
  holder.join();
  // once the holder's transaction ended, nowait gets the row
  db.atomic([&] { CHECK(links.select_for_update({.nowait = true}).filter(c(&Link::id) == std::int64_t{1}).first()); });
}

// ---- with relations and caches -------------------------------------------------------------

TEST_CASE_METHOD(Fixture, "a related repository orders, slices and reads values", "[queries]") {
  const auto of_u2 = gocp::related(links, u2);
  CHECK(ids_of(of_u2.order_by(c(&Link::created_at).desc()).limit(3).all()) == Ids{40, 36, 32});
  CHECK(of_u2.order_by(c(&Link::id)).first()->id == 4);
  CHECK(of_u2.last()->id == 40);
  CHECK(of_u2.offset(8).values_list(&Link::id) == std::vector<std::int64_t>{36, 40});
  CHECK(of_u2.limit(3).count() == 3);
  CHECK(error_of<gocp::ConfigurationError>([&] { gocp::related(links.limit(3), u2); }) ==
        "gocp: cannot bind a sliced query (limit/offset) of 'links.link'; apply it before limit()/offset()");
  CHECK(error_of<gocp::ConfigurationError>([&] { gocp::select_related(links.order_by(c(&Link::url)), users); }) ==
        "gocp: select_related of 'links.link' does not apply order_by/reverse/limit/offset/distinct/"
        "select_for_update: give it a repository without them");
  CHECK(gocp::select_related(of_u2, users).size() == 10);
  // ordering does not get in the way of the related repository's get_or_create
  auto [made, created] = of_u2.order_by(c(&Link::id)).get_or_create(c(&Link::id) == std::int64_t{4});
  CHECK_FALSE(created);
  CHECK(made.user_id == u2.id);
}

TEST_CASE_METHOD(Fixture, "in_bulk with caches: ordering does not change its answer", "[queries]") {
  gocp::CacheRegistry caches{{"default", "locmem:///queries"}, {"links.link", "locmem:///queries"}};
  gocp::Repository<Link> cached{db, caches};
  const auto first = cached.in_bulk(std::vector<std::int64_t>{1, 2, 3});
  CHECK(first.size() == 3);
  const auto before = cached.stats().db_queries;
  const auto ordered = cached.order_by(c(&Link::created_at).desc()).reverse().in_bulk(std::vector<std::int64_t>{1, 2, 3});
  CHECK(cached.stats().db_queries == before);  // from the cache, as unordered
  REQUIRE(ordered.size() == 3);
  CHECK(ordered.at(2).url == first.at(2).url);
  CHECK(cached.filter(c(&Link::clicks) == rows[0].clicks).order_by(c(&Link::url)).in_bulk(std::vector<std::int64_t>{1, 2, 3}).size() ==
        1);
  CHECK(error_of<gocp::ConfigurationError>([&] { cached.limit(2).in_bulk(std::vector<std::int64_t>{1}); }) ==
        "gocp: cannot in_bulk a sliced query (limit/offset) of 'links.link'; apply it before limit()/offset()");
  db.atomic([&] {
    const auto n = cached.stats().db_queries;
    CHECK(cached.select_for_update().in_bulk(std::vector<std::int64_t>{1, 2}).size() == 2);
    CHECK(cached.stats().db_queries == n + 1);  // a lock is taken in the database, never from a cache
  });
}
