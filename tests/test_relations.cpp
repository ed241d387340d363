// Relations: foreign keys (DDL, on_delete, related repositories, forward reads,
// select_related) and many-to-many (through table, add/remove/clear/set, get_or_create
// within the relation), with Django's own related-manager cases
// (tests/get_or_create/tests.py, tests/many_to_many/tests.py, tests/delete/tests.py).
// Run per database (one binary): test_relations (SQLite file) and test_relations_pg (PostgreSQL).

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/database_url.hpp"
#include "support/relation_models.hpp"
#include "support/temp_dir.hpp"

using gocp::c;
using namespace rel;

namespace {

struct Db {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir));
};

/// Django's tests/get_or_create models, tables created (targets first).
struct Library : Db {
  gocp::Repository<Publisher> publishers{db};
  gocp::Repository<Author> authors{db};
  gocp::Repository<Book> books{db};
  gocp::Repository<Tag> tags{db};
  gocp::Repository<Thing> things{db};
  Library() {
    publishers.create_table();
    authors.create_table();
    books.create_table();
    tags.create_table();
    things.create_table();
  }
  auto book_authors(const Book& b) const { return gocp::related(authors, b, gocp::model<Book>::authors); }
  auto author_books(const Author& a) const { return gocp::related(books, a, gocp::model<Book>::authors); }
};

struct Family : Db {
  gocp::Repository<Parent> parents{db};
  gocp::Repository<Child> children{db};
  gocp::Repository<Pet> pets{db};
  gocp::Repository<Guard> guards{db};
  gocp::Repository<Toy> toys{db};
  Family() {
    parents.create_table();
    children.create_table();
    pets.create_table();
    guards.create_table();
    toys.create_table();
  }
};

/// Records every change of a table, as delivered.
struct Recorder {
  std::vector<gocp::RowChange> seen;
  std::shared_ptr<void> subscription;
  Recorder(const gocp::Database& db, std::string table)
      : subscription(db.changes().subscribe(std::move(table), [this](const gocp::RowChange& ch) { seen.push_back(ch); })) {}
  std::size_t deletes() const {
    return static_cast<std::size_t>(std::count_if(seen.begin(), seen.end(), [](const auto& ch) { return ch.is_delete(); }));
  }
  std::size_t inserts() const {
    return static_cast<std::size_t>(std::count_if(seen.begin(), seen.end(), [](const auto& ch) { return ch.is_insert(); }));
  }
};

template <class T>
std::vector<std::string> names(const std::vector<T>& objs) {
  std::vector<std::string> out;
  for (const T& o : objs) out.push_back(o.name);
  std::sort(out.begin(), out.end());
  return out;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

struct Different {  // Child's layout without the foreign key: its hash must differ
  std::int64_t id = 0;
  std::int64_t parent_id = 0;
  std::string name;
};
struct NoAuthors {  // Book's layout without the many_to_many
  std::int64_t id = 0;
  std::string name;
  std::int64_t publisher_id = 0;
};

}  // namespace

template <>
struct gocp::model<Different> {
  static constexpr std::string_view name = "rel.child";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Different::id, "id"), gocp::field(&Different::parent_id, "parent_id"),
                  gocp::field(&Different::name, "name"), gocp::unique_together(&Different::parent_id, &Different::name));
};
template <>
struct gocp::model<NoAuthors> {
  static constexpr std::string_view name = "gc.book";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&NoAuthors::id, "id"), gocp::field(&NoAuthors::name, "name"),
      gocp::foreign_key(&NoAuthors::publisher_id, "publisher_id", gocp::references<Publisher>, gocp::on_delete::cascade),
      gocp::unique_together(&NoAuthors::publisher_id, &NoAuthors::name));
};

// ---- schema --------------------------------------------------------------------------

TEST_CASE("the schema hash covers foreign keys and many-to-many relations", "[schema]") {
  STATIC_REQUIRE(gocp::schema_hash<Child> != gocp::schema_hash<Different>);
  STATIC_REQUIRE(gocp::schema_hash<Book> != gocp::schema_hash<NoAuthors>);
}

