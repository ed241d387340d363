// Repository verbs and Django's get_or_create / update_or_create semantics, ported from
// Django's tests/get_or_create/tests.py, against a real SQLite file.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/database_url.hpp"
#include "support/temp_dir.hpp"

namespace {

struct Person {
  std::int64_t id = 0;
  std::string first_name;
  std::string last_name;
  std::int64_t birthday = 0;  // days since 1970; required: no default_value
  std::optional<std::string> nickname;
};

struct ManualPk {
  std::int64_t id = 0;
  std::string data;
};

struct DefaultPerson {
  std::int64_t id = 0;
  std::string name;
};

struct Book {
  std::int64_t id = 0;
  std::string title;
  std::optional<std::string> store;
  double price = 0;
};

}  // namespace

template <>
struct gocp::model<Person> {
  static constexpr std::string_view name = "tests.person";
  static constexpr auto schema = gocp::table(gocp::primary_key(&Person::id, "id"),
                                             gocp::field(&Person::first_name, "first_name", gocp::max_length(100)),
                                             gocp::field(&Person::last_name, "last_name", gocp::max_length(100)),
                                             gocp::field(&Person::birthday, "birthday"),
                                             gocp::field(&Person::nickname, "nickname"),
                                             gocp::unique_together(&Person::first_name, &Person::last_name));
};

template <>
struct gocp::model<ManualPk> {
  static constexpr std::string_view name = "tests.manual_pk";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&ManualPk::id, "id", gocp::manual), gocp::field(&ManualPk::data, "data"));
};

template <>
struct gocp::model<DefaultPerson> {
  static constexpr std::string_view name = "tests.default_person";
  static constexpr auto schema = gocp::table(gocp::primary_key(&DefaultPerson::id, "id"),
                                             gocp::field(&DefaultPerson::name, "name", gocp::max_length(100),
                                                         gocp::unique, gocp::default_value("Ringo")));
};

template <>
struct gocp::model<Book> {
  static constexpr std::string_view name = "tests.book";
  static constexpr std::string_view table = "book_table";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Book::id, "id"), gocp::field(&Book::title, "title"),
                  gocp::field(&Book::store, "store"), gocp::field(&Book::price, "price", gocp::default_value(1.5)));
};

using gocp::c;

