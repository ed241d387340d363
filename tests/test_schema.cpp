// The table against the model (schema.hpp): last week's table meeting this week's model
// is an error naming what differs, never wrong data; sync_schema() adds what is missing
// and nothing else. Run per backend (one binary): test_schema on SQLite, test_schema_pg on PostgreSQL.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/database_url.hpp"
#include "support/temp_dir.hpp"

namespace {

// The same table, a week apart: v2 adds `plan`, with a default.
struct UserV1 {
  std::int64_t id = 0;
  std::string email;
};
struct UserV2 {
  std::int64_t id = 0;
  std::string email;
  std::string plan;
  int logins = 3;                   // NOT NULL, its default from the member initializer
  std::optional<std::string> note;  // nullable: added without a DEFAULT
};

struct Gadget {
  std::int64_t id = 0;
  std::string name;
};

// A link shortener's relations: links have tags (many-to-many) and clicks (a foreign key to the link).
struct ScTag {
  std::int64_t id = 0;
  std::string name;
};
struct ScLink {
  std::int64_t id = 0;
  std::string slug;
};
struct ScClick {
  std::int64_t id = 0;
  std::int64_t link_id = 0;
};

}  // namespace

template <>
struct gocp::model<ScTag> {
  static constexpr std::string_view name = "sc.tag";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&ScTag::id, "id"), gocp::field(&ScTag::name, "name", gocp::unique));
};
template <>
struct gocp::model<ScLink> {
  static constexpr std::string_view name = "sc.link";
  static constexpr auto tags = gocp::many_to_many<ScTag>("tags");
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&ScLink::id, "id"), gocp::field(&ScLink::slug, "slug", gocp::unique), tags);
};
template <>
struct gocp::model<ScClick> {
  static constexpr std::string_view name = "sc.click";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&ScClick::id, "id"),
      gocp::foreign_key(&ScClick::link_id, "link_id", gocp::references<ScLink>, gocp::on_delete::cascade));
};

template <>
struct gocp::model<Gadget> {
  static constexpr std::string_view name = "app.gadget";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Gadget::id, "id"), gocp::field(&Gadget::name, "name", gocp::unique));
};
template <>
struct gocp::model<UserV1> {
  static constexpr std::string_view name = "app.user";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&UserV1::id, "id"), gocp::field(&UserV1::email, "email", gocp::unique));
};
template <>
struct gocp::model<UserV2> {
  static constexpr std::string_view name = "app.user";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&UserV2::id, "id"), gocp::field(&UserV2::email, "email", gocp::unique),
      gocp::field(&UserV2::plan, "plan", gocp::default_value("free")), gocp::field(&UserV2::logins, "logins"),
      gocp::field(&UserV2::note, "note"));
};

namespace {

using gocp::c;

struct Fixture {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir));
  /// The backend's auto-increment key, for tables made by hand.
  std::string auto_key() const { return std::string(db.dialect().auto_primary_key); }
};

std::string message_of(auto&& fn) {
  try {
    fn();
  } catch (const gocp::ConfigurationError& e) {
    return e.what();
  }
  return "(no ConfigurationError)";
}

}  // namespace

TEST_CASE("a field added to the model is a ConfigurationError naming the table and column, until sync_schema adds it",
          "[schema]") {
  Fixture f;
  gocp::Repository<UserV1> last_week{f.db};
  last_week.create_table();
  last_week.create(UserV1{0, "a@x"});
  last_week.create(UserV1{0, "b@x"});

  gocp::Repository<UserV2> users{f.db};
  // every verb refuses, reads first: they are what returned plan == "plan" before
  const std::string read = message_of([&] { (void)users.filter(c(&UserV2::plan) == "pro").count(); });
  CHECK_THAT(read, Catch::Contains("table app_user does not match model app.user") &&
                       Catch::Contains("missing columns: plan, logins, note") && Catch::Contains("sync_schema()"));
  CHECK_THAT(message_of([&] { (void)users.all(); }), Catch::Contains("missing columns: plan, logins, note"));
  CHECK_THAT(message_of([&] { users.create_table(); }), Catch::Contains("missing columns: plan, logins, note"));

  const auto changes = users.sync_schema();
  CHECK_FALSE(changes.created_table);
  CHECK(changes.added_columns == std::vector<std::string>{"plan", "logins", "note"});
  CHECK(changes.added_indexes.empty());

  // the old rows hold the default object's values, as a create would have made them
  CHECK(users.filter(c(&UserV2::plan) == "pro").count() == 0);
  CHECK(users.filter(c(&UserV2::plan) == "free").count() == 2);
  const auto a = users.get(c(&UserV2::email) == "a@x");
  CHECK(a.plan == "free");
  CHECK(a.logins == 3);
  CHECK_FALSE(a.note.has_value());
  // and the new column works for writes
  users.filter(c(&UserV2::email) == "b@x").update(c(&UserV2::plan) = "pro");
  CHECK(users.filter(c(&UserV2::plan) == "pro").count() == 1);

  // a second sync changes nothing; a fresh repository checks and passes
  CHECK(users.sync_schema().empty());
  gocp::Repository<UserV2> again{f.db};
  CHECK(again.count() == 2);
}

