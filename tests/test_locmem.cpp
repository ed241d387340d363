// The in-process caches and the cache registry: every Cache verb on LocMemCache and
// DummyCache, the LRU bound across shards, TTLs, and CacheRegistry's URLs, errors and
// per-alias stats (the latter through a real repository on a SQLite file).

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <typeindex>
#include <utility>
#include <vector>

#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

#include <gocp/cache/detail/typed_shelf.hpp>

namespace {

struct Gadget {
  std::int64_t id = 0;
  std::string name;
};

// Another C++ type that claims Gadget's model name: the registry must refuse it.
struct Impostor {
  std::int64_t id = 0;
  std::string name;
};

// Whatever `fn` throws must be a ConfigurationError; returns its message.
template <class F>
std::string configuration_error(F&& fn) {
  return gocp::test::error_of<gocp::ConfigurationError>(fn);
}

std::string key(int i) { return "key-" + std::to_string(i); }

}  // namespace

template <>
struct gocp::model<Gadget> {
  static constexpr std::string_view name = "tests.gadget";
  static constexpr auto schema = gocp::table(gocp::primary_key(&Gadget::id, "id"),
                                             gocp::field(&Gadget::name, "name", gocp::unique));
};

template <>
struct gocp::model<Impostor> {
  static constexpr std::string_view name = "tests.gadget";
  static constexpr std::string_view table = "impostor";
  static constexpr auto schema = gocp::table(gocp::primary_key(&Impostor::id, "id"),
                                             gocp::field(&Impostor::name, "name", gocp::unique));
};

using namespace std::chrono_literals;
using gocp::c;

// ---- LocMemCache: the verbs are the cache conformance suite's (test_cache_verbs.cpp),
// built per cache URL; here only what is locmem's own.

TEST_CASE("LocMemCache size counts what set, add and remove left", "[locmem]") {
  gocp::LocMemCache store;
  gocp::Cache& cache = store;
  cache.set("a", "1");
  cache.set("a", "2");
  CHECK(cache.add("b", "3"));
  CHECK_FALSE(cache.add("b", "4"));
  CHECK(store.size() == 2);
  CHECK(cache.remove("a"));
  CHECK(store.size() == 1);
}

// ---- LocMemCache: the LRU bound --------------------------------------------------------

TEST_CASE("LocMemCache holds at most max_entries: recently used keys survive, old ones go", "[locmem]") {
  // 16 shards, each an LRU of ceil(max / 16) entries: with max a multiple of 16 the
  // bound is exact. Five hot keys fit in any one shard (capacity 10) whatever the hash.
  constexpr std::size_t max = 160;
  gocp::LocMemCache store(max);
  gocp::Cache& cache = store;
  const std::vector<std::string> hot = {"hot-a", "hot-b", "hot-c", "hot-d", "hot-e"};
  for (const auto& k : hot) cache.set(k, "hot " + k);

  constexpr int inserts = 5000;
  for (int i = 0; i < inserts; ++i) {
    cache.set(key(i), std::to_string(i));
    REQUIRE(store.size() <= max);
    for (const auto& k : hot) REQUIRE(cache.get(k).has_value());  // a get makes it most recently used
  }

  CHECK(store.size() <= max);
  CHECK(store.size() > max / 2);  // bounded, not emptied
  for (const auto& k : hot) CHECK(cache.get(k) == std::optional<std::string>("hot " + k));
  // The newest keys are the most recent of their shards: always kept.
  for (int i = inserts - 5; i < inserts; ++i) CHECK(cache.get(key(i)) == std::optional<std::string>(std::to_string(i)));
  // The oldest were pushed out by the ~300 newer keys each shard saw after them.
  int old_survivors = 0;
  for (int i = 0; i < 500; ++i) old_survivors += cache.get(key(i)).has_value() ? 1 : 0;
  CHECK(old_survivors == 0);
}

