// Cache coherence: transaction-aware fills and invalidations, own-write visibility, no
// stale set, entries the codec must refuse, per-pk invalidation in the typed tier and
// batched invalidation in the byte tier. Real SQLite file (or PostgreSQL, built as
// test_coherence_pg), real locmem caches: typed (`locmem://`) and, through the
// `counting://` wrapper below, the byte tier every network cache uses.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "support/cached_authors.hpp"
#include "support/library_models.hpp"
#include "support/database_url.hpp"
#include "support/temp_dir.hpp"

using gocp::c;
using gocp::test::Author;
using gocp::test::leo;

namespace {

/// A real LocMemCache behind the plain Cache interface, under the scheme `counting://`:
/// the byte tier (codec, string keys, batched verbs), as redis and memcached are, with
/// its reads and batched invalidations counted.
class CountingCache final : public gocp::Cache {
 public:
  explicit CountingCache(Ttl ttl) : inner_(10'000, ttl) {}
  std::atomic<int> reads{0};
  std::atomic<int> invalidation_batches{0};

  bool get_into(std::string_view key, std::string& value) override {
    ++reads;
    return inner_.get_into(key, value);
  }
  void set(std::string_view key, std::string_view value, Ttl ttl) override { inner_.set(key, value, ttl); }
  bool add(std::string_view key, std::string_view value, Ttl ttl) override { return inner_.add(key, value, ttl); }
  bool remove(std::string_view key) override { return inner_.remove(key); }
  std::optional<std::int64_t> increment(std::string_view key, std::int64_t delta) override {
    return inner_.increment(key, delta);
  }
  void bump_and_drop_many(std::span<const BumpAndDrop> items) override {
    ++invalidation_batches;
    Cache::bump_and_drop_many(items);  // the looping default, over the verbs above
  }

 private:
  gocp::LocMemCache inner_;
};

const bool counting_scheme = gocp::register_cache_scheme("counting", [](gocp::Url& url) {
  return std::make_shared<CountingCache>(gocp::Cache::Ttl{url.take_int("ttl_s", 0)});
});

/// The cached-authors fixture on the byte tier.
struct BytesFixture {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir));
  gocp::CacheRegistry caches{{"default", "counting:///"}, {"library.author", "counting:///"}};
  gocp::Repository<Author, gocp::CachedGetOrCreate> authors{db, caches};
  BytesFixture() {
    REQUIRE(counting_scheme);
    authors.create_table();
  }
  std::string object_key(std::int64_t pk) const {
    return gocp::detail::entry_key(gocp::detail::key_prefix(gocp::model_info<Author>(), db.id()), 'o', gocp::Value{pk});
  }
  CountingCache& objects() const { return dynamic_cast<CountingCache&>(caches.cache("library.author")); }
};

struct Fixture : gocp::test::CachedAuthors {
  /// The key of an author's object entry, as cache/detail/cache_keys.hpp writes it.
  std::string object_key(std::int64_t pk) const {
    return gocp::detail::entry_key(gocp::detail::key_prefix(gocp::model_info<Author>(), db.id()), 'o', gocp::Value{pk});
  }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "a get_or_create rolled back leaves no phantom in the cache", "[transaction]") {
  std::int64_t ghost_id = 0;
  CHECK_THROWS_AS(db.atomic([&] {
                    auto [ghost, created] = authors.get_or_create(leo());
                    REQUIRE(created);
                    ghost_id = ghost.id;
                    throw std::runtime_error("roll back");
                  }),
                  std::runtime_error);
  CHECK(authors.stats().fills == 0);  // fills wait for the commit that never came
  CHECK_FALSE(caches.cache("library.author").get(object_key(ghost_id)));
  auto [real, created] = authors.get_or_create(leo());
  CHECK(created);
  CHECK(authors.count() == 1);
}

TEST_CASE_METHOD(Fixture, "fills inside a transaction are published when it commits", "[transaction]") {
  db.atomic([&] {
    authors.get_or_create(leo());
    CHECK(authors.stats().fills == 0);
  });
  CHECK(authors.stats().fills >= 1);
  const auto before = authors.stats();
  authors.get_or_create(leo());
  CHECK(authors.stats().hits == before.hits + 1);
}