TEST_CASE("a missing table is a ConfigurationError saying what to call, and sync_schema creates it", "[schema]") {
  Fixture f;
  gocp::Repository<UserV2> users{f.db};
  CHECK_THAT(message_of([&] { (void)users.count(); }),
             Catch::Contains("table app_user (model app.user) does not exist") && Catch::Contains("create_table()"));
  const auto changes = users.sync_schema();
  CHECK(changes.created_table);
  CHECK(users.get_or_create(c(&UserV2::email) == "n@x").second);
}

TEST_CASE("a table dropped after first use is an OperationalError on every backend, naming the table", "[schema]") {
  Fixture f;
  gocp::Repository<Gadget> gadgets{f.db};
  gadgets.create_table();
  gadgets.create(Gadget{0, "lamp"});
  CHECK(gadgets.count() == 1);  // checked and used: later statements trust the table is there
  f.db.execute("DROP TABLE app_gadget");
  // SQLite says "no such table", PostgreSQL SQLSTATE 42P01: one cause, one class
  try {
    (void)gadgets.count();
    FAIL("a read of a dropped table succeeded");
  } catch (const gocp::OperationalError& e) {
    CHECK_THAT(e.what(), Catch::Contains("app_gadget"));
    CHECK_FALSE(e.retryable());
  }
}

TEST_CASE("a column declared with a type that changes the model's values is a ConfigurationError sync_schema leaves",
          "[schema]") {
  Fixture f;
  // `logins` as text: SQLite would keep "3" as text and compare it as text; PostgreSQL
  // would refuse every write. `plan` as an integer: SQLite would turn "007" into 7.
  f.db.execute("CREATE TABLE app_user (id " + f.auto_key() + ", email TEXT NOT NULL UNIQUE, plan INTEGER NOT NULL, "
               "logins TEXT NOT NULL, note TEXT)");
  gocp::Repository<UserV2> users{f.db};
  const std::string error = message_of([&] { (void)users.count(); });
  CHECK_THAT(error, Catch::Contains("column plan is declared '") && Catch::Contains("cannot hold the model's text values"));
  CHECK_THAT(error, Catch::Contains("column logins is declared '") &&
                        Catch::Contains("cannot hold the model's integer values"));
  CHECK_THAT(error, Catch::Contains("needs a migration"));
  CHECK_THAT(message_of([&] { users.sync_schema(); }), Catch::Contains("column plan is declared"));
}

TEST_CASE("a unique set without a unique index is refused, sync_schema adds one, and get_or_create is race-free again",
          "[schema]") {
  Fixture f;
  // a table made by hand without the UNIQUE: get_or_create's IntegrityError would never come
  f.db.execute("CREATE TABLE app_user (id " + f.auto_key() + ", email TEXT NOT NULL, plan TEXT NOT NULL, "
               "logins INTEGER NOT NULL, note TEXT)");
  // indexes that do not make email unique for every row: on an expression, and partial
  f.db.execute("CREATE UNIQUE INDEX by_lower_email ON app_user (lower(email))");
  f.db.execute("CREATE UNIQUE INDEX pro_emails ON app_user (email) WHERE plan = 'pro'");
  gocp::Repository<UserV2> users{f.db};
  CHECK_THAT(message_of([&] { (void)users.count(); }),
             Catch::Contains("no unique index on (email), which get_or_create needs"));

  const auto changes = users.sync_schema();
  CHECK(changes.added_columns.empty());
  CHECK(changes.added_indexes == std::vector<std::string>{"app_user_email_uniq"});

  // the index is what makes the race end in one row per key
  constexpr int threads = 6, keys = 20;
  std::vector<std::thread> pool;
  std::vector<std::set<std::int64_t>> seen(keys);
  std::mutex seen_mutex;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      gocp::Repository<UserV2> mine{f.db};
      for (int k = 0; k < keys; ++k) {
        const auto [user, created] = mine.get_or_create(c(&UserV2::email) == "k" + std::to_string(k));
        std::lock_guard lock(seen_mutex);
        seen[static_cast<std::size_t>(k)].insert(user.id);
      }
    });
  for (auto& t : pool) t.join();
  CHECK(users.count() == keys);
  for (const auto& pks : seen) CHECK(pks.size() == 1);
}

TEST_CASE("sync_schema of a unique index the rows already break fails and changes nothing", "[schema]") {
  Fixture f;
  f.db.execute("CREATE TABLE app_user (id " + f.auto_key() + ", email TEXT NOT NULL)");
  f.db.execute("INSERT INTO app_user (id, email) VALUES (1, 'same'), (2, 'same')");
  gocp::Repository<UserV2> users{f.db};
  CHECK_THROWS_AS(users.sync_schema(), gocp::IntegrityError);
  // one transaction: the columns added before the index failed are gone again
  CHECK_THAT(message_of([&] { users.check_schema(); }), Catch::Contains("missing columns: plan, logins, note"));
}