TEST_CASE_METHOD(Db, "DDL: REFERENCES with ON DELETE, an index per foreign key, Django's through table", "[schema]") {
  const auto child = gocp::detail::schema_sql(db.dialect(), gocp::model_info<Child>());
  REQUIRE(child.size() == 2);
  CHECK(contains(child[0], "NOT NULL CONSTRAINT \"rel_child_parent_id_fk\" REFERENCES "
                           "\"rel_parent\" (\"id\") ON DELETE CASCADE"));
  CHECK(contains(child[1], "CREATE INDEX IF NOT EXISTS \"rel_child_parent_id_idx\" ON \"rel_child\" (\"parent_id\")"));
  CHECK(contains(gocp::detail::schema_sql(db.dialect(), gocp::model_info<Pet>())[0], "ON DELETE SET NULL"));
  CHECK(contains(gocp::detail::schema_sql(db.dialect(), gocp::model_info<Guard>())[0], "ON DELETE RESTRICT"));
  CHECK(contains(gocp::detail::schema_sql(db.dialect(), gocp::model_info<Song>())[0],
                 "REFERENCES \"del_artist\" (\"id\") ON DELETE NO ACTION DEFERRABLE INITIALLY IMMEDIATE"));
  CHECK(gocp::model_info<Pet>().columns[1].nullable);

  const auto book = gocp::detail::schema_sql(db.dialect(), gocp::model_info<Book>());
  REQUIRE(book.size() == 5);  // table + index, through table + two indexes
  CHECK(contains(book[2], "CREATE TABLE IF NOT EXISTS \"gc_book_authors\""));
  CHECK(contains(book[2], "NOT NULL CONSTRAINT \"gc_book_authors_book_id_fk\" REFERENCES "
                          "\"gc_book\" (\"id\") ON DELETE CASCADE"));
  CHECK(contains(book[2], "REFERENCES \"gc_author\" (\"id\") ON DELETE CASCADE"));
  CHECK(contains(book[2], "UNIQUE (\"book_id\", \"author_id\")"));
  CHECK(contains(book[4], "\"gc_book_authors_author_id_idx\""));
  CHECK(gocp::model_info<Book>().many_to_many.at(0).through->table == "gc_book_authors");
  CHECK(gocp::detail::schema_sql(db.dialect(), gocp::model_info<Group>()).size() == 1);  // an explicit through: not here
}

TEST_CASE("a long index name is shortened with a hash, never silently truncated", "[schema]") {
  const std::string a = gocp::detail::index_name(std::string(70, 't'), "column_a");
  const std::string b = gocp::detail::index_name(std::string(70, 't'), "column_b");
  CHECK(a.size() == 63);
  CHECK(a != b);
  CHECK(gocp::detail::index_name("t", "c") == "t_c_idx");
}

TEST_CASE_METHOD(Family, "the database enforces a foreign key: a child of no parent is IntegrityError", "[fk]") {
  CHECK_THROWS_AS(children.create(Child{0, 12345, "orphan"}), gocp::IntegrityError);
  CHECK(children.count() == 0);
  CHECK(toys.count() == 0);
}

// ---- on_delete ---------------------------------------------------------------------------

TEST_CASE_METHOD(Family, "on_delete::cascade deletes children and grandchildren, each a RowChange of its table",
                 "[fk][on_delete][changes]") {
  const Parent p = parents.create({0, "p"});
  const Parent other = parents.create({0, "other"});
  const Child a = gocp::related(children, p).create({0, 0, "a"});
  gocp::related(children, p).create({0, 0, "b"});
  const Child kept = gocp::related(children, other).create({0, 0, "a"});
  gocp::related(toys, a).create({0, 0, "ball"});
  Recorder child_changes(db, "rel_child"), toy_changes(db, "rel_toy"), parent_changes(db, "rel_parent");
  CHECK(parents.remove(p));
  CHECK(parent_changes.deletes() == 1);
  CHECK(child_changes.deletes() == 2);
  REQUIRE(toy_changes.deletes() == 1);
  CHECK((*toy_changes.seen[0].before)[2] == gocp::Value{std::string("ball")});
  CHECK(children.all().size() == 1);
  CHECK(children.all()[0].id == kept.id);
  CHECK(toys.count() == 0);
  // a bulk delete cascades too
  CHECK(parents.filter(c(&Parent::name) == "other").remove_all() == 1);
  CHECK(child_changes.deletes() == 3);
  CHECK(children.count() == 0);
}