TEST_CASE_METHOD(Fixture, "a savepoint rolled back drops its fills, the outer ones stay", "[transaction]") {
  db.atomic([&] {
    authors.get_or_create(leo());
    try {
      db.atomic([&] {
        authors.get_or_create(c(&Author::first_name) == "Inner" && c(&Author::last_name) == "Ghost");
        throw std::runtime_error("inner");
      });
    } catch (const std::runtime_error&) {
    }
  });
  CHECK(authors.count() == 1);
  const auto before = authors.stats();
  CHECK_FALSE(authors.get_or_create(leo()).second);
  CHECK(authors.stats().hits == before.hits + 1);
  CHECK(authors.get_or_create(c(&Author::first_name) == "Inner" && c(&Author::last_name) == "Ghost").second);
}

TEST_CASE_METHOD(Fixture, "reads inside a writing transaction see its own writes", "[transaction]") {
  auto [a, created] = authors.get_or_create(leo());
  authors.get_or_create(leo());  // cached with 0 books
  db.atomic([&] {
    a.books_in_store = 7;
    authors.save(a);
    CHECK(authors.get_or_create(leo()).first.books_in_store == 7);
  });
  CHECK(authors.get_or_create(leo()).first.books_in_store == 7);
}

TEST_CASE_METHOD(Fixture, "invalidation applies again at commit: a refill from before the commit is not served",
                 "[transaction]") {
  auto [a, created] = authors.get_or_create(leo());
  authors.get_or_create(leo());
  db.atomic([&] {
    a.books_in_store = 7;
    authors.save(a);  // invalidated now; not yet committed
    // Another thread, outside the transaction, refills from the committed past (0 books)
    std::thread reader([&] { CHECK(authors.get_or_create(leo()).first.books_in_store == 0); });
    reader.join();
  });
  // Without the commit-time invalidation the reader's fill (0 books) would be served now.
  CHECK(authors.get_or_create(leo()).first.books_in_store == 7);
}

namespace {

/// The protocol a reader follows, step by step, interleaved with a writer: the reader's
/// late fill of the old row must never be served. On the byte tier the fill lands
/// (tagged with the old generation); the typed tier refuses it at once.
enum class LateFill {
  refused,   // the typed tier refuses it at once
  lands,     // a byte tier stores it (checked through F::object_key), tagged with the old generation
  unchecked  // a shared byte tier stores it too, under keys of its own
};

template <class F>
void late_fill_is_never_served(F& f, LateFill late) {
  auto [a, created] = f.authors.get_or_create(leo());
  f.authors.get_or_create(leo());  // mapping and object cached
  gocp::detail::ModelCaches<Author> reader(f.caches, std::make_shared<gocp::detail::StatCounters>(), true,
                                           f.db.id());
  const gocp::Value pk{a.id};
  const auto generation = reader.generation(pk);      // 1. reader: generation, then the row
  REQUIRE(generation);
  const Author stale = f.authors.get(c(&Author::id) == a.id);
  a.books_in_store = 9;                                // 2. writer: save, which invalidates
  f.authors.save(a);
  const auto fills = f.caches.stats("library.author").fills;
  reader.store(stale, *generation);                    // 3. reader: the late fill of the old row
  if constexpr (requires { f.object_key(a.id); }) {
    if (late == LateFill::lands) CHECK(f.caches.cache("library.author").get(f.object_key(a.id)));  // it is there ...
  }
  if (late == LateFill::refused) CHECK(f.caches.stats("library.author").fills == fills);  // refused
  const auto before = f.authors.stats();
  CHECK(f.authors.get_or_create(leo()).first.books_in_store == 9);  // ... but never served
  CHECK(f.authors.stats().misses == before.misses + 1);
}

}  // namespace

TEST_CASE_METHOD(Fixture, "no stale set: a fill read before a write cannot be served after it", "[stale]") {
  late_fill_is_never_served(*this, gocp::test::cache_is_shared() ? LateFill::unchecked : LateFill::refused);
}