TEST_CASE("LocMemCache set and add refresh a key's recency too", "[locmem]") {
  constexpr std::size_t max = 32;  // 2 per shard
  gocp::LocMemCache store(max);
  gocp::Cache& cache = store;
  cache.set("kept", "v0");
  for (int i = 0; i < 2000; ++i) {
    cache.set(key(i), "x");
    std::string value = "v";  // not "v" + to_string(): GCC 12's -Wrestrict false positive (PR 105651)
    value += std::to_string(i + 1);
    cache.set("kept", value);  // overwriting counts as a use
  }
  CHECK(cache.get("kept") == std::optional<std::string>("v2000"));
  CHECK(store.size() <= max);
}

TEST_CASE("LocMemCache: max_entries not a multiple of 16 rounds each shard's share up", "[locmem]") {
  // Documents the current bound: per shard ceil(max / 16), so the total may exceed max
  // by up to 15 (reported; a cache of max_entries=1 can hold 16 entries).
  for (std::size_t max : {1u, 10u, 100u}) {
    INFO("max_entries " << max);
    gocp::LocMemCache store(max);
    gocp::Cache& cache = store;
    for (int i = 0; i < 4000; ++i) cache.set(key(i), "x");
    const std::size_t per_shard = (max + 15) / 16;
    CHECK(store.size() <= 16 * per_shard);
    CHECK(store.size() >= max);
  }
}

// ---- TTLs (the one test that sleeps) -------------------------------------------------

TEST_CASE("TTL: per-call TTL, the cache's default TTL, and a registry's ttl_s expire entries", "[locmem][ttl]") {
  gocp::LocMemCache no_default_store;            // default: never expire
  gocp::LocMemCache default_1s_store(1000, 1s);  // default: 1 s
  gocp::Cache& no_default = no_default_store;
  gocp::Cache& default_1s = default_1s_store;
  gocp::CacheRegistry registry{{"short", "locmem:///?ttl_s=1"}, {"forever", "locmem:///?max_entries=100"}};
  gocp::Cache& short_alias = registry.cache("short");
  gocp::Cache& forever_alias = registry.cache("forever");

  no_default.set("ttl-1s", "a", 1s);
  no_default.set("no-ttl", "b");
  no_default.add("added-1s", "c", 1s);
  no_default.set("counter", "10", 1s);
  default_1s.set("default", "d");          // takes the cache's 1 s
  default_1s.set("per-call-60s", "e", 60s);  // a per-call TTL overrides the default
  short_alias.set("k", "f");
  forever_alias.set("k", "g");

  // Nothing has expired yet.
  CHECK(no_default.get("ttl-1s").has_value());
  CHECK(default_1s.get("default").has_value());
  CHECK(short_alias.get("k").has_value());

  std::this_thread::sleep_for(1100ms);

  CHECK_FALSE(no_default.get("ttl-1s").has_value());
  CHECK_FALSE(no_default.get("added-1s").has_value());
  CHECK_FALSE(no_default.increment("counter").has_value());  // expired: as missing
  CHECK(no_default.get("no-ttl") == std::optional<std::string>("b"));
  CHECK(no_default.add("ttl-1s", "again"));  // an expired key is absent for add
  CHECK(no_default.get("ttl-1s") == std::optional<std::string>("again"));

  CHECK_FALSE(default_1s.get("default").has_value());
  CHECK(default_1s.get("per-call-60s") == std::optional<std::string>("e"));

  CHECK_FALSE(short_alias.get("k").has_value());
  CHECK(forever_alias.get("k") == std::optional<std::string>("g"));
}

// ---- DummyCache -----------------------------------------------------------------------

