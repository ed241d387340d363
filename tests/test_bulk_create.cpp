// bulk_create (Django's, with ignore_conflicts and update_conflicts): batches, the rows
// and keys it returns, all-or-nothing, validation before any write, the change stream
// and the caches that hear it. Run on SQLite and, as test_bulk_create_pg.*, PostgreSQL.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/cache_url.hpp"
#include "support/database_url.hpp"
#include "support/library_models.hpp"
#include "support/temp_dir.hpp"

namespace {

struct Link {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string url;
  int clicks = 0;
  gocp::Timestamp created_at{};
};

struct Tag {
  std::int64_t id = 0;
  std::string name;
  int uses = 0;
  std::optional<std::string> note;
};

struct Code {  // a key the caller sets
  std::string code;
  std::string label;
};

}  // namespace

template <>
struct gocp::model<Link> {
  static constexpr std::string_view name = "app.link";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Link::id, "id"), gocp::field(&Link::user_id, "user_id"),
                  gocp::field(&Link::url, "url", gocp::max_length(40)), gocp::field(&Link::clicks, "clicks"),
                  gocp::field(&Link::created_at, "created_at", gocp::auto_now_add));
};

template <>
struct gocp::model<Tag> {
  static constexpr std::string_view name = "app.tag";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Tag::id, "id"), gocp::field(&Tag::name, "name", gocp::max_length(20), gocp::unique),
                  gocp::field(&Tag::uses, "uses"), gocp::field(&Tag::note, "note"));
};

template <>
struct gocp::model<Code> {
  static constexpr std::string_view name = "app.code";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Code::code, "code"), gocp::field(&Code::label, "label"));
};

using gocp::c;

namespace {

struct Fixture {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir));
  gocp::Repository<Link> links{db};
  gocp::Repository<Tag> tags{db};
  gocp::Repository<Code> codes{db};

  Fixture() {
    links.create_table();
    tags.create_table();
    codes.create_table();
  }

  static std::vector<Link> some_links(std::size_t n) {
    std::vector<Link> out;
    for (std::size_t i = 0; i < n; ++i)
      out.push_back({0, 7, "https://example.com/" + std::to_string(i), static_cast<int>(i), {}});
    return out;
  }
  static std::vector<Tag> some_tags(std::size_t n) {
    std::vector<Tag> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back({0, "tag" + std::to_string(i), static_cast<int>(i), {}});
    return out;
  }
};

/// Records every change of a table, as delivered.
struct Recorder {
  std::vector<gocp::RowChange> seen;
  std::shared_ptr<void> subscription;
  Recorder(const gocp::Database& db, std::string table)
      : subscription(db.changes().subscribe(std::move(table), [this](const gocp::RowChange& ch) { seen.push_back(ch); })) {}
};

/// The statements an upsert batch costs: the INSERT, and on SQLite the SELECT of the
/// keys that already had rows (PostgreSQL's INSERT reports it through xmax).
std::uint64_t upsert_statements() { return gocp::test::testing_postgres() ? 1 : 2; }

}  // namespace

TEST_CASE_METHOD(Fixture, "bulk_create returns the rows as stored, with their keys, in order", "[bulk_create]") {
  const auto rows = some_links(5);
  const auto queries = links.stats().db_queries;
  const auto transactions = db.transactions_begun();
  const auto stored = links.bulk_create(rows);
  CHECK(links.stats().db_queries == queries + 1);          // one INSERT ... RETURNING
  CHECK(db.transactions_begun() == transactions + 1);      // in one transaction (BEGIN, COMMIT)
  REQUIRE(stored.size() == 5);
  for (std::size_t i = 0; i < stored.size(); ++i) {
    CHECK(stored[i].id != 0);
    CHECK(stored[i].url == rows[i].url);
    CHECK(stored[i].clicks == rows[i].clicks);
    if (i) CHECK(stored[i].id > stored[i - 1].id);
  }
  // one time for the call, as create() stamps
  CHECK(stored[0].created_at != gocp::Timestamp{});
  CHECK(stored[4].created_at == stored[0].created_at);
  const auto all = links.all();
  REQUIRE(all.size() == 5);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].id == stored[i].id);
    CHECK(all[i].url == stored[i].url);
    CHECK(all[i].created_at == stored[i].created_at);
  }
}