TEST_CASE_METHOD(BytesFixture, "no stale set on the byte tier: a fill read before a write cannot be served after it",
                 "[stale]") {
  late_fill_is_never_served(*this, LateFill::lands);
}

TEST_CASE_METHOD(Fixture, "no stale set under real contention: the last write is what stays cached", "[stale]") {
  auto [a, created] = authors.get_or_create(leo());
  std::atomic<bool> writing{true};
  std::vector<std::thread> readers;
  std::vector<int> seen_after(3, -1);
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      while (writing.load()) authors.get_or_create(leo());
      // each reader's own memo, filled while the writes went on, must not answer now
      seen_after[t] = authors.get_or_create(leo()).first.books_in_store;
    });
  }
  gocp::Repository<Author> writer{db, caches};
  for (int i = 1; i <= 200; ++i) writer.filter(c(&Author::id) == a.id).update(c(&Author::books_in_store) = i);
  writing = false;
  for (auto& r : readers) r.join();
  CHECK(seen_after == std::vector<int>(3, 200));
  CHECK(authors.get_or_create(leo()).first.books_in_store == 200);
  CHECK(authors.get_or_create(leo()).first.books_in_store == 200);
}

TEST_CASE_METHOD(BytesFixture, "a corrupt entry is a miss and is replaced", "[codec]") {
  auto [a, created] = authors.get_or_create(leo());
  authors.get_or_create(leo());
  auto& objects = caches.cache("library.author");
  const std::string key = object_key(a.id);
  REQUIRE(objects.get(key));
  objects.set(key, "definitely not an entry");
  const auto before = authors.stats();
  CHECK(authors.get_or_create(leo()).first.id == a.id);
  CHECK(authors.stats().misses == before.misses + 1);
  const auto replaced = objects.get(key);
  CHECK((!replaced || *replaced != "definitely not an entry"));
  CHECK(authors.get_or_create(leo()).first.id == a.id);
}

TEST_CASE_METHOD(BytesFixture, "an entry written under another schema is a miss, never a misdecode", "[codec]") {
  auto [a, created] = authors.get_or_create(leo());
  authors.get_or_create(leo());
  auto& objects = caches.cache("library.author");
  const std::string key = object_key(a.id);
  // the same fields, as an older layout of the model would have written them
  const std::vector<gocp::Value> fields{gocp::Value{a.id}, gocp::Value{std::string("Mallory")},
                                        gocp::Value{std::string("Tolstoy")}, gocp::Value{std::int64_t{666}},
                                        gocp::Value{}};
  auto current = gocp::codec::Decoded::parse(*objects.get(key), gocp::schema_hash<Author>,
                                             gocp::model_info<Author>().columns);
  REQUIRE(current);
  objects.set(key, gocp::codec::encode(gocp::schema_hash<Author> ^ 1, current->generation(), fields));
  const Author got = authors.get_or_create(leo()).first;
  CHECK(got.first_name == "Leo");
  CHECK(got.books_in_store == 0);
}

TEST_CASE_METHOD(Fixture, "keys differ across models and filters, long lookups are hashed", "[keys]") {
  const auto& info = gocp::model_info<Author>();
  const std::string prefix = gocp::detail::key_prefix(info, db.id());
  CHECK(prefix.find("library.author") != std::string::npos);
  const auto plain = gocp::detail::lookup_key(prefix, gocp::Expr<Author>{}, leo());
  const auto filtered = gocp::detail::lookup_key(prefix, c(&Author::store) == "Amazon", leo());
  CHECK(plain != filtered);
  const auto swapped = gocp::detail::lookup_key(
      prefix, gocp::Expr<Author>{}, c(&Author::last_name) == "Tolstoy" && c(&Author::first_name) == "Leo");
  CHECK(plain == swapped);
  const auto long_key =
      gocp::detail::lookup_key(prefix, gocp::Expr<Author>{}, c(&Author::first_name) == std::string(500, 'x') &&
                                                                  c(&Author::last_name) == "T");
  CHECK(long_key.size() <= 250);
  CHECK(long_key.find(' ') == std::string::npos);
  // a long lookup still works end to end
  auto [made, created] =
      authors.get_or_create(c(&Author::first_name) == std::string(200, 'y') && c(&Author::last_name) == "T");
  CHECK(created);
  CHECK_FALSE(authors.get_or_create(c(&Author::first_name) == std::string(200, 'y') && c(&Author::last_name) == "T").second);
}