TEST_CASE("the batched verbs' defaults: add_many stores only absent keys, bump_and_drop_many invalidates in order",
          "[locmem][batch]") {
  gocp::LocMemCache store;
  gocp::Cache& cache = store;
  cache.set("taken", "1");
  const std::pair<std::string_view, std::string_view> items[] = {{"taken", "2"}, {"free", "3"}};
  bool stored[2] = {true, false};
  cache.add_many(items, stored);
  CHECK_FALSE(stored[0]);
  CHECK(stored[1]);
  CHECK(cache.get("taken") == std::optional<std::string>("1"));
  CHECK(cache.get("free") == std::optional<std::string>("3"));

  cache.set("g:1", "41");
  cache.set("o:1", "object one");
  cache.set("g:2", "not a number");
  cache.set("o:2", "object two");
  const gocp::Cache::BumpAndDrop bumps[] = {{"g:1", "o:1", 7}, {"g:2", "o:2", 8}, {"g:3", "o:3", 9}};
  cache.bump_and_drop_many(bumps);
  CHECK(cache.get("g:1") == std::optional<std::string>("42"));  // counted on
  CHECK(cache.get("g:2") == std::optional<std::string>("8"));   // garbage: replaced by the fresh one
  CHECK(cache.get("g:3") == std::optional<std::string>("9"));   // absent: the fresh one
  CHECK_FALSE(cache.get("o:1"));
  CHECK_FALSE(cache.get("o:2"));
  cache.bump_and_drop_many({});  // nothing to do is no error
}

// ---- the typed tier: LocMemCache::shelf (cache/detail/typed_shelf.hpp) ------------------------

namespace {
struct Thing {
  std::int64_t id = 0;
  std::string name;
};
}  // namespace

TEST_CASE("typed shelves: one per name and kind, shared by every caller of one store", "[locmem][typed]") {
  gocp::LocMemCache store, other;
  auto a = store.shelf<gocp::detail::ObjectShelf<Thing>>("m1");
  CHECK(store.shelf<gocp::detail::ObjectShelf<Thing>>("m1") == a);
  CHECK(store.shelf<gocp::detail::ObjectShelf<Thing>>("m2") != a);
  CHECK(other.shelf<gocp::detail::ObjectShelf<Thing>>("m1") != a);
  CHECK(static_cast<void*>(store.shelf<gocp::detail::LookupShelf<Thing>>("m1").get()) != static_cast<void*>(a.get()));
}

TEST_CASE("typed shelves follow the coherence protocol: a fill under a stale generation is refused",
          "[locmem][typed]") {
  gocp::detail::ObjectShelf<Thing> shelf(100, std::chrono::seconds{0});
  const gocp::Value one{std::int64_t{1}}, two{std::int64_t{2}};
  std::optional<std::int64_t> generation;
  CHECK_FALSE(shelf.get(one, generation));
  CHECK_FALSE(generation);                  // no entry yet
  CHECK_FALSE(shelf.store(one, {1, "a"}, 5));  // no entry: nothing to tag the fill with
  const std::int64_t g1 = shelf.generation(one);
  CHECK(shelf.generation(one) == g1);       // stable until a write
  CHECK(shelf.store(one, {1, "a"}, g1));
  CHECK(shelf.get(one, generation)->name == "a");
  CHECK(generation == g1);

  const std::int64_t g2 = shelf.generation(two);
  CHECK(shelf.store(two, {2, "b"}, g2));
  const std::uint64_t epoch = shelf.epoch();
  const gocp::Value* written[] = {&one};
  shelf.invalidate(written);                // a write to row 1 ...
  CHECK_FALSE(shelf.get(one, generation));
  CHECK(generation != g1);
  CHECK_FALSE(shelf.store(one, {1, "stale"}, g1));  // ... refuses the fill read before it
  CHECK(shelf.get(two, generation)->name == "b");   // ... and leaves row 2 alone
  CHECK(shelf.epoch() != epoch);
  CHECK_FALSE(shelf.store_if_no_write_since(one, {1, "stale"}, epoch));  // read before the write
  CHECK(shelf.store_if_no_write_since(one, {1, "fresh"}, shelf.epoch()));
  CHECK(shelf.get(one, generation)->name == "fresh");
}

namespace {
/// What a LookupShelf's find() gave: the kept object, else the mapped pk (if any).
struct Found {
  std::optional<Thing> kept;
  std::optional<gocp::Value> pk;
};
Found find(const gocp::detail::LookupShelf<Thing>& lookups, const gocp::detail::Hash128& key,
           std::span<const std::uint64_t> words = {}) {
  Found f;
  Thing out;
  if (lookups.find(key, words, out, f.pk)) f.kept = out;
  return f;
}
}  // namespace