TEST_CASE_METHOD(Fixture, "bulk_create of nothing runs nothing", "[bulk_create]") {
  const auto queries = links.stats().db_queries;
  const auto transactions = db.transactions_begun();
  CHECK(links.bulk_create(std::vector<Link>{}).empty());
  CHECK(links.stats().db_queries == queries);
  CHECK(db.transactions_begun() == transactions);
}

TEST_CASE_METHOD(Fixture, "bulk_create writes one INSERT per batch, all in one transaction", "[bulk_create]") {
  const auto rows = some_links(7);
  const std::size_t batch_size = GENERATE(1, 2, 3, 7, 100);
  const std::uint64_t batches = (7 + batch_size - 1) / batch_size;
  const auto queries = links.stats().db_queries;
  const auto transactions = db.transactions_begun();
  const auto stored = links.bulk_create(rows, {.batch_size = batch_size});
  CHECK(links.stats().db_queries == queries + batches);
  CHECK(db.transactions_begun() == transactions + 1);
  REQUIRE(stored.size() == 7);
  const auto all = links.all();
  REQUIRE(all.size() == 7);
  for (std::size_t i = 0; i < 7; ++i) {
    CHECK(stored[i].url == rows[i].url);
    CHECK(all[i].id == stored[i].id);
    CHECK(all[i].url == rows[i].url);
  }
}

TEST_CASE_METHOD(Fixture, "a row that sets its key keeps it, the others get one from the database", "[bulk_create]") {
  std::vector<Tag> rows = some_tags(5);
  rows[1].id = 1000;
  rows[3].id = 2000;
  const auto queries = tags.stats().db_queries;
  const auto stored = tags.bulk_create(rows);
  CHECK(tags.stats().db_queries == queries + 2);  // the rows with keys, then the rows without, a statement each
  REQUIRE(stored.size() == 5);
  CHECK(stored[1].id == 1000);
  CHECK(stored[3].id == 2000);
  for (std::size_t i : {0u, 2u, 4u}) {
    CHECK(stored[i].id != 0);
    CHECK(stored[i].id != 1000);
    CHECK(stored[i].id != 2000);
  }
  CHECK(stored[2].id > stored[0].id);
  CHECK(stored[4].id > stored[2].id);
  for (std::size_t i = 0; i < 5; ++i) CHECK(tags.get(c(&Tag::id) == stored[i].id).name == rows[i].name);

  // a key that is not an auto key: written as given
  const auto made = codes.bulk_create({{"b", "Bee"}, {"a", "Ay"}});
  REQUIRE(made.size() == 2);
  CHECK(made[0].code == "b");
  CHECK(made[1].label == "Ay");
  CHECK(codes.count() == 2);
}

TEST_CASE_METHOD(Fixture, "a value the schema refuses is a ValidationError naming the row and field, before any write",
                 "[bulk_create][validation]") {
  auto rows = some_links(100);
  rows[37].url = std::string(41, 'x');  // max_length 40
  const auto queries = links.stats().db_queries;
  const auto transactions = db.transactions_begun();
  try {
    links.bulk_create(rows, {.batch_size = 10});
    FAIL("no ValidationError");
  } catch (const gocp::ValidationError& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("row 37 of 100"));
    CHECK_THAT(what, Catch::Contains("'app.link.url'"));
    CHECK_THAT(what, Catch::Contains("max_length 40"));
  }
  CHECK(links.stats().db_queries == queries);
  CHECK(db.transactions_begun() == transactions);
  CHECK(links.count() == 0);
}