TEST_CASE_METHOD(Family, "cascade changes inside a transaction arrive at its commit, and not at all on rollback",
                 "[fk][on_delete][changes]") {
  const Parent p = parents.create({0, "p"});
  gocp::related(children, p).create({0, 0, "a"});
  Recorder child_changes(db, "rel_child");
  CHECK_THROWS_AS(db.atomic([&] {
                    parents.remove(p);
                    CHECK(child_changes.seen.empty());
                    throw std::runtime_error("roll back");
                  }),
                  std::runtime_error);
  CHECK(child_changes.seen.empty());
  CHECK(children.count() == 1);
  db.atomic([&] { parents.remove(p); });
  CHECK(child_changes.deletes() == 1);
}

TEST_CASE_METHOD(Family, "on_delete::set_null clears the column, reported as an update of the child", "[fk][on_delete]") {
  const Parent p = parents.create({0, "p"});
  const Pet rex = pets.create({0, p.id, "rex"});
  const Pet stray = pets.create({0, std::nullopt, "stray"});
  CHECK(gocp::parent_of(parents, rex).value().id == p.id);
  CHECK_FALSE(gocp::parent_of(parents, stray).has_value());
  CHECK(gocp::related(pets, p).count() == 1);
  Recorder pet_changes(db, "rel_pet");
  parents.remove(p);
  REQUIRE(pet_changes.seen.size() == 1);
  const gocp::RowChange& ch = pet_changes.seen[0];
  CHECK(ch.had_row);
  CHECK(ch.pk == gocp::Value{rex.id});
  CHECK((*ch.before)[1] == gocp::Value{p.id});
  CHECK(std::holds_alternative<std::monostate>((*ch.after)[1]));
  CHECK_FALSE(pets.get(c(&Pet::name) == "rex").owner_id.has_value());
  CHECK(pets.count() == 2);
}

TEST_CASE_METHOD(Family, "on_delete::protect refuses the delete with IntegrityError while a child exists",
                 "[fk][on_delete]") {
  const Parent p = parents.create({0, "p"});
  gocp::related(children, p).create({0, 0, "a"});
  const Guard g = guards.create({0, p.id});
  Recorder child_changes(db, "rel_child");
  CHECK_THROWS_AS(parents.remove(p), gocp::IntegrityError);
  CHECK(parents.count() == 1);
  CHECK(children.count() == 1);   // the cascade was rolled back with the delete
  CHECK(child_changes.seen.empty());  // and so were its changes
  guards.remove(g);
  CHECK(parents.remove(p));
  CHECK(child_changes.deletes() == 1);
}

// Django tests/delete: test_restrict_path_cascade_indirect / _direct, test_protect.
TEST_CASE_METHOD(Db, "on_delete::restrict lets a cascade of the same delete remove the child, as Django's RESTRICT",
                 "[fk][on_delete]") {
  gocp::Repository<Artist> artists{db};
  gocp::Repository<Album> albums{db};
  gocp::Repository<Song> songs{db};
  artists.create_table();
  albums.create_table();
  songs.create_table();
  const Artist a = artists.create({0, "a"});
  const Artist b = artists.create({0, "b"});
  const Album a_album = albums.create({0, a.id});
  const Album b_album = albums.create({0, b.id});
  songs.create({0, a_album.id, a.id});  // reached through the cascade from a to its album
  CHECK(artists.remove(a));
  CHECK(songs.count() == 0);
  CHECK(albums.count() == 1);

  // a song of b's album whose artist is c: deleting c would leave it -> refused
  const Artist c_artist = artists.create({0, "c"});
  songs.create({0, b_album.id, c_artist.id});
  CHECK_THROWS_AS(artists.remove(c_artist), gocp::IntegrityError);
  CHECK(artists.count() == 2);
  CHECK(songs.count() == 1);
}