TEST_CASE("typed lookups keep a hit's object only while its row is unwritten", "[locmem][typed]") {
  gocp::detail::ObjectShelf<Thing> objects(100, std::chrono::seconds{0});
  gocp::detail::LookupShelf<Thing> lookups(100, std::chrono::seconds{0});
  const gocp::Value one{std::int64_t{1}}, two{std::int64_t{2}};
  const gocp::detail::Hash128 key_one{1, 1}, key_two{2, 2};
  for (const auto& [pk, key] : {std::pair{one, key_one}, std::pair{two, key_two}}) {
    REQUIRE(objects.store(pk, {std::get<std::int64_t>(pk), "v1"}, objects.generation(pk)));
    std::optional<std::int64_t> generation;
    gocp::detail::SeenGeneration seen;
    const auto hit = objects.get(pk, generation, &seen);
    REQUIRE(hit);
    lookups.remember_hit(key, {}, pk, *hit, seen);
  }
  Found f = find(lookups, key_one);
  REQUIRE(f.kept);
  CHECK(f.kept->id == 1);
  CHECK(f.kept->name == "v1");
  const std::uint64_t other_words[] = {7};
  f = find(lookups, key_one, other_words);  // a query of other words is not served the copy
  CHECK_FALSE(f.kept);
  CHECK(f.pk == one);
  const gocp::Value* written[] = {&one};
  objects.invalidate(written);
  f = find(lookups, key_one);
  CHECK(f.pk == one);     // the mapping stays ...
  CHECK_FALSE(f.kept);    // ... its copy is no longer served
  f = find(lookups, key_two);
  REQUIRE(f.kept);        // the other row's copy is
  CHECK(f.kept->id == 2);
  lookups.remember(key_two, one);  // remapped: no copy until the next hit
  f = find(lookups, key_two);
  CHECK(f.pk == one);
  CHECK_FALSE(f.kept);
}

TEST_CASE("typed shelves: an insert under a new key leaves the epoch, any other write moves it", "[locmem][typed]") {
  gocp::detail::ObjectShelf<Thing> objects(100, std::chrono::seconds{0});
  const gocp::Value one{std::int64_t{1}}, two{std::int64_t{2}};
  REQUIRE(objects.store(one, {1, "v1"}, objects.generation(one)));
  std::optional<std::int64_t> generation;
  gocp::detail::SeenGeneration seen;
  REQUIRE(objects.get(one, generation, &seen));
  const std::uint64_t epoch = objects.epoch();
  const gocp::Value* inserted[] = {&two};
  objects.invalidate(inserted, /*new_keys_only=*/true);
  CHECK(objects.epoch() == epoch);  // a read before it could not have found row 2
  CHECK(seen.current());            // nor does it touch row 1
  gocp::detail::SeenGeneration filled;
  CHECK(objects.store_if_no_write_since(two, {2, "new"}, epoch, &filled));
  CHECK(filled.current());
  const gocp::Value* written[] = {&two};
  objects.invalidate(written);
  CHECK(objects.epoch() != epoch);
  CHECK_FALSE(filled.current());  // the fill's kept generation is retired by the write
  CHECK_FALSE(objects.store_if_no_write_since(two, {2, "stale"}, epoch));
}

TEST_CASE("typed shelves retire kept generations when an entry is evicted or the shelf goes", "[locmem][typed]") {
  gocp::detail::SeenGeneration seen;
  {
    gocp::detail::ObjectShelf<Thing> objects(100, std::chrono::seconds{0});
    const gocp::Value one{std::int64_t{1}};
    REQUIRE(objects.store(one, {1, "v1"}, objects.generation(one)));
    std::optional<std::int64_t> generation;
    REQUIRE(objects.get(one, generation, &seen));
    CHECK(seen.current());
  }
  CHECK_FALSE(seen.current());  // a later shelf at the same address cannot revive it

  gocp::detail::ObjectShelf<Thing> tiny(1, std::chrono::seconds{0});
  std::vector<gocp::detail::SeenGeneration> kept;
  for (std::int64_t i = 0; i < 200; ++i) {
    const gocp::Value pk{i};
    REQUIRE(tiny.store(pk, {i, "x"}, tiny.generation(pk)));
    std::optional<std::int64_t> generation;
    gocp::detail::SeenGeneration s;
    REQUIRE(tiny.get(pk, generation, &s));
    kept.push_back(std::move(s));
  }
  const auto live = std::count_if(kept.begin(), kept.end(), [](const auto& s) { return s.current(); });
  CHECK(static_cast<std::size_t>(live) == tiny.size());  // every evicted entry's copy is retired
  CHECK(live < 200);
}