TEST_CASE_METHOD(Fixture, "a unique violation in the second batch leaves nothing of the call written",
                 "[bulk_create][integrity]") {
  auto rows = some_tags(10);
  rows[5].name = rows[1].name;  // the second batch of four: rows 4 to 7
  const auto queries = tags.stats().db_queries;
  CHECK_THROWS_AS(tags.bulk_create(rows, {.batch_size = 4}), gocp::IntegrityError);
  CHECK(tags.stats().db_queries == queries + 2);  // the first batch, then the second, which failed
  CHECK(tags.count() == 0);

  SECTION("inside the caller's transaction, a savepoint: the caller may go on") {
    const auto savepoints = db.savepoints_begun();
    db.atomic([&] {
      tags.create({0, "kept", 1, {}});
      CHECK_THROWS_AS(tags.bulk_create(rows, {.batch_size = 4}), gocp::IntegrityError);
      CHECK(tags.count() == 1);
      tags.bulk_create(some_tags(3));
    });
    CHECK(db.savepoints_begun() == savepoints + 2);
    CHECK(tags.count() == 4);
  }
}

TEST_CASE_METHOD(Fixture, "bulk_create writes the repository's bound values into every row", "[bulk_create]") {
  const auto mine = links.bind(c(&Link::user_id) = std::int64_t{42});
  auto rows = some_links(3);
  const auto stored = mine.bulk_create(rows);
  for (const Link& l : stored) CHECK(l.user_id == 42);
  CHECK(links.filter(c(&Link::user_id) == std::int64_t{42}).count() == 3);
  CHECK(mine.count() == 3);
}

TEST_CASE_METHOD(Fixture, "ignore_conflicts skips the rows that conflict and returns them as given",
                 "[bulk_create][conflicts]") {
  const Tag old = tags.create({0, "tag1", 100, std::string("old")});
  Recorder rec(db, "app_tag");
  auto rows = some_tags(4);  // tag1 conflicts with the row there
  rows.push_back({0, "tag3", 5, {}});  // and with row 3 of the call
  rows.push_back({5000, "tag9", 9, {}});  // a key it sets
  rows.push_back({old.id, "tag8", 8, {}});  // a key that conflicts
  const auto queries = tags.stats().db_queries;
  const auto stored = tags.bulk_create(rows, {.ignore_conflicts = true});
  CHECK(tags.stats().db_queries == queries + 2);  // the rows with keys, then those without
  REQUIRE(stored.size() == 7);
  CHECK(stored[1].id == 0);  // as given: not written
  CHECK(stored[1].uses == 1);
  CHECK(stored[4].id == 0);
  CHECK(stored[4].uses == 5);
  CHECK(stored[6].id == old.id);  // as given
  CHECK(stored[6].name == "tag8");
  CHECK(stored[5].id == 5000);
  for (std::size_t i : {0u, 2u, 3u}) {
    CHECK(stored[i].id != 0);
    CHECK(tags.get(c(&Tag::id) == stored[i].id).name == rows[i].name);
  }
  CHECK(tags.count() == 5);
  const Tag still = tags.get(c(&Tag::name) == "tag1");
  CHECK(still.id == old.id);
  CHECK(still.uses == 100);
  CHECK(tags.find(c(&Tag::name) == "tag8") == std::nullopt);
  // the rows written, and only them, are changes: all inserts
  REQUIRE(rec.seen.size() == 4);
  for (const auto& change : rec.seen) CHECK(change.is_insert());
  CHECK(rec.seen[0].pk == gocp::Value{std::int64_t{5000}});
}