TEST_CASE("a table with more columns than the model still matches, and a missing primary key is not added", "[schema]") {
  Fixture f;
  // extra nullable columns are the table's business: the model still matches
  f.db.execute("CREATE TABLE app_user (id " + f.auto_key() + ", email TEXT NOT NULL UNIQUE, legacy TEXT)");
  gocp::Repository<UserV1> v1{f.db};
  CHECK(v1.count() == 0);
  CHECK(v1.get_or_create(c(&UserV1::email) == "e@x").second);

  f.db.execute("CREATE TABLE app_gadget (name TEXT NOT NULL UNIQUE)");
  gocp::Repository<Gadget> gadgets{f.db};
  CHECK_THAT(message_of([&] { gadgets.sync_schema(); }),
             Catch::Contains("cannot add the primary key app_gadget.id to an existing table"));
}

TEST_CASE("a table is checked once per database and model: a repository made per request asks the catalogue nothing",
          "[schema]") {
  gocp::test::TempDir dir;
  const std::string url = gocp::test::database_url(dir);
  auto db = gocp::Database::open(url);
  gocp::Repository<Gadget> first{db};
  first.create_table();
  first.create(Gadget{0, "a"});
  db.execute("DROP TABLE app_gadget");  // behind gocp's back, after the check

  // a new repository of the model on this database trusts the check: its statement
  // reaches the database, which says the table is gone
  gocp::Repository<Gadget> per_request{db};
  CHECK_THROWS_AS((void)per_request.count(), gocp::DatabaseError);  // not the ConfigurationError of a check
  // asked, it checks again
  CHECK_THAT(message_of([&] { per_request.check_schema(); }), Catch::Contains("does not exist"));
  // and another database handle checks before its first statement
  gocp::Repository<Gadget> elsewhere{gocp::Database::open(url)};
  CHECK_THAT(message_of([&] { (void)elsewhere.count(); }), Catch::Contains("does not exist"));
}

TEST_CASE("a table a model's relations need is checked at first use, naming it, its model and the call that creates it",
          "[schema]") {
  gocp::test::TempDir dir;
  const std::string url = gocp::test::database_url(dir);
  struct {
    gocp::Database db;
  } f{gocp::Database::open(url)};
  {
    gocp::Repository<ScTag> tags{f.db};
    gocp::Repository<ScLink> links{f.db};
    gocp::Repository<ScClick> clicks{f.db};  // registers the foreign key to sc_link, which a delete of links cascades into
    tags.create_table();
    links.create_table();
    clicks.create_table();
    links.create(ScLink{0, "a"});
  }
  // what a later run meets when a table is gone: the first statement of a model that needs it is refused
  const auto after_dropping = [&](std::string_view table, auto repository) {
    f.db.execute("DROP TABLE " + std::string(table) + (gocp::test::testing_postgres() ? " CASCADE" : ""));
    auto db = gocp::Database::open(url);  // a new handle checks again
    decltype(repository) repo{db};
    return message_of([&] { (void)repo.count(); });
  };
  SECTION("a many-to-many target") {
    CHECK_THAT(after_dropping("sc_tag", gocp::Repository<ScLink>{f.db}),
               Catch::Contains("table sc_tag (model sc.tag, the target of sc.link.tags) does not exist: call "
                               "create_table() on a Repository of sc.tag (or sync_schema())"));
  }
  SECTION("a many-to-many through table") {
    CHECK_THAT(after_dropping("sc_link_tags", gocp::Repository<ScLink>{f.db}),
               Catch::Contains("table sc_link_tags (the through table of sc.link.tags) does not exist: call "
                               "create_table() on a Repository of sc.link"));
  }
  SECTION("a table whose foreign key points at the model's (a delete cascades into it)") {
    CHECK_THAT(after_dropping("sc_click", gocp::Repository<ScLink>{f.db}),
               Catch::Contains("table sc_click (which references sc.link through its column link_id") &&
                   Catch::Contains("does not exist"));
  }
  SECTION("a foreign key's target") {
    CHECK_THAT(after_dropping("sc_link", gocp::Repository<ScClick>{f.db}),
               Catch::Contains("table sc_link (model sc.link, referenced by sc.click.link_id) does not exist: call "
                               "create_table() on a Repository of sc.link"));
  }
}

TEST_CASE("tables may be created in any order, and a forgotten many-to-many target is refused before remove_all reaches it",
          "[schema]") {
  Fixture f;
  gocp::Repository<ScLink> links{f.db};
  gocp::Repository<ScTag> tags{f.db};
  if (!gocp::test::testing_postgres()) {  // PostgreSQL refuses a REFERENCES to a missing table at CREATE TABLE
    links.create_table();                 // before its target: fine, create_table checks only its own tables
    CHECK_THAT(message_of([&] { (void)links.filter(c(&ScLink::slug) == "a").remove_all(); }),
               Catch::Contains("table sc_tag (model sc.tag, the target of sc.link.tags) does not exist"));
  }
  tags.create_table();
  links.create_table();
  gocp::Repository<ScClick>{f.db}.create_table();
  links.create(ScLink{0, "a"});
  CHECK(links.filter(c(&ScLink::slug) == "a").remove_all() == 1);
  CHECK(links.count() == 0);
}