// ---- reverse foreign key: a related repository --------------------------------------------

TEST_CASE_METHOD(Family, "a related repository filters reads, seeds creates and covers the unique check", "[related]") {
  const Parent p = parents.create({0, "p"});
  const Parent q = parents.create({0, "q"});
  auto p_kids = gocp::related(children, p);
  auto q_kids = gocp::related(children, &Child::parent_id, q);
  auto [a, created] = p_kids.get_or_create(c(&Child::name) == "a");  // (parent_id, name) is unique: no error
  CHECK(created);
  CHECK(a.parent_id == p.id);
  auto [again, created_again] = p_kids.get_or_create(c(&Child::name) == "a");
  CHECK_FALSE(created_again);
  CHECK(again.id == a.id);
  auto [qa, q_created] = q_kids.get_or_create(c(&Child::name) == "a");
  CHECK(q_created);
  CHECK(qa.parent_id == q.id);
  CHECK(qa.id != a.id);
  CHECK(p_kids.count() == 1);
  CHECK(q_kids.all().size() == 1);
  // a create through the relation writes the parent whatever the object says (Django injects it)
  CHECK(p_kids.create({0, q.id, "b"}).parent_id == p.id);
  CHECK(p_kids.count() == 2);
  // update_or_create through the relation (Django's test_update_with_related_manager)
  auto [renamed, created_u] = p_kids.update_or_create(c(&Child::id) == a.id, gocp::defaults(c(&Child::name) = "z"));
  CHECK_FALSE(created_u);
  CHECK(renamed.name == "z");
  CHECK(p_kids.count() == 2);
  CHECK_THROWS_AS(p_kids.get(c(&Child::name) == qa.name && c(&Child::id) == qa.id), gocp::DoesNotExist);
  CHECK(gocp::parent_of(parents, qa).name == "q");
}

TEST_CASE_METHOD(Family, "relations refuse an unsaved object and a member that is not a foreign key", "[related]") {
  CHECK_THROWS_AS(gocp::related(children, Parent{0, "unsaved"}), gocp::ValidationError);
  const Parent p = parents.create({0, "p"});
  CHECK_THROWS_WITH(gocp::related(children, &Child::id, p), Catch::Contains("has no gocp::foreign_key to 'rel.parent'"));
  const Child orphan{0, 99999, "x"};
  CHECK_THROWS_AS(gocp::parent_of(parents, orphan), gocp::DoesNotExist);
}

TEST_CASE_METHOD(Family, "select_related reads each child with its parent in one joined query", "[related]") {
  const Parent p = parents.create({0, "p"});
  const Parent q = parents.create({0, "q"});
  gocp::related(children, p).create({0, 0, "a"});
  gocp::related(children, p).create({0, 0, "b"});
  gocp::related(children, q).create({0, 0, "c"});
  const auto before = children.stats().db_queries;
  const auto rows = gocp::select_related(children.filter(c(&Child::name) != "b"), parents);
  CHECK(children.stats().db_queries == before + 1);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].first.name == "a");
  CHECK(rows[0].second.name == "p");
  CHECK(rows[1].first.name == "c");
  CHECK(rows[1].second.id == q.id);
  // the parents' filters apply too (an inner join)
  const auto only_q = gocp::select_related(children, parents.filter(c(&Parent::name) == "q"));
  REQUIRE(only_q.size() == 1);
  CHECK(only_q[0].first.name == "c");
}

TEST_CASE_METHOD(Family, "a cached child does not survive its parent's cascade delete", "[related][cache]") {
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"rel.child", "locmem:///"}};
  gocp::Repository<Child, gocp::CachedGetOrCreate> cached{db, caches};
  const Parent p = parents.create({0, "p"});
  auto [a, created] = gocp::related(cached, p).get_or_create(c(&Child::name) == "a");
  REQUIRE(created);
  gocp::related(cached, p).get_or_create(c(&Child::name) == "a");
  CHECK(cached.stats().hits == 1);  // the second one came from the cache
  parents.remove(p);               // through a repository with no caches at all
  // the same parent key again: the same lookup key; the cached child must be gone
  const Parent back = parents.create({p.id, "p"});
  auto [fresh, created_again] = gocp::related(cached, back).get_or_create(c(&Child::name) == "a");
  CHECK(created_again);
  CHECK(fresh.id != a.id);
  CHECK(children.count() == 1);
}