TEST_CASE_METHOD(Fixture, "update_conflicts updates the rows that conflict and inserts the others",
                 "[bulk_create][conflicts]") {
  const Tag a = tags.create({0, "a", 1, std::string("kept")});
  const Tag b = tags.create({0, "b", 2, {}});
  Recorder rec(db, "app_tag");
  const std::vector<Tag> rows{{0, "c", 30, {}}, {0, "a", 10, std::string("new")}, {0, "d", 40, {}}, {0, "b", 20, {}}};
  const auto queries = tags.stats().db_queries;
  const auto stored = tags.bulk_create(
      rows, {.update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Tag::name), gocp::update_fields(&Tag::uses))});
  CHECK(tags.stats().db_queries == queries + upsert_statements());
  REQUIRE(stored.size() == 4);
  CHECK(stored[1].id == a.id);       // the row it updated, as stored
  CHECK(stored[1].uses == 10);
  CHECK(stored[1].note == "kept");   // not in update_fields
  CHECK(stored[3].id == b.id);
  CHECK(stored[3].uses == 20);
  CHECK(stored[0].id != 0);
  CHECK(stored[2].id != 0);
  CHECK(stored[0].uses == 30);
  CHECK(tags.count() == 4);
  CHECK(tags.get(c(&Tag::name) == "a").uses == 10);
  CHECK(tags.get(c(&Tag::name) == "a").note == "kept");
  // each row a change: an update had the row, an insert did not
  REQUIRE(rec.seen.size() == 4);
  CHECK(rec.seen[0].is_insert());
  CHECK(rec.seen[1].had_row);
  CHECK(rec.seen[1].has_row);
  CHECK(rec.seen[1].pk == gocp::Value{a.id});
  CHECK(rec.seen[2].is_insert());
  CHECK(rec.seen[3].had_row);
  REQUIRE(rec.seen[1].after);
  CHECK((*rec.seen[1].after)[2] == gocp::Value{std::int64_t{10}});

  SECTION("in batches, with rows that set their keys, on the primary key") {
    const std::vector<Tag> more{{a.id, "a", 11, {}}, {9000, "z", 1, {}}, {b.id, "b", 21, {}}};
    const auto before = tags.stats().db_queries;
    const auto again = tags.bulk_create(
        more, {.batch_size = 2,
               .update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Tag::id), gocp::update_fields(&Tag::uses))});
    CHECK(tags.stats().db_queries == before + 2 * upsert_statements());
    REQUIRE(again.size() == 3);
    CHECK(again[0].uses == 11);
    CHECK(again[1].id == 9000);
    CHECK(again[2].uses == 21);
    CHECK(tags.count() == 5);
    REQUIRE(rec.seen.size() == 7);
    CHECK(rec.seen[4].had_row);
    CHECK(rec.seen[5].is_insert());
    CHECK(rec.seen[6].had_row);
  }
}

TEST_CASE_METHOD(Fixture, "an upsert on a unique_together names its fields in any order",
                 "[bulk_create][conflicts]") {
  gocp::Repository<gocp::test::Author> authors{db};
  authors.create_table();
  using gocp::test::Author;
  authors.create({0, "Leo", "Tolstoy", 1, std::nullopt});
  const std::vector<Author> rows{{0, "Leo", "Tolstoy", 5, std::nullopt}, {0, "Anna", "K", 2, std::nullopt}};
  const auto stored = authors.bulk_create(
      rows, {.update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Author::last_name, &Author::first_name),
                                                        gocp::update_fields(&Author::books_in_store))});
  CHECK(stored[0].books_in_store == 5);
  CHECK(authors.count() == 2);
}

TEST_CASE_METHOD(Fixture, "bad conflict options are ConfigurationErrors naming the fields", "[bulk_create][conflicts]") {
  const auto rows = some_tags(2);
  auto error_of = [&](const gocp::BulkCreate<Tag>& options) -> std::string {
    try {
      tags.bulk_create(rows, options);
    } catch (const gocp::ConfigurationError& e) {
      return e.what();
    }
    return "no ConfigurationError";
  };
  CHECK_THAT(error_of({.update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Tag::uses),
                                                                  gocp::update_fields(&Tag::note))}),
             Catch::Contains("unique_fields (uses) are not one of the model's unique sets ((id), (name))"));
  CHECK_THAT(error_of({.update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Tag::name, &Tag::uses),
                                                                  gocp::update_fields(&Tag::note))}),
             Catch::Contains("unique_fields (name, uses) are not one of"));
  CHECK_THAT(error_of({.update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Tag::name), gocp::UpdateFields<Tag>{})}),
             Catch::Contains("at least one field in update_fields"));
  CHECK_THAT(error_of({.update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Tag::name),
                                                                  gocp::update_fields(&Tag::uses, &Tag::id))}),
             Catch::Contains("cannot update the primary key 'id'"));
  CHECK_THAT(error_of({.update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Tag::name),
                                                                  gocp::update_fields(&Tag::uses, &Tag::uses))}),
             Catch::Contains("lists 'uses' twice"));
  CHECK_THAT(error_of({.ignore_conflicts = true,
                       .update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Tag::name),
                                                                  gocp::update_fields(&Tag::uses))}),
             Catch::Contains("ignore_conflicts and update_conflicts cannot be used together"));
  CHECK(tags.count() == 0);
}