// ---- per-pk invalidation (typed tier) and batched invalidation (byte tier) ---------------

namespace {

gocp::Expr<Author> author_named(int i) {
  return c(&Author::first_name) == "First" + std::to_string(i) && c(&Author::last_name) == "Last";
}

}  // namespace

TEST_CASE_METHOD(Fixture, "typed tier under contention: no reader sees a row older than a save that returned",
                 "[stale][typed]") {
  constexpr int kRows = 16, kRounds = 60;
  std::vector<Author> rows;
  for (int i = 0; i < kRows; ++i) rows.push_back(authors.get_or_create(author_named(i)).first);
  std::vector<std::atomic<int>> published(kRows);  // the last value whose save returned, per row
  for (auto& p : published) p = 0;
  std::atomic<bool> writing{true};
  std::atomic<int> stale{0}, reads{0}, started{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      for (int n = t; n == t || writing.load(); ++n) {  // at least one read each
        const int i = n % kRows;
        const int at_least = published[static_cast<std::size_t>(i)].load();
        if (authors.get_or_create(author_named(i)).first.books_in_store < at_least) ++stale;
        ++reads;
        if (n == t) ++started;
      }
    });
  }
  // the writes begin once every reader reads: on a loaded machine the 60 saves could
  // otherwise all finish before a reader ran (as one CI run saw), and nothing was checked
  while (started.load() < 3) std::this_thread::yield();
  gocp::Repository<Author> writer{db, caches};
  for (int round = 1; round <= kRounds; ++round) {
    Author& a = rows[static_cast<std::size_t>(round % kRows)];
    a.books_in_store = round;
    writer.save(a);
    published[static_cast<std::size_t>(round % kRows)] = round;
  }
  writing = false;
  for (auto& r : readers) r.join();
  CHECK(stale == 0);
  CHECK(reads > 0);
  for (int i = 0; i < kRows; ++i)
    CHECK(authors.get_or_create(author_named(i)).first.books_in_store == published[static_cast<std::size_t>(i)].load());
  // the readers may all have been descheduled through the writes (a loaded machine): the
  // cache is checked working here, where nothing writes and each row was just read
  const auto hits_before = authors.stats().hits;
  for (int i = 0; i < kRows; ++i) authors.get_or_create(author_named(i));
  CHECK(authors.stats().hits == hits_before + kRows);
}

TEST_CASE_METHOD(Fixture, "typed tier: a write to one row keeps every other row's hit a hit", "[typed]") {
  auto [a, made_a] = authors.get_or_create(author_named(1));
  auto [b, made_b] = authors.get_or_create(author_named(2));
  REQUIRE((made_a && made_b));
  authors.get_or_create(author_named(1));  // both cached
  authors.get_or_create(author_named(2));
  // a write to row A, through another repository on another thread
  std::thread([&] {
    gocp::Repository<Author> other{db, caches};
    Author changed = a;
    changed.books_in_store = 5;
    other.save(changed);
  }).join();
  const auto before = authors.stats();
  CHECK(authors.get_or_create(author_named(2)).first.id == b.id);  // B: still a hit
  CHECK(authors.stats().hits == before.hits + 1);
  CHECK(authors.stats().db_queries == before.db_queries);
  CHECK(authors.get_or_create(author_named(1)).first.books_in_store == 5);  // A: a miss, the new row
  CHECK(authors.stats().misses == before.misses + 1);
  CHECK(authors.get_or_create(author_named(1)).first.books_in_store == 5);  // and cached again
  CHECK(authors.stats().hits == before.hits + 2);
  // a write to another model's table leaves this one alone too
  gocp::Repository<gocp::test::Country> countries{db};
  countries.create_table();
  countries.create(gocp::test::Country{0, "fr", "France"});
  const auto after_other_table = authors.stats();
  authors.get_or_create(author_named(2));
  CHECK(authors.stats().hits == after_other_table.hits + 1);
}