TEST_CASE_METHOD(Family, "CachedGetOrCreate on related repositories keys by the bound parent", "[related][cache]") {
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"rel.child", "locmem:///"}};
  gocp::Repository<Child, gocp::CachedGetOrCreate> cached{db, caches};
  const Parent p = parents.create({0, "p"});
  const Parent q = parents.create({0, "q"});
  auto [pa, p_created] = gocp::related(cached, p).get_or_create(c(&Child::name) == "a");
  gocp::related(cached, p).get_or_create(c(&Child::name) == "a");  // cached
  auto [qa, q_created] = gocp::related(cached, q).get_or_create(c(&Child::name) == "a");
  CHECK(p_created);
  CHECK(q_created);  // not p's cached "a"
  CHECK(qa.parent_id == q.id);
  CHECK(gocp::related(cached, q).get_or_create(c(&Child::name) == "a").first.id == qa.id);
  CHECK(gocp::related(cached, p).get_or_create(c(&Child::name) == "a").first.id == pa.id);
}

TEST_CASE_METHOD(Family, "NonAtomic children inside one transaction: a throw half-way leaves neither", "[related]") {
  gocp::Repository<Child, gocp::NonAtomicGetOrCreate> fast{db};
  const auto savepoints = db.savepoints_begun();
  CHECK_THROWS_AS(db.atomic([&] {
                    auto [p, _] = parents.get_or_create(c(&Parent::name) == "p");
                    for (const char* n : {"a", "b", "c"}) gocp::related(fast, p).get_or_create(c(&Child::name) == n);
                    throw std::runtime_error("half-way");
                  }),
                  std::runtime_error);
  CHECK(parents.count() == 0);
  CHECK(children.count() == 0);
  db.atomic([&] {
    auto [p, _] = parents.get_or_create(c(&Parent::name) == "p");
    for (const char* n : {"a", "b", "c"}) gocp::related(fast, p).get_or_create(c(&Child::name) == n);
  });
  CHECK(children.count() == 3);
  CHECK(db.savepoints_begun() - savepoints == 2);  // only the parents' creates took one
}

// ---- many-to-many -------------------------------------------------------------------------

// Django tests/get_or_create: GetOrCreateTests.test_get_or_create_on_related_manager
TEST_CASE_METHOD(Library, "Django: get_or_create on related managers (foreign key and many-to-many)", "[m2m][django]") {
  const Publisher p = publishers.create({0, "Acme Publishing"});
  auto p_books = gocp::related(books, p);
  auto [book, created] = p_books.get_or_create(c(&Book::name) == "The Book of Ed & Fred");
  CHECK(created);
  CHECK(p_books.count() == 1);
  CHECK_FALSE(p_books.get_or_create(c(&Book::name) == "The Book of Ed & Fred").second);
  CHECK(p_books.count() == 1);

  auto [ed, ed_created] = book_authors(book).get_or_create(c(&Author::name) == "Ed");
  CHECK(ed_created);
  CHECK(book_authors(book).count() == 1);
  CHECK_FALSE(book_authors(book).get_or_create(c(&Author::name) == "Ed").second);
  CHECK(book_authors(book).count() == 1);
  auto [fred, fred_created] = book_authors(book).get_or_create(c(&Author::name) == "Fred");
  CHECK(fred_created);
  CHECK(book_authors(book).count() == 2);

  authors.create({0, "Ted"});  // not tied to any book
  CHECK(authors.count() == 3);
  CHECK(book_authors(book).count() == 2);

  // a book through an author (the reverse side)
  CHECK(author_books(ed).get_or_create(c(&Book::name) == "Ed's Recipes" && c(&Book::publisher_id) == p.id).second);
  CHECK(author_books(ed).count() == 2);
  CHECK(author_books(fred).count() == 1);
  CHECK(author_books(ed).get_or_create(c(&Book::name) == "The Great Book of Ed" && c(&Book::publisher_id) == p.id).second);
  CHECK_FALSE(
      author_books(ed).get_or_create(c(&Book::name) == "The Great Book of Ed" && c(&Book::publisher_id) == p.id).second);
  CHECK(p_books.count() == 3);
}