TEST_CASE_METHOD(Fixture, "an upsert given two rows with the same unique key refuses before writing",
                 "[bulk_create][conflicts]") {
  auto rows = some_tags(6);
  rows[4].name = rows[2].name;
  const auto queries = tags.stats().db_queries;
  try {
    tags.bulk_create(rows, {.update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Tag::name),
                                                                       gocp::update_fields(&Tag::uses))});
    FAIL("no ValidationError");
  } catch (const gocp::ValidationError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("rows 2 and 4 of 6 have the same (name)"));
  }
  CHECK(tags.stats().db_queries == queries);
  CHECK(tags.count() == 0);
}

TEST_CASE_METHOD(Fixture, "every row written is a RowChange, delivered at the commit", "[bulk_create][changes]") {
  Recorder rec(db, "app_link");
  std::vector<gocp::RowChange> inside;
  db.atomic([&] {
    links.bulk_create(some_links(7), {.batch_size = 3});
    inside = rec.seen;
  });
  CHECK(inside.empty());  // not before the commit
  REQUIRE(rec.seen.size() == 7);
  const auto all = links.all();
  for (std::size_t i = 0; i < 7; ++i) {
    CHECK(rec.seen[i].is_insert());
    CHECK(rec.seen[i].pk == gocp::Value{all[i].id});
    REQUIRE(rec.seen[i].after);
    CHECK((*rec.seen[i].after)[2] == gocp::Value{all[i].url});
  }
  SECTION("a rolled-back call delivers nothing") {
    auto rows = some_links(3);
    rows[2].url = std::string(41, 'y');
    CHECK_THROWS_AS(links.bulk_create(rows), gocp::ValidationError);
    auto dup = some_tags(2);
    dup[1].name = dup[0].name;
    Recorder tag_rec(db, "app_tag");
    CHECK_THROWS_AS(tags.bulk_create(dup, {.batch_size = 1}), gocp::IntegrityError);
    CHECK(tag_rec.seen.empty());
    CHECK(rec.seen.size() == 7);
  }
}

TEST_CASE_METHOD(Fixture, "a call's rows never leak into the next one's (each thread's rows are reused)",
                 "[bulk_create]") {
  // a call of another model, fewer rows, a text slot that becomes NULL, a call that
  // failed validation midway, and a call nested in a change handler of another
  const auto first = tags.bulk_create({{0, "alpha-a-longer-name", 1, "a note long enough to live on the heap"},
                                       {0, "beta", 2, std::nullopt},
                                       {0, "gamma", 3, "short"}});
  REQUIRE(first.size() == 3);
  const auto code = codes.bulk_create({{"k1", "label one, also long enough for the heap"}});
  REQUIRE(code.size() == 1);
  CHECK(code[0].code == "k1");
  CHECK(code[0].label == "label one, also long enough for the heap");
  auto bad = some_links(3);
  bad[1].url = std::string(41, 'x');
  CHECK_THROWS_AS(links.bulk_create(bad), gocp::ValidationError);
  const auto second = tags.bulk_create({{0, "delta", 4, std::nullopt}});
  REQUIRE(second.size() == 1);
  CHECK(second[0].name == "delta");
  CHECK(second[0].note == std::nullopt);
  CHECK(second[0].uses == 4);

  std::vector<Code> nested;
  auto sub = db.changes().subscribe("app_tag", [&](const gocp::RowChange&) {
    if (nested.empty()) nested = codes.bulk_create({{"k2", "written by a handler, while the outer call runs"}});
  });
  const auto outer = tags.bulk_create({{0, "epsilon", 5, "outer note, long enough for the heap too"}});
  REQUIRE(outer.size() == 1);
  CHECK(outer[0].name == "epsilon");
  CHECK(outer[0].note == "outer note, long enough for the heap too");
  REQUIRE(nested.size() == 1);
  CHECK(nested[0].label == "written by a handler, while the outer call runs");

  const auto all = tags.all();
  REQUIRE(all.size() == 5);
  CHECK(all[1].name == "beta");
  CHECK(all[1].note == std::nullopt);
  CHECK(all[3].name == "delta");
  CHECK(all[4].note == "outer note, long enough for the heap too");
  CHECK(codes.count() == 2);
  CHECK(links.count() == 0);
}