TEST_CASE("typed tier: many hot keys (more than any per-thread memo held) all stay hits", "[typed]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(gocp::test::database_url(dir));
  gocp::CacheRegistry caches{{"default", "locmem:///?max_entries=20000"}, {"library.author", "locmem:///?max_entries=20000"}};
  gocp::Repository<Author, gocp::CachedGetOrCreate> authors{db, caches};
  authors.create_table();
  constexpr int kKeys = 6000;
  db.atomic([&] {
    for (int i = 0; i < kKeys; ++i) authors.get_or_create(author_named(i));
  });
  for (int i = 0; i < kKeys; ++i) authors.get_or_create(author_named(i));  // fills what is missing
  Author written = authors.get_or_create(author_named(17)).first;
  written.books_in_store = 3;
  authors.save(written);  // one write in the middle of the hot set
  const auto before = authors.stats();
  for (int i = 0; i < kKeys; ++i) CHECK(authors.get_or_create(author_named(i)).first.books_in_store == (i == 17 ? 3 : 0));
  CHECK(authors.stats().misses == before.misses + 1);  // only the written row
  CHECK(authors.stats().hits == before.hits + kKeys - 1);
}

TEST_CASE("typed tier: entries do not outlive ttl_s", "[typed]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(gocp::test::database_url(dir));
  gocp::CacheRegistry caches{{"default", "locmem:///?ttl_s=1"}, {"library.author", "locmem:///?ttl_s=1"}};
  gocp::Repository<Author, gocp::CachedGetOrCreate> authors{db, caches};
  authors.create_table();
  authors.get_or_create(leo());
  authors.get_or_create(leo());
  const auto before = authors.stats();
  authors.get_or_create(leo());
  CHECK(authors.stats().hits == before.hits + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  authors.get_or_create(leo());
  CHECK(authors.stats().misses == before.misses + 1);
  CHECK(authors.stats().db_queries > before.db_queries);
}

TEST_CASE_METHOD(Fixture, "typed tier: a cached miss reads the row once when no write comes in between", "[typed]") {
  gocp::Repository<Author> plain{db, caches};
  plain.create(Author{0, "Anna", "Karenina", 1, std::nullopt});
  const auto before = authors.stats();
  CHECK_FALSE(authors.get_or_create(c(&Author::first_name) == "Anna" && c(&Author::last_name) == "Karenina").second);
  // the get, and no second read to fill; a shared byte tier reads the row again after
  // taking the generation (the protocol's "generation before the row")
  CHECK(authors.stats().db_queries == before.db_queries + (gocp::test::cache_is_shared() ? 2 : 1));
  CHECK(authors.stats().fills == before.fills + 2);  // the object and the lookup
  CHECK_FALSE(authors.get_or_create(c(&Author::first_name) == "Anna" && c(&Author::last_name) == "Karenina").second);
  CHECK(authors.stats().hits == before.hits + 1);
}

TEST_CASE_METHOD(BytesFixture, "byte tier: a bulk write of N rows, or a commit of N saves, invalidates in one call",
                 "[batch]") {
  constexpr int kRows = 50;
  for (int i = 0; i < kRows; ++i) authors.get_or_create(author_named(i));
  for (int i = 0; i < kRows; ++i) authors.get_or_create(author_named(i));  // all cached
  const int batches = objects().invalidation_batches;
  gocp::Repository<Author> writer{db, caches};
  CHECK(writer.filter(c(&Author::last_name) == "Last").update(c(&Author::books_in_store) = 4) == kRows);
  CHECK(objects().invalidation_batches == batches + 1);
  CHECK(caches.stats("library.author").invalidations >= static_cast<std::uint64_t>(kRows));
  for (int i = 0; i < kRows; ++i) CHECK(authors.get_or_create(author_named(i)).first.books_in_store == 4);

  db.atomic([&] {
    for (int i = 0; i < 10; ++i) {
      Author a = authors.get_or_create(author_named(i)).first;
      a.books_in_store = 5;
      authors.save(a);
    }
  });
  CHECK(objects().invalidation_batches == batches + 2);  // the commit's ten changes, at once
  for (int i = 0; i < kRows; ++i) CHECK(authors.get_or_create(author_named(i)).first.books_in_store == (i < 10 ? 5 : 4));
}

TEST_CASE("two registries on one thread never answer with each other's objects", "[stale]") {
  gocp::test::TempDir dir_one, dir_two;
  auto db_one = gocp::Database::open(gocp::test::database_url(dir_one));
  auto db_two = gocp::Database::open(gocp::test::database_url(dir_two));
  gocp::CacheRegistry caches_one{{"default", "locmem:///"}, {"library.author", "locmem:///"}};
  gocp::CacheRegistry caches_two{{"default", "locmem:///"}, {"library.author", "locmem:///"}};
  gocp::Repository<Author, gocp::CachedGetOrCreate> one{db_one, caches_one}, two{db_two, caches_two};
  one.create_table();
  two.create_table();
  one.get_or_create(leo(), gocp::defaults(c(&Author::books_in_store) = 1));
  two.get_or_create(leo(), gocp::defaults(c(&Author::books_in_store) = 2));
  for (int i = 0; i < 3; ++i) {  // the same lookup, the same model, the same thread
    CHECK(one.get_or_create(leo()).first.books_in_store == 1);
    CHECK(two.get_or_create(leo()).first.books_in_store == 2);
  }
  CHECK(one.stats().hits >= 3);
  CHECK(two.stats().hits >= 3);
}

TEST_CASE("lookup keys see every byte of a value, whatever its length", "[keys]") {
  const std::string prefix = gocp::detail::key_prefix(gocp::model_info<Author>(), "0123456789abcdef0123456789abcdef");
  std::vector<std::string> keys;
  for (std::size_t length = 0; length <= 24; ++length) {
    const std::string base(length, 'a');
    keys.push_back(gocp::detail::lookup_key(prefix, gocp::Expr<Author>{}, c(&Author::first_name) == base));
    for (std::size_t at = 0; at < length; ++at) {
      std::string changed = base;
      changed[at] = 'b';
      keys.push_back(gocp::detail::lookup_key(prefix, gocp::Expr<Author>{}, c(&Author::first_name) == changed));
    }
  }
  std::sort(keys.begin(), keys.end());
  CHECK(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
}

// ---- the follow path and the cached in_bulk ----------------------------------------------

namespace {

/// A model keyed by text: its references are `s<code>`, or hashed (`#...`) for a code a
/// key may not hold.
struct Coded {
  std::string code;
  std::string label;
  int uses = 0;
};

}  // namespace

template <>
struct gocp::model<Coded> {
  static constexpr std::string_view name = "test.coded";
  static constexpr auto schema = gocp::table(gocp::primary_key(&Coded::code, "code"),
                                             gocp::field(&Coded::label, "label", gocp::unique),
                                             gocp::field(&Coded::uses, "uses", gocp::default_value(0)));
};

namespace {

bool same_author(const Author& a, const Author& b) {
  return a.id == b.id && a.first_name == b.first_name && a.last_name == b.last_name &&
         a.books_in_store == b.books_in_store && a.store == b.store;
}

/// The two in_bulk answers hold the same rows.
template <class Map>
bool same_rows(const Map& got, const Map& expected) {
  if (got.size() != expected.size()) return false;
  for (const auto& [pk, row] : expected) {
    auto it = got.find(pk);
    if (it == got.end() || !same_author(it->second, row)) return false;
  }
  return true;
}

#ifdef GOCP_TEST_HAVE_REDIS
using gocp::test::redis_round_trips;
#endif

}  // namespace

TEST_CASE_METHOD(Fixture, "a hit through one store for both aliases is served as the two-step read serves it",
                 "[follow]") {
  auto [a, created] = authors.get_or_create(leo(), gocp::defaults(c(&Author::books_in_store) = 3));
  REQUIRE(created);
  for (int i = 0; i < 3; ++i) {
    const auto before = authors.stats();
#ifdef GOCP_TEST_HAVE_REDIS
    const auto trips = redis_round_trips(caches) + redis_round_trips(caches, "default");
#endif
    auto [again, made] = authors.get_or_create(leo());
    CHECK_FALSE(made);
    CHECK(same_author(again, a));
    CHECK(authors.stats().hits == before.hits + 1);
#ifdef GOCP_TEST_HAVE_REDIS
    if (gocp::test::cache_kind() == "redis")  // the lookup, its object and generation: one round trip
      CHECK(redis_round_trips(caches) + redis_round_trips(caches, "default") == trips + 1);
#endif
  }
  // a write from a repository without caches: the next answer is the new row, then hits again
  gocp::Repository<Author> plain{db};
  CHECK(plain.filter(c(&Author::id) == a.id).update(c(&Author::books_in_store) = 4) == 1);
  CHECK(authors.get_or_create(leo()).first.books_in_store == 4);
  const auto before = authors.stats();
  CHECK(authors.get_or_create(leo()).first.books_in_store == 4);
  CHECK(authors.stats().hits == before.hits + 1);
  // a mapped object that no longer matches the lookup is not served
  CHECK(plain.filter(c(&Author::id) == a.id).update(c(&Author::first_name) = "Lev") == 1);
  auto [other, made_other] = authors.get_or_create(leo());
  CHECK(made_other);
  CHECK(other.id != a.id);
}

TEST_CASE("text primary keys: short, unsafe and long ones round-trip through lookup references", "[follow][keys]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(gocp::test::database_url(dir));
  const std::string url = gocp::test::cache_url();
  gocp::CacheRegistry caches{{"default", url}, {"test.coded", url}};
  gocp::Repository<Coded, gocp::CachedGetOrCreate> coded{db, caches};
  gocp::Repository<Coded> plain{db};
  coded.create_table();
  const std::vector<std::string> codes = {"short", "has space", "tab\there", std::string(300, 'x'), "\xc3\xa9t\xc3\xa9"};
  for (std::size_t i = 0; i < codes.size(); ++i) plain.create(Coded{codes[i], "label-" + std::to_string(i), 0});
  for (std::size_t i = 0; i < codes.size(); ++i) {
    INFO("code " << i);
    const auto label = c(&Coded::label) == "label-" + std::to_string(i);
    CHECK(coded.get_or_create(label).first.code == codes[i]);  // read, then cached
    const auto before = coded.stats();
    auto [again, made] = coded.get_or_create(label);
    CHECK_FALSE(made);
    CHECK(again.code == codes[i]);
    CHECK(coded.stats().hits == before.hits + 1);
  }
  const auto bulk = coded.in_bulk(codes);
  CHECK(bulk.size() == codes.size());
  for (const auto& code : codes) CHECK((bulk.count(code) == 1 && bulk.at(code).code == code));
}

TEST_CASE_METHOD(Fixture, "cached in_bulk: the database's answer, before and after writes from elsewhere",
                 "[in_bulk]") {
  gocp::Repository<Author> plain{db};           // no caches: the database's own answer
  gocp::Repository<Author> cached{db, caches};  // any repository with caches reads through them
  std::vector<std::int64_t> pks;
  for (int i = 0; i < 30; ++i) pks.push_back(authors.get_or_create(author_named(i)).first.id);
  std::vector<std::int64_t> asked = pks;
  asked.push_back(pks.back() + 1000);  // no such row
  asked.push_back(pks[0]);             // asked twice
  CHECK(same_rows(cached.in_bulk(asked), plain.in_bulk(asked)));  // some from get_or_create's fills, the rest filled now

  const auto before = cached.stats();
#ifdef GOCP_TEST_HAVE_REDIS
  const auto trips = redis_round_trips(caches);
#endif
  CHECK(same_rows(cached.in_bulk(asked), plain.in_bulk(asked)));
  CHECK(cached.stats().hits - before.hits == 30);  // every row from the cache; the missing pk asks the database
#ifdef GOCP_TEST_HAVE_REDIS
  if (gocp::test::cache_kind() == "redis") CHECK(redis_round_trips(caches) - trips == 1);  // one MGET
#endif

  // writes through a repository without caches reach the cache through the change stream
  CHECK(plain.filter(c(&Author::id) == pks[3]).update(c(&Author::books_in_store) = 7) == 1);
  Author renamed = *plain.find(c(&Author::id) == pks[4]);
  renamed.first_name = "Renamed";
  plain.save(renamed);
  CHECK(plain.remove(*plain.find(c(&Author::id) == pks[5])));
  const auto after_writes = plain.in_bulk(asked);
  CHECK(after_writes.size() == 29);
  CHECK(same_rows(cached.in_bulk(asked), after_writes));
  CHECK(same_rows(cached.in_bulk(asked), after_writes));  // refilled: still the same

  // the repository's filters apply to cached objects and to those read alike
  const auto seven = cached.filter(c(&Author::books_in_store) == 7).in_bulk(asked);
  CHECK(seven.size() == 1);
  CHECK(same_rows(seven, plain.filter(c(&Author::books_in_store) == 7).in_bulk(asked)));
  CHECK(cached.exclude(c(&Author::first_name) == "Renamed").in_bulk(asked).count(pks[4]) == 0);

  // a transaction that wrote the table sees its own writes; nothing of it is cached
  db.atomic([&] {
    CHECK(plain.filter(c(&Author::id) == pks[6]).update(c(&Author::books_in_store) = 9) == 1);
    CHECK(cached.in_bulk(asked).at(pks[6]).books_in_store == 9);
  });
  CHECK(same_rows(cached.in_bulk(asked), plain.in_bulk(asked)));
  CHECK_THROWS_AS(db.atomic([&] {
                    CHECK(plain.filter(c(&Author::id) == pks[7]).update(c(&Author::books_in_store) = 11) == 1);
                    CHECK(cached.in_bulk(asked).at(pks[7]).books_in_store == 11);
                    throw std::runtime_error("roll back");
                  }),
                  std::runtime_error);
  CHECK(cached.in_bulk(asked).at(pks[7]).books_in_store == 0);
  CHECK(cached.in_bulk(std::vector<std::int64_t>{}).empty());
}

TEST_CASE_METHOD(Fixture, "cached in_bulk of 1000 rows: one read when cached, at most three when cold", "[in_bulk]") {
  gocp::Repository<Author> plain{db};
  gocp::Repository<Author> cached{db, caches};
  std::vector<std::int64_t> pks;
  db.atomic([&] {
    for (int i = 0; i < 1000; ++i) pks.push_back(plain.create(Author{0, "F" + std::to_string(i), "L", i, {}}).id);
  });
#ifdef GOCP_TEST_HAVE_REDIS
  auto trips = redis_round_trips(caches);
#endif
  CHECK(same_rows(cached.in_bulk(pks), plain.in_bulk(pks)));  // cold: read, then filled
#ifdef GOCP_TEST_HAVE_REDIS
  if (gocp::test::cache_kind() == "redis") CHECK(redis_round_trips(caches) - trips <= 3 + 1);  // + a first connection
  trips = redis_round_trips(caches);
#endif
  const auto before = cached.stats();
  CHECK(same_rows(cached.in_bulk(pks), plain.in_bulk(pks)));
  CHECK(cached.stats().hits - before.hits == 1000);
#ifdef GOCP_TEST_HAVE_REDIS
  if (gocp::test::cache_kind() == "redis") CHECK(redis_round_trips(caches) - trips == 1);
  trips = redis_round_trips(caches);
#endif
  // one bulk write of every row: one invalidation call, and every row read again
  CHECK(plain.update(c(&Author::books_in_store) = -1) == 1000);
#ifdef GOCP_TEST_HAVE_REDIS
  if (gocp::test::cache_kind() == "redis") CHECK(redis_round_trips(caches) - trips == 1);
#endif
  const auto fresh = cached.in_bulk(pks);
  CHECK(fresh.size() == 1000);
  CHECK(std::all_of(fresh.begin(), fresh.end(), [](const auto& kv) { return kv.second.books_in_store == -1; }));
}