// Django tests/get_or_create: UpdateOrCreateTests.test_update_with_many / test_create_with_many
TEST_CASE_METHOD(Library, "Django: update_or_create through a many-to-many manager", "[m2m][django]") {
  const Publisher p = publishers.create({0, "Acme Publishing"});
  const Author ted = authors.create({0, "Ted"});
  const Book book = books.create({0, "The Book of Ed & Fred", p.id});
  book_authors(book).add(ted);
  CHECK(author_books(ted).count() == 1);
  auto [renamed, created] =
      author_books(ted).update_or_create(c(&Book::id) == book.id, gocp::defaults(c(&Book::name) = "The Book of Django"));
  CHECK_FALSE(created);
  CHECK(renamed.name == "The Book of Django");
  CHECK(author_books(ted).count() == 1);

  auto [made, made_created] =
      author_books(ted).update_or_create(c(&Book::name) == "Another" && c(&Book::publisher_id) == p.id);
  CHECK(made_created);
  CHECK(author_books(ted).count() == 2);
  // a book that exists but is not ted's is not updated through ted's relation
  const Book other = books.create({0, "Not Ted's", p.id});
  CHECK_THROWS_AS(author_books(ted).update_or_create(c(&Book::name) == "Not Ted's" && c(&Book::publisher_id) == p.id,
                                                     gocp::defaults(c(&Book::name) = "Stolen")),
                  gocp::IntegrityError);
  CHECK(books.get(c(&Book::id) == other.id).name == "Not Ted's");
}

// Django tests/get_or_create: GetOrCreateThroughManyToMany
TEST_CASE_METHOD(Library, "Django: get_or_create through a many-to-many finds, creates, or raises IntegrityError",
                 "[m2m][django]") {
  SECTION("test_get_get_or_create") {
    const Tag tag = tags.create({0, "foo"});
    const Thing a = things.create({0, "a"});
    gocp::related(tags, a, gocp::model<Thing>::tags).add(tag);
    auto [obj, created] = gocp::related(tags, a, gocp::model<Thing>::tags).get_or_create(c(&Tag::text) == "foo");
    CHECK_FALSE(created);
    CHECK(obj.id == tag.id);
  }
  SECTION("test_create_get_or_create") {
    const Thing a = things.create({0, "a"});
    auto [obj, created] = gocp::related(tags, a, gocp::model<Thing>::tags).get_or_create(c(&Tag::text) == "foo");
    CHECK(created);
    CHECK(obj.text == "foo");
    const auto all = gocp::related(tags, a, gocp::model<Thing>::tags).all();
    REQUIRE(all.size() == 1);
    CHECK(all[0].id == obj.id);
  }
  SECTION("test_something: an unrelated object with the same unique value") {
    tags.create({0, "foo"});
    const Thing a = things.create({0, "a"});
    Recorder links(db, "gc_thing_tags");
    CHECK_THROWS_AS(gocp::related(tags, a, gocp::model<Thing>::tags).get_or_create(c(&Tag::text) == "foo"),
                    gocp::IntegrityError);
    CHECK(gocp::related(tags, a, gocp::model<Thing>::tags).count() == 0);
    CHECK(tags.count() == 1);
    CHECK(links.seen.empty());
  }
}