namespace {

struct Fixture {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir));  // SQLite, or PostgreSQL in _pg
  gocp::Repository<Person> people{db};
  gocp::Repository<ManualPk> manual{db};
  gocp::Repository<DefaultPerson> default_people{db};
  gocp::Repository<Book> books{db};
  Person lennon;

  Fixture() {
    people.create_table();
    manual.create_table();
    default_people.create_table();
    books.create_table();
    lennon = people.create({0, "John", "Lennon", -10'000, {}});
  }

  static gocp::Expr<Person> named(const std::string& first, const std::string& last) {
    return c(&Person::first_name) == first && c(&Person::last_name) == last;
  }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "get_or_create returns the existing object and false", "[get_or_create]") {
  auto [p, created] = people.get_or_create(named("John", "Lennon"), gocp::defaults(c(&Person::birthday) = 1));
  CHECK_FALSE(created);
  CHECK(p.id == lennon.id);
  CHECK(p.birthday == -10'000);  // defaults do not touch an existing row
  CHECK(people.count() == 1);
}

TEST_CASE_METHOD(Fixture, "get_or_create creates from the lookup overlaid by defaults", "[get_or_create]") {
  auto [p, created] = people.get_or_create(named("George", "Harrison"),
                                           gocp::defaults(c(&Person::birthday) = -9'800, c(&Person::nickname) = "G"));
  CHECK(created);
  CHECK(p.id != 0);
  CHECK(p.id != lennon.id);
  CHECK(p.first_name == "George");
  CHECK(p.last_name == "Harrison");
  CHECK(p.birthday == -9'800);
  CHECK(p.nickname == std::optional<std::string>("G"));
  CHECK(people.count() == 2);
  CHECK(people.get(c(&Person::id) == p.id).birthday == -9'800);

  SECTION("the same call again gets it") {
    auto [again, created_again] = people.get_or_create(named("George", "Harrison"),
                                                       gocp::defaults(c(&Person::birthday) = 0));
    CHECK_FALSE(created_again);
    CHECK(again.id == p.id);
    CHECK(people.count() == 2);
  }
}

TEST_CASE_METHOD(Fixture, "defaults win over the lookup's values on create", "[get_or_create]") {
  auto [p, created] = people.get_or_create(named("Paul", "McCartney"),
                                           gocp::defaults(c(&Person::birthday) = 3, c(&Person::last_name) = "Mc"));
  CHECK(created);
  CHECK(p.last_name == "Mc");
}

TEST_CASE_METHOD(Fixture, "only top-level equality terms become create values", "[get_or_create]") {
  auto lookup = c(&Person::first_name) == "Ann" && c(&Person::last_name) == "Lee" &&
                (c(&Person::birthday) == 1 || c(&Person::birthday) == 2) && c(&Person::nickname).is_null(false);
  auto [p, created] = people.get_or_create(lookup, gocp::defaults(c(&Person::birthday) = 3));
  CHECK(created);
  CHECK(p.birthday == 3);       // the OR'd values only filtered
  CHECK_FALSE(p.nickname);      // is_null(false) is a filter, not a value
}

TEST_CASE_METHOD(Fixture, "a create starts from the model's default object and writes every column",
                 "[get_or_create]") {
  // Django's Model(**params) takes each field's default: here the member initializers
  auto [tom, created] = people.get_or_create(named("Tom", "Smith"));
  CHECK(created);
  CHECK(tom.birthday == Person{}.birthday);
  CHECK_FALSE(tom.nickname);
  auto [made, again] = people.update_or_create(named("Tim", "Smith"));
  CHECK(again);
  CHECK(made.birthday == 0);
  CHECK(people.count() == 3);
}

TEST_CASE_METHOD(Fixture, "callable defaults run only when creating", "[get_or_create]") {
  int calls = 0;
  auto counted = [&] {
    ++calls;
    return std::int64_t{-9'800};
  };
  auto [hit, created_hit] = people.get_or_create(named("John", "Lennon"), gocp::defaults(c(&Person::birthday) = counted));
  CHECK_FALSE(created_hit);
  CHECK(calls == 0);
  CHECK_NOTHROW(people.get_or_create(
      named("John", "Lennon"),
      gocp::defaults(c(&Person::birthday) = []() -> std::int64_t { throw std::logic_error("must not be called"); })));

  auto [made, created] = people.get_or_create(named("George", "Harrison"), gocp::defaults(c(&Person::birthday) = counted));
  CHECK(created);
  CHECK(calls == 1);
  CHECK(made.birthday == -9'800);
}

TEST_CASE_METHOD(Fixture, "a duplicate manual primary key is an IntegrityError and data stays", "[get_or_create]") {
  manual.create({1, "Original"});
  auto lookup = c(&ManualPk::id) == 1 && c(&ManualPk::data) == "Different";
  CHECK_THROWS_AS(manual.get_or_create(lookup), gocp::IntegrityError);
  CHECK(manual.get(c(&ManualPk::id) == 1).data == "Original");
  CHECK_THROWS_AS(manual.update_or_create(lookup), gocp::IntegrityError);
  CHECK(manual.get(c(&ManualPk::id) == 1).data == "Original");
  CHECK(manual.count() == 1);
}

TEST_CASE_METHOD(Fixture, "an empty lookup creates from schema defaults", "[get_or_create]") {
  auto anything = default_people.allow_non_unique_lookups();
  auto [p, created] = anything.get_or_create(gocp::Expr<DefaultPerson>{});
  CHECK(created);
  CHECK(p.name == "Ringo");
  auto [again, created_again] = anything.get_or_create(gocp::Expr<DefaultPerson>{});
  CHECK_FALSE(created_again);
  CHECK(again.id == p.id);
}

TEST_CASE_METHOD(Fixture, "the lookup applies on top of the repository's filters, OR included", "[get_or_create]") {
  auto beatles_or_tolstoys = people.filter(c(&Person::last_name) == "Lennon" || c(&Person::last_name) == "Tolstoy");
  auto [p, created] = beatles_or_tolstoys.get_or_create(named("John", "Lennon"));
  CHECK_FALSE(created);
  CHECK(p.id == lennon.id);

  SECTION("a row outside the filters is not found; creating it collides and the IntegrityError surfaces") {
    auto others = people.exclude(c(&Person::last_name) == "Lennon");
    CHECK_THROWS_AS(others.get_or_create(named("John", "Lennon"), gocp::defaults(c(&Person::birthday) = 1)),
                    gocp::IntegrityError);
    CHECK(people.count() == 1);
  }
}

TEST_CASE_METHOD(Fixture, "a lookup no unique constraint covers is refused unless allowed", "[get_or_create]") {
  try {
    people.get_or_create(c(&Person::first_name) == "John");
    FAIL("expected ConfigurationError");
  } catch (const gocp::ConfigurationError& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("tests.person") && Catch::Contains("first_name") &&
                         Catch::Contains("allow_non_unique_lookups"));
  }
  CHECK_THROWS_AS(people.update_or_create(c(&Person::birthday) == 1), gocp::ConfigurationError);
  // an OR does not fix a value, so it covers nothing
  CHECK_THROWS_AS(people.get_or_create(c(&Person::first_name) == "John" &&
                                       (c(&Person::last_name) == "Lennon" || c(&Person::last_name) == "L")),
                  gocp::ConfigurationError);
  // the primary key alone covers
  CHECK_FALSE(people.get_or_create(c(&Person::id) == lennon.id).second);

  auto [p, created] = people.allow_non_unique_lookups().get_or_create(c(&Person::first_name) == "John");
  CHECK_FALSE(created);
  CHECK(p.id == lennon.id);
}

TEST_CASE_METHOD(Fixture, "get: DoesNotExist, MultipleObjectsReturned with the count", "[get]") {
  CHECK_THROWS_WITH(people.get(named("No", "Body")), "tests.person matching query does not exist.");
  CHECK_FALSE(people.find(named("No", "Body")).has_value());
  CHECK(people.find(named("John", "Lennon"))->id == lennon.id);

  people.create({0, "Sean", "Lennon", 1, {}});
  CHECK_THROWS_WITH(people.get(c(&Person::last_name) == "Lennon"),
                    "get() returned more than one tests.person -- it returned 2!");
  CHECK_THROWS_AS(people.find(c(&Person::last_name) == "Lennon"), gocp::MultipleObjectsReturned);
  CHECK_THROWS_AS(people.allow_non_unique_lookups().get_or_create(c(&Person::last_name) == "Lennon"),
                  gocp::MultipleObjectsReturned);

  for (int i = 0; i < 30; ++i) people.create({0, "Kid" + std::to_string(i), "Many", i, {}});
  try {
    people.get(c(&Person::last_name) == "Many");
    FAIL("expected MultipleObjectsReturned");
  } catch (const gocp::MultipleObjectsReturned& e) {
    CHECK(std::string(e.what()) == "get() returned more than one tests.person -- it returned more than 20!");
    CHECK(e.count() == 21);
  }
}

// get(), find() and get_or_create's SELECT, and create's INSERT, are prepared once per
// connection under a key of the statement's shape (orm/detail/statement_shape.hpp): each
// shape below must keep its own SQL, and each call bind its own values, however the
// shapes alternate on one connection.
TEST_CASE_METHOD(Fixture, "statements reused by shape: each shape keeps its own SQL, each call its own values",
                 "[get][statements]") {
  people.create({0, "Paul", "McCartney", 5, "Macca"});
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    // one shape, other values
    CHECK(people.find(named("Paul", "McCartney"))->birthday == 5);
    CHECK(people.find(named("John", "Lennon"))->id == lennon.id);
    CHECK_FALSE(people.find(named("John", "McCartney")).has_value());
    // `== nullopt` is IS NULL and `== value` is `= ?`: one column, two shapes
    CHECK(people.find(c(&Person::last_name) == "Lennon" && c(&Person::nickname) == std::nullopt)->id == lennon.id);
    CHECK_FALSE(people.find(c(&Person::last_name) == "Lennon" && c(&Person::nickname) == "Macca").has_value());
    CHECK(people.find(c(&Person::last_name) == "McCartney" && c(&Person::nickname) == "Macca")->first_name == "Paul");
    CHECK_FALSE(people.find(c(&Person::last_name) == "McCartney" && c(&Person::nickname) == std::nullopt).has_value());
    CHECK(people.find(c(&Person::nickname) != std::nullopt)->first_name == "Paul");
    CHECK(people.find(c(&Person::nickname) != "Macca")->id == lennon.id);  // NULL-safe: Lennon's NULL differs
    // IN lists of each size are their own statement
    CHECK(people.find(c(&Person::first_name).in({"Paul"}))->last_name == "McCartney");
    CHECK_THROWS_AS(people.find(c(&Person::first_name).in({"John", "Paul"})), gocp::MultipleObjectsReturned);
    CHECK_FALSE(people.find(c(&Person::first_name).in(std::vector<std::string>{})).has_value());
    // the same terms under AND, OR and NOT, and through a filtered repository
    CHECK(people.find(c(&Person::first_name) == "John" || c(&Person::first_name) == "Nobody")->id == lennon.id);
    CHECK(people.find(!(c(&Person::first_name) == "John"))->first_name == "Paul");
    CHECK(people.filter(c(&Person::birthday) < 0).find(c(&Person::last_name) == "Lennon")->id == lennon.id);
    CHECK_FALSE(people.filter(c(&Person::birthday) > 0).find(c(&Person::last_name) == "Lennon").has_value());
    CHECK(people.get_or_create(named("John", "Lennon")).first.id == lennon.id);
  }
  // an INSERT that names the key and one that leaves it to the database
  const Person ringo = people.create({4242, "Ringo", "Starr", 7, {}});
  const Person george = people.create({0, "George", "Harrison", 8, {}});
  const Person pete = people.create({4343, "Pete", "Best", 9, {}});
  CHECK(ringo.id == 4242);
  CHECK(pete.id == 4343);
  CHECK(george.id != 0);
  CHECK(people.get(c(&Person::id) == george.id).first_name == "George");
  CHECK(people.get(c(&Person::id) == 4242).first_name == "Ringo");
}

TEST_CASE_METHOD(Fixture, "update_or_create updates only the defaulted fields", "[update_or_create]") {
  people.filter(c(&Person::id) == lennon.id).update(c(&Person::nickname) = "Johnny");  // another writer's change
  auto [p, created] = people.update_or_create(named("John", "Lennon"), gocp::defaults(c(&Person::birthday) = 42));
  CHECK_FALSE(created);
  CHECK(p.id == lennon.id);
  CHECK(p.birthday == 42);
  CHECK(p.nickname == std::optional<std::string>("Johnny"));  // returned as stored, not as first read
  const Person stored = people.get(c(&Person::id) == lennon.id);
  CHECK(stored.birthday == 42);
  CHECK(stored.nickname == std::optional<std::string>("Johnny"));
}

TEST_CASE_METHOD(Fixture, "update_or_create creates, then updates on the second call", "[update_or_create]") {
  auto [p, created] = people.update_or_create(named("George", "Harrison"), gocp::defaults(c(&Person::birthday) = 7));
  CHECK(created);
  CHECK(p.birthday == 7);
  auto [q, created_again] = people.update_or_create(named("George", "Harrison"), gocp::defaults(c(&Person::birthday) = 8));
  CHECK_FALSE(created_again);
  CHECK(q.id == p.id);
  CHECK(q.birthday == 8);
  CHECK(people.count() == 2);

  SECTION("no defaults: a hit changes nothing") {
    auto [r, c3] = people.update_or_create(named("George", "Harrison"));
    CHECK_FALSE(c3);
    CHECK(r.birthday == 8);
  }
}

TEST_CASE_METHOD(Fixture, "update_or_create: create_defaults on create, defaults on update", "[update_or_create]") {
  auto [p, created] = people.update_or_create(named("Ringo", "Starr"),
                                              gocp::defaults(c(&Person::birthday) = 1, c(&Person::nickname) = "upd"),
                                              gocp::create_defaults(c(&Person::birthday) = 2));
  CHECK(created);
  CHECK(p.birthday == 2);
  CHECK_FALSE(p.nickname);  // defaults are ignored on create when create_defaults are given

  auto [q, created_again] = people.update_or_create(
      named("Ringo", "Starr"), gocp::defaults(c(&Person::nickname) = "upd"),
      gocp::create_defaults(c(&Person::birthday) = [&]() -> std::int64_t { throw std::logic_error("create only"); }));
  CHECK_FALSE(created_again);
  CHECK(q.birthday == 2);
  CHECK(q.nickname == std::optional<std::string>("upd"));
}

TEST_CASE_METHOD(Fixture, "update_or_create evaluates a callable default", "[update_or_create]") {
  auto [p, created] = people.update_or_create(named("George", "Harrison"),
                                              gocp::defaults(c(&Person::birthday) = [] { return std::int64_t{99}; }));
  CHECK(created);
  CHECK(p.birthday == 99);
}

TEST_CASE_METHOD(Fixture, "a get_or_create inside a rolled-back transaction leaves nothing", "[get_or_create][transaction]") {
  CHECK_THROWS_AS(db.atomic([&] {
                    CHECK(people.get_or_create(named("Ghost", "Row"), gocp::defaults(c(&Person::birthday) = 1)).second);
                    CHECK(people.count() == 2);  // its own write is visible inside
                    throw std::runtime_error("abort");
                  }),
                  std::runtime_error);
  CHECK(people.count() == 1);
  CHECK_FALSE(people.find(named("Ghost", "Row")));
}

TEST_CASE_METHOD(Fixture, "create, save, remove", "[verbs]") {
  Person p{0, "Yoko", "Ono", 5, {}};
  people.save(p);  // insert: sets the key
  CHECK(p.id != 0);
  p.nickname = "Y";
  people.save(p);  // update
  CHECK(people.get(c(&Person::id) == p.id).nickname == std::optional<std::string>("Y"));
  CHECK(people.count() == 2);

  ManualPk m{7, "seven"};
  manual.save(m);  // a manual key with no row: inserted
  m.data = "SEVEN";
  manual.save(m);
  CHECK(manual.get(c(&ManualPk::id) == 7).data == "SEVEN");
  CHECK(manual.count() == 1);

  CHECK(people.remove(p));
  CHECK_FALSE(people.remove(p));
  CHECK_FALSE(people.find(c(&Person::id) == p.id));
  CHECK_THROWS_AS(people.create({0, "John", "Lennon", 1, {}}), gocp::IntegrityError);  // unique_together holds
}

TEST_CASE_METHOD(Fixture, "save of an existing row: one UPDATE in no transaction of its own, its change seen on return",
                 "[verbs]") {
  std::vector<gocp::RowChange> seen;
  auto subscription = db.changes().subscribe(people.info().table, [&](const gocp::RowChange& change) { seen.push_back(change); });
  Person p = lennon;
  p.nickname = "J";
  const auto queries = people.stats().db_queries;
  const auto transactions = db.transactions_begun();
  people.save(p);
  CHECK(people.stats().db_queries == queries + 1);  // the UPDATE alone
  CHECK(db.transactions_begun() == transactions);
  REQUIRE(seen.size() == 1);  // delivered before save returned
  CHECK(seen[0].pk == gocp::Value{lennon.id});
  CHECK(seen[0].had_row);
  REQUIRE(seen[0].after);
  CHECK((*seen[0].after)[4] == gocp::Value{std::string("J")});
  CHECK(people.get(c(&Person::id) == lennon.id).nickname == std::optional<std::string>("J"));

  ManualPk m{8, "eight"};  // no row has the key: the update and the insert in one transaction
  manual.save(m);
  CHECK(db.transactions_begun() == transactions + 1);
  CHECK(manual.get(c(&ManualPk::id) == 8).data == "eight");
}

TEST_CASE_METHOD(Fixture, "a change says what it did, and carries values only while the stream has a subscriber",
                 "[verbs][transaction]") {
  gocp::Transaction tx{db};
  const Person made = people.create({0, "Ringo", "Starr", 4, {}});  // nobody subscribed yet: no values copied
  std::vector<gocp::RowChange> seen;
  auto subscription = db.changes().subscribe(people.info().table, [&](const gocp::RowChange& change) { seen.push_back(change); });
  Person renamed = made;
  renamed.nickname = "R";
  people.save(renamed);  // subscribed now: its values are there
  tx.commit();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].pk == gocp::Value{made.id});
  CHECK(seen[0].is_insert());  // what the write did is known without the values
  CHECK_FALSE(seen[0].after);
  CHECK(seen[1].had_row);
  CHECK(seen[1].has_row);
  REQUIRE(seen[1].after);
  CHECK((*seen[1].after)[4] == gocp::Value{std::string("R")});
}

TEST_CASE_METHOD(Fixture, "filter, exclude, all, count, exists, update, remove_all, in_bulk", "[verbs]") {
  const Book a = books.create({0, "Anna Karenina", "Amazon", 10});
  const Book b = books.create({0, "War and Peace", std::nullopt, 20});
  const Book d = books.create({0, "100% _real_", "Kiosk", 30});

  CHECK(books.count() == 3);
  CHECK(books.all().size() == 3);
  CHECK(books.all()[0].id == a.id);  // by primary key
  CHECK(books.filter(c(&Book::price) > 15.0).count() == 2);
  CHECK(books.filter(c(&Book::price) >= 20 && c(&Book::price) <= 20).count() == 1);
  CHECK(books.filter(c(&Book::price) < 15).all().at(0).id == a.id);
  CHECK(books.filter(c(&Book::title).in({"War and Peace", "Nope"})).count() == 1);
  CHECK(books.filter(c(&Book::title).in(std::vector<std::string>{})).count() == 0);
  CHECK(books.exclude(c(&Book::title).in(std::vector<std::string>{})).count() == 3);
  CHECK(books.filter(c(&Book::store).is_null()).all().at(0).id == b.id);
  CHECK(books.filter(c(&Book::store) == std::nullopt).count() == 1);
  CHECK(books.filter(c(&Book::store) != std::nullopt).count() == 2);
  // exclude keeps rows whose column is NULL, as Django's exclude() does
  CHECK(books.exclude(c(&Book::store) == "Amazon").count() == 2);
  CHECK(books.filter(c(&Book::store) != "Amazon").count() == 2);
  CHECK(books.filter(!(c(&Book::store) == "Amazon")).count() == 2);
  CHECK(books.filter(c(&Book::title).startswith("War")).count() == 1);
  CHECK(books.filter(c(&Book::title).startswith("war")).count() == 0);  // case-sensitive
  CHECK(books.filter(c(&Book::title).startswith("100%")).count() == 1);
  CHECK(books.filter(c(&Book::title).contains("% _r")).count() == 1);
  CHECK(books.filter(c(&Book::title).contains("_x")).count() == 0);  // '_' is literal, not a wildcard
  CHECK(books.filter(c(&Book::title).endswith("Peace")).count() == 1);
  CHECK(books.filter(c(&Book::title).like("%and%")).count() == 1);
  CHECK(books.filter(c(&Book::store) == "Kiosk").exists());
  CHECK_FALSE(books.filter(c(&Book::store) == "Nowhere").exists());

  // chained filters narrow
  CHECK(books.filter(c(&Book::price) > 5.0).filter(c(&Book::price) < 25.0).exclude(c(&Book::id) == a.id).count() == 1);

  CHECK(books.filter(c(&Book::price) >= 20.0).update(c(&Book::store) = "Sold", c(&Book::price) = 1.0) == 2);
  CHECK(books.filter(c(&Book::store) == "Sold").count() == 2);

  auto bulk = books.in_bulk({a.id, d.id, 12345});
  CHECK(bulk.size() == 2);
  CHECK(bulk.at(a.id).title == "Anna Karenina");
  CHECK(bulk.at(d.id).title == "100% _real_");
  CHECK(books.filter(c(&Book::id) != a.id).in_bulk(std::vector<std::int64_t>{a.id, b.id}).size() == 1);

  std::vector<std::int64_t> many;
  for (std::int64_t i = 0; i < 1200; ++i) many.push_back(i);  // past one IN chunk
  CHECK(books.in_bulk(many).size() == 3);

  CHECK(books.filter(c(&Book::store) == "Sold").remove_all() == 2);
  CHECK(books.count() == 1);
  CHECK(books.remove_all() == 1);
  CHECK(books.count() == 0);
}

TEST_CASE_METHOD(Fixture, "a schema default applies when a create does not set the field", "[verbs]") {
  auto [b, created] = books.allow_non_unique_lookups().get_or_create(c(&Book::title) == "Priced");
  CHECK(created);
  CHECK(b.price == 1.5);
  CHECK_FALSE(b.store);
}

TEST_CASE_METHOD(Fixture, "max_length is a ValidationError naming the field, and nothing is written", "[validation]") {
  const std::string long_name(101, 'x');
  try {
    people.get_or_create(named(long_name, "Long"), gocp::defaults(c(&Person::birthday) = 1));
    FAIL("expected ValidationError");
  } catch (const gocp::ValidationError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("tests.person.first_name") && Catch::Contains("101") &&
                                          Catch::Contains("100"));
  }
  CHECK_THROWS_AS(people.filter(c(&Person::id) == lennon.id).update(c(&Person::last_name) = long_name),
                  gocp::ValidationError);
  CHECK(people.count() == 1);
  CHECK(people.get(c(&Person::id) == lennon.id).last_name == "Lennon");
}

TEST_CASE_METHOD(Fixture, "create_table is idempotent and honours the table override", "[schema]") {
  CHECK_NOTHROW(people.create_table());
  CHECK_NOTHROW(books.create_table());
  CHECK(books.info().table == "book_table");
  CHECK(people.info().table == "tests_person");
  std::int64_t tables = 0;
  db.with_connection([&](gocp::Connection& conn) {
    const gocp::Value name{std::string("book_table")};
    const bool pg = db.dialect().name == "postgresql";  // the same check, in each backend's catalog
    conn.query(pg ? "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() "
                    "AND table_name = $1"
                  : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
               {&name, 1},
               [&](const gocp::Row& row) {
                 tables = row.integer(0);
                 return false;
               });
  });
  CHECK(tables == 1);
}

namespace {
struct Unlisted {
  std::int64_t id = 0;
  std::string listed;
  std::string not_in_schema;
};
}  // namespace
template <>
struct gocp::model<Unlisted> {
  static constexpr std::string_view name = "tests.unlisted";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Unlisted::id, "id"), gocp::field(&Unlisted::listed, "listed"));
};

TEST_CASE("a member the schema does not list is a ConfigurationError naming the model", "[query]") {
  CHECK_THROWS_WITH(c(&Unlisted::not_in_schema), Catch::Contains("tests.unlisted"));
  CHECK_NOTHROW(c(&Unlisted::listed));
}