TEST_CASE("typed shelves are bounded, and an evicted entry never matches an old generation", "[locmem][typed]") {
  gocp::detail::ObjectShelf<Thing> shelf(160, std::chrono::seconds{0});
  const gocp::Value first{std::int64_t{0}};
  const std::int64_t old = shelf.generation(first);
  for (std::int64_t i = 1; i < 5000; ++i) shelf.generation(gocp::Value{i});
  CHECK(shelf.size() <= 160 + 16);  // each of the 16 shards holds its share, plus one
  CHECK(shelf.size() >= 100);
  // whether or not entry 0 survived, a fill under a generation it no longer has is refused
  if (shelf.generation(first) != old) CHECK_FALSE(shelf.store(first, {0, "late"}, old));
}

TEST_CASE("typed shelves expire entries after the store's ttl_s", "[locmem][typed]") {
  gocp::detail::ObjectShelf<Thing> shelf(100, std::chrono::seconds{1});
  gocp::detail::LookupShelf<Thing> lookups(100, std::chrono::seconds{1});
  const gocp::Value one{std::int64_t{1}};
  REQUIRE(shelf.store(one, {1, "a"}, shelf.generation(one)));
  const gocp::detail::Hash128 key{1, 2};
  lookups.remember(key, one);
  std::optional<std::int64_t> generation;
  CHECK(shelf.get(one, generation));
  CHECK(find(lookups, key).pk == one);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK_FALSE(shelf.get(one, generation));
  const Found gone = find(lookups, key);
  CHECK_FALSE(gone.pk);
  CHECK_FALSE(gone.kept);
}

TEST_CASE("DummyCache never stores anything", "[locmem][dummy]") {
  gocp::DummyCache dummy;
  gocp::Cache& cache = dummy;
  cache.set("a", "1");
  CHECK_FALSE(cache.get("a").has_value());
  CHECK(cache.add("a", "1"));  // Django's DummyCache: add "succeeds" and still stores nothing
  CHECK_FALSE(cache.get("a").has_value());
  CHECK_FALSE(cache.remove("a"));
  CHECK_FALSE(cache.increment("a").has_value());
  const std::pair<std::string_view, std::string_view> items[] = {{"x", "1"}, {"y", "2"}};
  cache.set_many(items);
  const std::string_view keys[] = {"x", "y"};
  const auto got = cache.get_many(keys);
  REQUIRE(got.size() == 2);
  CHECK_FALSE(got[0].has_value());
  CHECK_FALSE(got[1].has_value());
}

// ---- CacheRegistry --------------------------------------------------------------------

TEST_CASE("CacheRegistry builds each alias's cache from its URL", "[locmem][registry]") {
  gocp::CacheRegistry registry{{"default", "locmem:///"},
                               {"small", "locmem:///?max_entries=32&ttl_s=300"},
                               {"off", "dummy://"}};
  CHECK(registry.contains("default"));
  CHECK(registry.contains("small"));
  CHECK(registry.contains("off"));
  CHECK_FALSE(registry.contains("other"));

  auto* small = dynamic_cast<gocp::LocMemCache*>(&registry.cache("small"));
  REQUIRE(small != nullptr);
  for (int i = 0; i < 1000; ++i) registry.cache("small").set(key(i), "x");
  CHECK(small->size() <= 32);  // max_entries reached the cache
  CHECK(small->size() > 0);
  CHECK(registry.cache("small").get(key(999)).has_value());  // ttl_s=300 does not expire it now

  auto* fallback = dynamic_cast<gocp::LocMemCache*>(&registry.cache("default"));
  REQUIRE(fallback != nullptr);
  for (int i = 0; i < 1000; ++i) registry.cache("default").set(key(i), "x");
  CHECK(fallback->size() == 1000);  // default max_entries (10000) holds them all

  CHECK(dynamic_cast<gocp::DummyCache*>(&registry.cache("off")) != nullptr);
  registry.cache("off").set("k", "v");
  CHECK_FALSE(registry.cache("off").get("k").has_value());

  // Two aliases are two caches; a copied registry is the same caches.
  registry.cache("default").set("shared?", "default");
  CHECK_FALSE(registry.cache("small").get("shared?").has_value());
  const gocp::CacheRegistry copy = registry;
  CHECK(copy.cache("default").get("shared?") == std::optional<std::string>("default"));
  CHECK(&copy.cache("small") == &registry.cache("small"));
}