// Django tests/many_to_many: ManyToManyTests (add, remove, clear, set, both sides)
TEST_CASE_METHOD(Library, "Django: add, remove, clear and set, from either side", "[m2m][django]") {
  const Publisher p = publishers.create({0, "p"});
  const Book b1 = books.create({0, "Django lets you build web apps easily", p.id});
  const Book b2 = books.create({0, "NASA uses Python", p.id});
  const Author a1 = authors.create({0, "The Python Journal"});
  const Author a2 = authors.create({0, "Science News"});
  const Author a3 = authors.create({0, "Science Weekly"});

  book_authors(b1).add(a1);
  book_authors(b1).add(a1);  // adding twice links once
  book_authors(b2).add(a1, a2, a3);
  CHECK(names(book_authors(b1).all()) == std::vector<std::string>{"The Python Journal"});
  CHECK(book_authors(b2).count() == 3);
  CHECK(author_books(a1).count() == 2);  // the reverse side
  CHECK(author_books(a1).filter(c(&Book::name).startswith("NASA")).count() == 1);
  CHECK(book_authors(b2).get(c(&Author::name) == "Science News").id == a2.id);
  CHECK_THROWS_AS(book_authors(b1).get(c(&Author::name) == "Science News"), gocp::DoesNotExist);

  book_authors(b2).remove(a2);
  CHECK(names(book_authors(b2).all()) == std::vector<std::string>{"Science Weekly", "The Python Journal"});
  CHECK(authors.count() == 3);  // remove unlinks; the object stays

  author_books(a1).remove(b1);  // from the other side
  CHECK(book_authors(b1).count() == 0);

  book_authors(b2).set({a2});
  CHECK(names(book_authors(b2).all()) == std::vector<std::string>{"Science News"});
  book_authors(b2).set({a1, a2, a3});
  CHECK(book_authors(b2).count() == 3);

  book_authors(b2).filter(c(&Author::name).startswith("Science")).clear();  // only those the set sees
  CHECK(names(book_authors(b2).all()) == std::vector<std::string>{"The Python Journal"});
  book_authors(b2).clear();
  CHECK(book_authors(b2).count() == 0);
  CHECK_FALSE(book_authors(b2).exists());

  CHECK_THROWS_AS(book_authors(b1).add(Author{424242, "ghost"}), gocp::IntegrityError);  // no such row
  CHECK_THROWS_AS(book_authors(b1).add(Author{0, "unsaved"}), gocp::ValidationError);
  CHECK_THROWS_AS(book_authors(Book{0, "unsaved", p.id}), gocp::ValidationError);
}

TEST_CASE_METHOD(Library, "links, unlinks, clears and cascades are RowChanges of the through table", "[m2m][changes]") {
  const Publisher p = publishers.create({0, "p"});
  const Book b = books.create({0, "b", p.id});
  const Author a1 = authors.create({0, "a1"});
  const Author a2 = authors.create({0, "a2"});
  Recorder links(db, "gc_book_authors");
  book_authors(b).add(a1, a2);
  REQUIRE(links.inserts() == 2);
  CHECK((*links.seen[0].after)[1] == gocp::Value{b.id});
  book_authors(b).add(a1);
  CHECK(links.seen.size() == 2);  // nothing new
  book_authors(b).remove(a1);
  CHECK(links.deletes() == 1);
  book_authors(b).clear();
  CHECK(links.deletes() == 2);
  book_authors(b).set({a1, a2});
  CHECK(links.inserts() == 4);
  authors.remove(a1);  // the database cascades to the through row
  CHECK(links.deletes() == 3);
  publishers.remove(p);  // publisher -> book -> through rows, two levels down
  CHECK(links.deletes() == 4);
  CHECK(books.count() == 0);
  CHECK(authors.count() == 1);
}

TEST_CASE_METHOD(Library, "a created target and its link are one atomic step", "[m2m]") {
  const Publisher p = publishers.create({0, "p"});
  const Book b = books.create({0, "b", p.id});
  CHECK_THROWS_AS(db.atomic([&] {
                    book_authors(b).get_or_create(c(&Author::name) == "Leo Tolstoy");
                    throw std::runtime_error("roll back");
                  }),
                  std::runtime_error);
  CHECK(authors.count() == 0);
  CHECK(book_authors(b).count() == 0);
  const Author leo = book_authors(b).create({0, "Leo Tolstoy"});
  CHECK(book_authors(b).get(c(&Author::name) == "Leo Tolstoy").id == leo.id);
}