TEST_CASE_METHOD(Fixture, "the default batch is what one statement can bind, and a larger batch_size is lowered to it",
                 "[bulk_create]") {
  if (gocp::test::testing_postgres()) return;  // SQLite's limit, lowered on the connection
  auto small = gocp::Database::open(dir.sqlite_url("small.db"), gocp::OpenOptions{.on_connect = [](gocp::Connection& conn) {
                                      sqlite3_limit(static_cast<sqlite3*>(conn.native_handle()),
                                                    SQLITE_LIMIT_VARIABLE_NUMBER, 10);
                                    }});
  gocp::Repository<Tag> limited{small};
  limited.create_table();
  // an auto key row writes 3 columns: 3 rows (9 parameters) per statement
  const auto queries = limited.stats().db_queries;
  CHECK(limited.bulk_create(some_tags(7)).size() == 7);
  CHECK(limited.stats().db_queries == queries + 3);
  CHECK(limited.bulk_create(some_tags(14), {.batch_size = 1000, .ignore_conflicts = true}).size() == 14);
  CHECK(limited.stats().db_queries == queries + 3 + 5);
  CHECK(limited.count() == 14);
}

TEST_CASE_METHOD(Fixture, "a cached repository answers the values a bulk upsert wrote, and an ignored conflict keeps its entry",
                 "[bulk_create][cached]") {
  using gocp::test::Country;
  const std::string url = gocp::test::cache_url();
  gocp::CacheRegistry caches{{"default", url}, {"geo.country", url}};
  gocp::Repository<Country, gocp::CachedGetOrCreate> countries{db, caches};
  countries.create_table();
  countries.get_or_create(c(&Country::code) == "FR", gocp::defaults(c(&Country::name) = "France"));
  countries.get_or_create(c(&Country::code) == "DE", gocp::defaults(c(&Country::name) = "Germany"));
  const auto warm = countries.stats();
  CHECK(countries.get_or_create(c(&Country::code) == "FR").first.name == "France");
  CHECK(countries.stats().db_queries == warm.db_queries);  // a hit

  // an upsert through another repository, without caches: the cache still hears it
  gocp::Repository<Country> plain{db};
  plain.bulk_create({{0, "FR", "Francia"}, {0, "IT", "Italia"}},
                    {.update_conflicts = gocp::update_conflicts(gocp::unique_fields(&Country::code),
                                                                gocp::update_fields(&Country::name))});
  CHECK(countries.get_or_create(c(&Country::code) == "FR").first.name == "Francia");

  // an ignored conflict writes nothing of DE: its entry stays, and is still a hit
  const auto before_ignore = countries.stats();
  const auto kept = countries.bulk_create({{0, "DE", "Deutschland"}, {0, "ES", "Spain"}}, {.ignore_conflicts = true});
  CHECK(kept[0].id == 0);
  const auto after_ignore = countries.stats();
  CHECK(after_ignore.invalidations == before_ignore.invalidations + 1);  // ES only
  CHECK(countries.get_or_create(c(&Country::code) == "DE").first.name == "Germany");
  CHECK(countries.stats().db_queries == after_ignore.db_queries);  // DE still a hit
  CHECK(countries.stats().hits > after_ignore.hits);
}