TEST_CASE("CacheRegistry: a missing alias names the alias and the configured ones", "[locmem][registry]") {
  gocp::CacheRegistry registry{{"default", "locmem:///"}, {"tests.other", "dummy://"}};
  const std::string what = configuration_error([&] { registry.cache("tests.nowhere"); });
  CHECK_THAT(what, Catch::Contains("'tests.nowhere'"));
  CHECK_THAT(what, Catch::Contains("'default'"));
  CHECK_THAT(what, Catch::Contains("'tests.other'"));
  CHECK_THAT(configuration_error([&] { registry.stats("tests.nowhere"); }), Catch::Contains("'tests.nowhere'"));

  gocp::CacheRegistry empty{};
  CHECK_THAT(configuration_error([&] { empty.cache("default"); }), Catch::Contains("'default'"));
}

TEST_CASE("CacheRegistry: a repository missing its aliases fails at construction", "[locmem][registry]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url());

  SECTION("the model's alias") {
    gocp::CacheRegistry registry{{"default", "locmem:///"}};
    const std::string what = configuration_error([&] { gocp::Repository<Gadget> repo(db, registry); });
    CHECK_THAT(what, Catch::Contains("'tests.gadget'"));
    CHECK_THAT(what, Catch::Contains("'default'"));
  }
  SECTION("`default`, for a policy caching lookups") {
    gocp::CacheRegistry registry{{"tests.gadget", "locmem:///"}};
    const std::string what =
        configuration_error([&] { gocp::Repository<Gadget, gocp::CachedGetOrCreate> repo(db, registry); });
    CHECK_THAT(what, Catch::Contains("'default'"));
    CHECK_THAT(what, Catch::Contains("'tests.gadget'"));
  }
}

TEST_CASE("CacheRegistry: bad URLs are ConfigurationErrors naming what is wrong", "[locmem][registry]") {
  SECTION("unknown scheme: names the scheme and the alias") {
    const std::string what = configuration_error([] { gocp::CacheRegistry r{{"sessions", "nosuchcache://host/"}}; });
    CHECK_THAT(what, Catch::Contains("'nosuchcache'"));
    CHECK_THAT(what, Catch::Contains("'sessions'"));
    CHECK_THAT(what, Catch::Contains("locmem"));  // and what is known
  }
  SECTION("unknown option: names the option") {
    const std::string what =
        configuration_error([] { gocp::CacheRegistry r{{"default", "locmem:///?max_entries=5&max_entires=6"}}; });
    CHECK_THAT(what, Catch::Contains("'max_entires'"));
    CHECK_THAT(configuration_error([] { gocp::CacheRegistry r{{"default", "dummy://?ttl_s=5"}}; }),
               Catch::Contains("'ttl_s'"));
  }
  SECTION("duplicate alias") {
    const std::string what =
        configuration_error([] { gocp::CacheRegistry r{{"default", "locmem:///"}, {"default", "dummy://"}}; });
    CHECK_THAT(what, Catch::Contains("'default'"));
    CHECK_THAT(what, Catch::Contains("twice"));
  }
  SECTION("max_entries=0") {
    CHECK_THAT(configuration_error([] { gocp::CacheRegistry r{{"default", "locmem:///?max_entries=0"}}; }),
               Catch::Contains("max_entries=0"));
  }
  SECTION("a number option that is not a non-negative integer") {
    CHECK_THAT(configuration_error([] { gocp::CacheRegistry r{{"default", "locmem:///?max_entries=lots"}}; }),
               Catch::Contains("max_entries") && Catch::Contains("lots"));
    CHECK_THAT(configuration_error([] { gocp::CacheRegistry r{{"default", "locmem:///?ttl_s=-1"}}; }),
               Catch::Contains("ttl_s"));
  }
  SECTION("not a URL") {
    CHECK_THAT(configuration_error([] { gocp::CacheRegistry r{{"default", "locmem"}}; }),
               Catch::Contains("'locmem'"));
  }
}