TEST_CASE_METHOD(Library, "many-to-many misuse is a clear error", "[m2m]") {
  const Publisher p = publishers.create({0, "p"});
  const Book b = books.create({0, "b", p.id});
  static constexpr auto writers = gocp::many_to_many<Author>("writers");  // not in Book's schema
  CHECK_THROWS_WITH(gocp::related(authors, b, writers),
                    Catch::Contains("'gc.book' has no gocp::many_to_many<gc.author>(\"writers\")"));
  // a lookup no unique constraint covers is refused, as on the repository itself
  CHECK_THROWS_AS(book_authors(b).get_or_create(c(&Author::name) != "x"), gocp::ConfigurationError);
}

// Django tests/m2m_through: an explicit through model
TEST_CASE_METHOD(Db, "an explicit through model: links take its defaults, unlinks and cascades are its RowChanges",
                 "[m2m][through]") {
  gocp::Repository<Person> people{db};
  gocp::Repository<Group> groups{db};
  gocp::Repository<Membership> memberships{db};
  people.create_table();
  groups.create_table();
  memberships.create_table();  // its own table: the group's create_table() does not make it
  const Group rock = groups.create({0, "Rock"});
  const Person jim = people.create({0, "Jim"});
  const Person bob = people.create({0, "Bob"});
  auto members = gocp::related(people, rock, gocp::model<Group>::members);
  Recorder links(db, "m2m_membership");
  members.add(jim, bob);
  CHECK(links.inserts() == 2);
  CHECK(names(members.all()) == std::vector<std::string>{"Bob", "Jim"});
  const Membership m = memberships.get(c(&Membership::person_id) == jim.id);
  CHECK(m.group_id == rock.id);
  CHECK(m.role == "member");
  CHECK(m.invites == 2);  // the schema's default_value, not the member initializer
  auto [ann, created] = members.get_or_create(c(&Person::name) == "Ann");
  CHECK(created);
  CHECK(members.count() == 3);
  CHECK(gocp::related(groups, ann, gocp::model<Group>::members).all().at(0).id == rock.id);  // the reverse side
  members.remove(bob);
  CHECK(links.deletes() == 1);
  CHECK(memberships.count() == 2);
  people.remove(jim);  // cascades to the membership
  CHECK(links.deletes() == 2);
  CHECK(members.count() == 1);
}

TEST_CASE_METHOD(Library, "a cached target repository answers the same through a relation", "[m2m][cache]") {
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"gc.author", "locmem:///"}};
  gocp::Repository<Author, gocp::CachedGetOrCreate> cached{db, caches};
  const Publisher p = publishers.create({0, "p"});
  const Book b = books.create({0, "b", p.id});
  const Book other = books.create({0, "other", p.id});
  cached.get_or_create(c(&Author::name) == "Ed");
  cached.get_or_create(c(&Author::name) == "Ed");  // now cached
  CHECK(cached.stats().hits == 1);
  // cached or not, Ed is not b's author: IntegrityError, as uncached
  CHECK_THROWS_AS(gocp::related(cached, b, gocp::model<Book>::authors).get_or_create(c(&Author::name) == "Ed"),
                  gocp::IntegrityError);
  auto [fred, created] = gocp::related(cached, other, gocp::model<Book>::authors).get_or_create(c(&Author::name) == "Fred");
  CHECK(created);
  CHECK(gocp::related(cached, other, gocp::model<Book>::authors).get(c(&Author::name) == "Fred").id == fred.id);
}

// Django tests/get_or_create: UpdateOrCreateTests.test_create_with_related_manager
TEST_CASE_METHOD(Library, "Django: update_or_create through a foreign key manager creates with the parent",
                 "[related][django]") {
  const Publisher p = publishers.create({0, "Acme Publishing"});
  auto [book, created] = gocp::related(books, p).update_or_create(c(&Book::name) == "The Book of Ed & Fred");
  CHECK(created);
  CHECK(book.publisher_id == p.id);
  CHECK(gocp::related(books, p).count() == 1);
}