TEST_CASE("CacheRegistry: two model types under one name are refused", "[locmem][registry]") {
  SECTION("claim_model_name directly") {
    gocp::CacheRegistry registry{{"default", "locmem:///"}};
    registry.claim_model_name("app.thing", std::type_index(typeid(Gadget)));
    registry.claim_model_name("app.thing", std::type_index(typeid(Gadget)));  // the same type again: fine
    registry.claim_model_name("app.other", std::type_index(typeid(Impostor)));
    const std::string what =
        configuration_error([&] { registry.claim_model_name("app.thing", std::type_index(typeid(Impostor))); });
    CHECK_THAT(what, Catch::Contains("'app.thing'"));
    // A copy of the registry shares its claims.
    const gocp::CacheRegistry copy = registry;
    CHECK_THROWS_AS(copy.claim_model_name("app.other", std::type_index(typeid(Gadget))), gocp::ConfigurationError);
  }
  SECTION("through repositories") {
    gocp::test::TempDir dir;
    auto db = gocp::Database::open(dir.sqlite_url());
    gocp::CacheRegistry registry{{"default", "locmem:///"}, {"tests.gadget", "locmem:///"}};
    gocp::Repository<Gadget, gocp::CachedGetOrCreate> gadgets(db, registry);
    gocp::Repository<Gadget> more_gadgets(db, registry);  // the same model again: fine
    const std::string what = configuration_error([&] { gocp::Repository<Impostor> impostors(db, registry); });
    CHECK_THAT(what, Catch::Contains("'tests.gadget'"));
  }
}

TEST_CASE("CacheRegistry: stats are kept per alias", "[locmem][registry][stats]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url());
  gocp::CacheRegistry registry{{"default", "locmem:///"}, {"tests.gadget", "locmem:///"}, {"unused", "locmem:///"}};
  gocp::Repository<Gadget, gocp::CachedGetOrCreate> gadgets(db, registry);
  gadgets.create_table();

  auto [created, was_created] = gadgets.get_or_create(c(&Gadget::name) == "sprocket");
  REQUIRE(was_created);
  const gocp::Stats after_create = registry.stats("tests.gadget");
  CHECK(after_create.misses == 0);              // no pk was known, so the objects alias was not asked
  CHECK(after_create.hits == 0);
  CHECK(after_create.fills == 1);              // the object
  CHECK(registry.stats("default").misses == 1);  // the lookup it did not know
  CHECK(registry.stats("default").fills == 1);  // the lookup -> pk mapping

  auto [hit, hit_created] = gadgets.get_or_create(c(&Gadget::name) == "sprocket");
  CHECK_FALSE(hit_created);
  CHECK(hit.id == created.id);
  CHECK(registry.stats("default").hits == 1);  // it knew the lookup
  CHECK(registry.stats("tests.gadget").misses == 0);
  // the object came from the model's alias, or was kept with the lookup by the typed tier
  CHECK(registry.stats("tests.gadget").hits <= 1);
  CHECK(gadgets.get_or_create(c(&Gadget::name) == "sprocket").first.id == created.id);
  CHECK(registry.stats("default").hits == 2);

  hit.name = "sprocket 2";
  gadgets.save(hit);
  CHECK(registry.stats("tests.gadget").invalidations == after_create.invalidations + 1);

  const gocp::Stats unused = registry.stats("unused");
  CHECK(unused.hits + unused.misses + unused.fills + unused.invalidations + unused.cache_errors == 0);
  // The repository's own counters: one per call.
  CHECK(gadgets.stats().hits == 2);
  CHECK(gadgets.stats().misses == 1);
}
