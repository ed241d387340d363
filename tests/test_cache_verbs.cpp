// The cache conformance suite: every gocp::Cache verb, as the coherence protocol relies
// on it, against one cache URL (support/cache_url.hpp): locmem as test_cache_verbs, a real
// redis-server as test_cache_verbs_redis, a real memcached as test_cache_verbs_memcached
// (one binary; tests/CMakeLists.txt runs it once per cache). Then what only the shared
// caches have, tagged [shared] (and [redis] / [memcached] for one server's own): key
// prefixes and versions, TTLs on the server, their URLs and errors.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/cache_url.hpp"
#include "support/error_of.hpp"
#include "support/processes.hpp"
#include "support/temp_dir.hpp"

namespace {

/// A fresh, empty cache of the suite's kind, kept alive by its registry.
struct FreshCache {
  gocp::CacheRegistry caches;
  gocp::Cache& cache;
  explicit FreshCache(const std::string& options = "")
      : caches{{"c", gocp::test::cache_url(options)}}, cache(caches.cache("c")) {}
};

}  // namespace

using namespace std::chrono_literals;

TEST_CASE("get/set: a miss is nullopt, set stores and overwrites", "[verbs]") {
  FreshCache f;
  gocp::Cache& cache = f.cache;
  CHECK_FALSE(cache.get("a").has_value());
  cache.set("a", "1");
  CHECK(cache.get("a") == std::optional<std::string>("1"));
  cache.set("a", "two");
  CHECK(cache.get("a") == std::optional<std::string>("two"));
  cache.set("b", "");
  REQUIRE(cache.get("b").has_value());  // an empty value is a value, not a miss
  CHECK(cache.get("b")->empty());
}

TEST_CASE("add stores only when the key is absent", "[verbs]") {
  FreshCache f;
  gocp::Cache& cache = f.cache;
  CHECK(cache.add("a", "first"));
  CHECK_FALSE(cache.add("a", "second"));
  CHECK(cache.get("a") == std::optional<std::string>("first"));
  cache.remove("a");
  CHECK(cache.add("a", "third"));
  CHECK(cache.get("a") == std::optional<std::string>("third"));
}

TEST_CASE("remove reports whether the key was there", "[verbs]") {
  FreshCache f;
  gocp::Cache& cache = f.cache;
  cache.set("a", "1");
  cache.set("b", "2");
  CHECK(cache.remove("a"));
  CHECK_FALSE(cache.remove("a"));
  CHECK_FALSE(cache.remove("never-set"));
  CHECK_FALSE(cache.get("a").has_value());
  CHECK(cache.get("b") == std::optional<std::string>("2"));  // only that key went
}

TEST_CASE("increment: decimal integers only, never creates the key", "[verbs]") {
  FreshCache f;
  gocp::Cache& cache = f.cache;

  SECTION("a missing key is nullopt and stays missing") {
    CHECK_FALSE(cache.increment("n").has_value());
    CHECK_FALSE(cache.increment("n", 5).has_value());
    CHECK_FALSE(cache.get("n").has_value());
  }
  SECTION("an integer value is incremented by delta, in place") {
    cache.set("n", "41");
    CHECK(cache.increment("n") == std::optional<std::int64_t>(42));
    CHECK(cache.get("n") == std::optional<std::string>("42"));
    CHECK(cache.increment("n", -50) == std::optional<std::int64_t>(-8));
    CHECK(cache.get("n") == std::optional<std::string>("-8"));
    CHECK(cache.increment("n", 0) == std::optional<std::int64_t>(-8));
  }
  SECTION("the whole 64-bit range is kept") {
    cache.set("n", std::to_string(std::numeric_limits<std::int64_t>::max() - 1));
    CHECK(cache.increment("n") == std::optional<std::int64_t>(std::numeric_limits<std::int64_t>::max()));
    cache.set("m", std::to_string(std::numeric_limits<std::int64_t>::min() + 1));
    CHECK(cache.increment("m", -1) == std::optional<std::int64_t>(std::numeric_limits<std::int64_t>::min()));
  }
  SECTION("an increment that would overflow is refused and leaves the value") {
    const std::string max = std::to_string(std::numeric_limits<std::int64_t>::max());
    const std::string min = std::to_string(std::numeric_limits<std::int64_t>::min());
    cache.set("n", max);
    CHECK_FALSE(cache.increment("n").has_value());
    CHECK_FALSE(cache.increment("n", std::numeric_limits<std::int64_t>::max()).has_value());
    CHECK(cache.get("n") == std::optional<std::string>(max));
    CHECK(cache.increment("n", std::numeric_limits<std::int64_t>::min()) == std::optional<std::int64_t>(-1));
    cache.set("m", min);
    CHECK_FALSE(cache.increment("m", -1).has_value());
    CHECK_FALSE(cache.increment("m", std::numeric_limits<std::int64_t>::min()).has_value());
    CHECK(cache.get("m") == std::optional<std::string>(min));
    CHECK(cache.increment("m", std::numeric_limits<std::int64_t>::max()) == std::optional<std::int64_t>(-1));
  }
  SECTION("a non-integer value is nullopt and is left as it was") {
    const std::vector<std::string> bad_values = {"abc", "", "12abc", "1.5", " 7", "7 ", std::string("4\0" "2", 3),
                                                 "99999999999999999999"};
    for (const std::string& bad : bad_values) {
      INFO("value: " << bad);
      cache.set("n", bad);
      CHECK_FALSE(cache.increment("n").has_value());
      CHECK(cache.get("n") == std::optional<std::string>(bad));
    }
  }
}

TEST_CASE("get_many / set_many keep the callers' order", "[verbs]") {
  FreshCache f;
  gocp::Cache& cache = f.cache;
  const std::pair<std::string_view, std::string_view> items[] = {{"c", "3"}, {"a", "1"}, {"b", "2"}};
  cache.set_many(items);
  const std::string_view keys[] = {"b", "missing", "a", "c", "a"};
  const auto got = cache.get_many(keys);
  REQUIRE(got.size() == 5);
  CHECK(got[0] == std::optional<std::string>("2"));
  CHECK_FALSE(got[1].has_value());
  CHECK(got[2] == std::optional<std::string>("1"));
  CHECK(got[3] == std::optional<std::string>("3"));
  CHECK(got[4] == std::optional<std::string>("1"));
  CHECK(cache.get_many({}).empty());
}

/// get_following of `key` with the prefixes "o:" and "g:": (found, value, the two referred).
struct Followed {
  bool found = false;
  std::string value;
  std::optional<std::string> object, generation;
};
/// Stores the lookup `key` -> `reference`, and the object and generation it refers to.
void put_followed(gocp::Cache& cache, const std::string& key, const std::string& reference, const std::string& object,
                  const std::string& generation) {
  cache.set(key, reference);
  cache.set("o:" + reference, object);
  cache.set("g:" + reference, generation);
}

Followed follow(gocp::Cache& cache, std::string_view key, std::string_view hint = {}) {
  const std::string_view prefixes[] = {"o:", "g:"};
  std::string values[2] = {"stale", "stale"};  // reused buffers: what is absent must not leak through
  bool found[2] = {true, true};
  Followed out;
  out.found = cache.get_following({key, prefixes, hint}, out.value, values, found);
  if (out.found) {
    if (found[0]) out.object = values[0];
    if (found[1]) out.generation = values[1];
  }
  return out;
}

TEST_CASE("get_following reads an entry and the entries its reference names, whatever the hint", "[verbs][follow]") {
  FreshCache f;
  gocp::Cache& cache = f.cache;
  put_followed(cache, "other", "i43", "another object", "8");
  put_followed(cache, "lookup", "i42", "the object", "7");
  cache.set("lookup", "i42 and the rest after the first space");
  for (std::string_view hint : {"", "i42", "i43", "nothing-there"}) {
    INFO("hint: " << hint);
    const Followed got = follow(cache, "lookup", hint);
    CHECK(got.found);
    CHECK(got.value == "i42 and the rest after the first space");
    CHECK(got.object == std::optional<std::string>("the object"));  // a wrong hint still follows the entry
    CHECK(got.generation == std::optional<std::string>("7"));
  }
  CHECK(gocp::Cache::reference_of("i42 and more") == "i42");
  CHECK(gocp::Cache::reference_of("i42") == "i42");

  SECTION("an absent entry is false, whatever the hint") {
    CHECK_FALSE(follow(cache, "no-such-lookup").found);
    CHECK_FALSE(follow(cache, "no-such-lookup", "i42").found);
  }
  SECTION("an absent referred entry is not found; the others are") {
    cache.remove("o:i42");
    for (std::string_view hint : {"", "i42"}) {
      const Followed got = follow(cache, "lookup", hint);
      CHECK(got.found);
      CHECK_FALSE(got.object.has_value());
      CHECK(got.generation == std::optional<std::string>("7"));
    }
  }
  SECTION("the entry is read when it changes: a new reference is followed") {
    cache.set("lookup", "i43");
    const Followed got = follow(cache, "lookup", "i42");
    CHECK(got.object == std::optional<std::string>("another object"));
    CHECK(got.generation == std::optional<std::string>("8"));
  }
}

TEST_CASE("add_many stores only absent keys, bump_and_drop_many bumps (or starts fresh) then drops", "[verbs][batch]") {
  FreshCache f;
  gocp::Cache& cache = f.cache;
  cache.set("b", "old");
  const std::pair<std::string_view, std::string_view> items[] = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
  bool stored[3] = {false, true, false};
  cache.add_many(items, stored);
  CHECK(stored[0]);
  CHECK_FALSE(stored[1]);
  CHECK(stored[2]);
  CHECK(cache.get("a") == std::optional<std::string>("1"));
  CHECK(cache.get("b") == std::optional<std::string>("old"));

  cache.set("g1", "41");      // a counter: bumped
  cache.set("g2", "garbage");  // not a number: replaced by its fresh value
  cache.set("g4", "9223372036854775807");  // would overflow: replaced too
  for (const char* e : {"e1", "e2", "e3", "e4"}) cache.set(e, "entry");
  const gocp::Cache::BumpAndDrop bumps[] = {
      {"g1", "e1", 1001}, {"g2", "e2", 1002}, {"g3", "e3", 1003}, {"g4", "e4", 1004}};
  cache.bump_and_drop_many(bumps);
  CHECK(cache.get("g1") == std::optional<std::string>("42"));
  CHECK(cache.get("g2") == std::optional<std::string>("1002"));
  CHECK(cache.get("g3") == std::optional<std::string>("1003"));  // a missing one: never an old value
  CHECK(cache.get("g4") == std::optional<std::string>("1004"));
  for (const char* e : {"e1", "e2", "e3", "e4"}) CHECK_FALSE(cache.get(e).has_value());
  cache.bump_and_drop_many({});  // nothing to do is no error
}

TEST_CASE("values and keys are bytes: NULs, spaces, high bytes and long keys round-trip", "[verbs]") {
  FreshCache f;
  gocp::Cache& cache = f.cache;
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  const std::string with_nuls("\0a\0\0b\0", 6);
  const std::string key_with_nul("k\0x", 3);
  const std::string long_key(1000, 'k'), long_key_2 = std::string(999, 'k') + "j";

  cache.set("all", all_bytes);
  cache.set("nuls", with_nuls);
  cache.set(key_with_nul, "nul key");
  cache.set("k", "prefix key");  // "k\0x" must not be cut at its NUL
  cache.set("a key with spaces\r\n", "spaces");
  cache.set(all_bytes, "every byte as a key");
  cache.set(long_key, "long 1");
  cache.set(long_key_2, "long 2");  // differs only past any length limit's cut

  CHECK(cache.get("all") == std::optional<std::string>(all_bytes));
  REQUIRE(cache.get("nuls").has_value());
  CHECK(*cache.get("nuls") == with_nuls);
  CHECK(cache.get(key_with_nul) == std::optional<std::string>("nul key"));
  CHECK(cache.get("k") == std::optional<std::string>("prefix key"));
  CHECK(cache.get("a key with spaces\r\n") == std::optional<std::string>("spaces"));
  CHECK_FALSE(cache.get("a key with spaces").has_value());
  CHECK(cache.get(all_bytes) == std::optional<std::string>("every byte as a key"));
  CHECK(cache.get(long_key) == std::optional<std::string>("long 1"));
  CHECK(cache.get(long_key_2) == std::optional<std::string>("long 2"));
}

TEST_CASE("a per-call TTL expires the entry, zero keeps it", "[verbs][ttl]") {
  FreshCache f;
  gocp::Cache& cache = f.cache;
  cache.set("short", "x", gocp::Cache::Ttl{1});
  CHECK(cache.add("short-add", "y", gocp::Cache::Ttl{1}));
  cache.set("kept", "z");
  CHECK(cache.get("short").has_value());
  std::this_thread::sleep_for(2100ms);
  CHECK_FALSE(cache.get("short").has_value());
  CHECK_FALSE(cache.get("short-add").has_value());
  CHECK(cache.get("kept") == std::optional<std::string>("z"));
}

// ---- the shared caches' own -------------------------------------------------------


namespace {
std::string url_with(const std::string& options) {
  return gocp::test::shared_cache_url("timeout_ms=2000&" + options);
}
/// A model for the cases that go through a repository.
struct Visitor {
  std::int64_t id = 0;
  std::string name;
};
// Whatever `fn` throws must be a ConfigurationError; returns its message.
template <class F>
std::string configuration_error(F&& fn) {
  return gocp::test::error_of<gocp::ConfigurationError>(fn);
}
}  // namespace

template <>
struct gocp::model<Visitor> {
  static constexpr std::string_view name = "verbs.visitor";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Visitor::id, "id"), gocp::field(&Visitor::name, "name", gocp::unique));
};

TEST_CASE("a cache made before fork(): the child's calls go over connections of its own, and its exit leaves the "
          "parent's",
          "[shared][fork]") {
  std::optional<FreshCache> f{std::in_place};
  f->cache.set("forked:parent", "1");  // the parent's connection, open and idle in the pool
  // the child's status: 2 if it did not read the parent's value, 3 if its own write failed
  gocp::test::check_exited_cleanly(gocp::test::run_processes(1, [&](int) {
    if (f->cache.get("forked:parent") != std::optional<std::string>("1")) return 2;
    f->cache.set("forked:child", "2");
    f.reset();  // closes the child's connections, not the parent's (libmemcached's close says `quit`)
    return 0;
  }, 30));
  for (int i = 0; i < 3; ++i) {  // the parent's connection still up: not one call fails
    CHECK(f->cache.get("forked:child") == std::optional<std::string>("2"));
    CHECK_NOTHROW(f->cache.set("forked:parent", std::to_string(i)));
  }
}

TEST_CASE("key_prefix and version keep deployments on one server apart", "[shared][keys]") {
  const std::string tag = std::to_string(getpid());
  gocp::CacheRegistry caches{{"a", url_with("key_prefix=shopA" + tag)},
                             {"b", url_with("key_prefix=shopB" + tag)},
                             {"a2", url_with("key_prefix=shopA" + tag + "&version=2")},
                             {"a_again", url_with("key_prefix=shopA" + tag)}};
  caches.cache("a").set("k", "from a");
  caches.cache("b").set("k", "from b");
  CHECK(caches.cache("a").get("k") == std::optional<std::string>("from a"));
  CHECK(caches.cache("b").get("k") == std::optional<std::string>("from b"));
  CHECK_FALSE(caches.cache("a2").get("k").has_value());  // a new version reads none of the old
  CHECK(caches.cache("a_again").get("k") == std::optional<std::string>("from a"));  // same prefix: shared
  auto& shared = dynamic_cast<gocp::SharedCache&>(caches.cache("a2"));
  CHECK(shared.server_key("k").find("shopA" + tag + ":2:") != std::string::npos);
}

TEST_CASE("the alias's ttl_s is the default TTL", "[shared][ttl]") {
  FreshCache f("ttl_s=1");
  f.cache.set("a", "1");
  f.cache.set("b", "2", gocp::Cache::Ttl{100});  // a per-call TTL wins
  std::this_thread::sleep_for(2100ms);
  CHECK_FALSE(f.cache.get("a").has_value());
  CHECK(f.cache.get("b") == std::optional<std::string>("2"));
}

TEST_CASE("shared cache URLs: bad options are ConfigurationErrors naming them", "[shared][registry]") {
  const std::string base = gocp::test::shared_cache_url();
  const std::string sep = base.find('?') == std::string::npos ? "?" : "&";
  CHECK_THAT(configuration_error([&] { gocp::CacheRegistry{{"x", base + sep + "timeout_ms=0"}}; }),
             Catch::Contains("timeout_ms"));
  CHECK_THAT(configuration_error([&] { gocp::CacheRegistry{{"x", base + sep + "pool=0"}}; }), Catch::Contains("pool"));
  CHECK_THAT(configuration_error([&] { gocp::CacheRegistry{{"x", base + sep + "colour=red"}}; }),
             Catch::Contains("colour"));
  CHECK_THAT(configuration_error([&] { gocp::CacheRegistry{{"x", base + sep + "version=x"}}; }),
             Catch::Contains("version"));
}

TEST_CASE("a server that is not there is a typed error from the verbs, never a hang", "[shared][errors]") {
  const int port = gocp::test::shared_cache_port();
  std::string url = gocp::test::shared_cache_url("timeout_ms=100&connect_timeout_ms=100");
  url.replace(url.find(std::to_string(port)), std::to_string(port).size(), "1");  // port 1: nobody listens
  gocp::CacheRegistry caches{{"x", url}};
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(caches.cache("x").get("a"), gocp::CacheUnavailable);
  CHECK_THROWS_AS(caches.cache("x").get("a"), gocp::CacheUnavailable);  // the open circuit: at once
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  const auto health = dynamic_cast<gocp::SharedCache&>(caches.cache("x")).health();
  CHECK(health.unavailable == 1);
  CHECK(health.skipped == 1);
  CHECK(health.open);
}

#ifdef GOCP_TEST_HAVE_REDIS

TEST_CASE("redis URLs: database number, unix sockets, passwords never shown", "[shared][registry][redis]") {
  CHECK_THAT(configuration_error([] { gocp::CacheRegistry{{"x", "redis://127.0.0.1:6379/zero"}}; }),
             Catch::Contains("database"));
  CHECK_THAT(configuration_error([] { gocp::CacheRegistry{{"x", "redis:///0"}}; }), Catch::Contains("no host"));
  CHECK_THAT(configuration_error([] { gocp::CacheRegistry{{"x", "redis+unix://host/tmp/x.sock"}}; }),
             Catch::Contains("socket path"));
  gocp::CacheRegistry bad_password{{"x", "redis://:hunter2@127.0.0.1:1/0?timeout_ms=100"}};
  try {
    bad_password.cache("x").get("a");
    FAIL("no error");
  } catch (const gocp::CacheError& e) {
    CHECK_THAT(e.what(), !Catch::Contains("hunter2"));
  }
}

TEST_CASE("redis over its unix socket: redis+unix:// and unix:// (as redis-py spells it) reach one server", "[shared][redis]") {
  const std::string path = gocp::test::redis_server().socket_path();
  gocp::CacheRegistry caches{{"tcp", gocp::test::redis_server().url("key_prefix=sock", 3)},
                             {"plus", "redis+unix://" + path + "?db=3&key_prefix=sock"},
                             {"bare", "unix://" + path + "?db=3&key_prefix=sock&timeout_ms=500"}};
  caches.cache("plus").set("k", "over the socket");
  CHECK(caches.cache("bare").get("k") == std::optional<std::string>("over the socket"));
  CHECK(caches.cache("tcp").get("k") == std::optional<std::string>("over the socket"));
  CHECK_THAT(configuration_error([] { gocp::CacheRegistry{{"x", "unix://host/tmp/x.sock"}}; }),
             Catch::Contains("unix URL names a socket path") && Catch::Contains("unix:///path/to/redis.sock"));
}

TEST_CASE("redis: a database the server does not have is a ConfigurationError at the first connection, never degraded",
          "[shared][redis]") {
  const std::string url = gocp::test::redis_server().url("key_prefix=nodb&timeout_ms=2000", 99);  // 16 by default
  gocp::CacheRegistry caches{{"default", url}, {"verbs.visitor", url}};  // accepted: the server is not asked yet
  CHECK_THAT(configuration_error([&] { (void)caches.cache("default").get("k"); }),
             Catch::Contains("database 99") && Catch::Contains("DB index is out of range") &&
                 Catch::Contains(std::to_string(gocp::test::redis_server().port()) + "/99"));
  const auto health = dynamic_cast<gocp::SharedCache&>(caches.cache("default")).health();
  CHECK(health.errors + health.unavailable + health.timeouts == 0);  // not an outage: the circuit stays closed

  // through a repository that caches: the first read surfaces it, instead of cache_errors climbing
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url());
  gocp::Repository<Visitor, gocp::CachedGetOrCreate> visitors{db, caches};
  visitors.create_table();
  CHECK_THAT(configuration_error([&] { (void)visitors.get_or_create(gocp::c(&Visitor::name) == "ann"); }),
             Catch::Contains("database 99"));
  CHECK(visitors.stats().cache_errors == 0);
  // a write's invalidation (noexcept) counts it and goes on: the row is written, nothing terminates
  CHECK(visitors.create(Visitor{0, "bob"}).id != 0);
  CHECK(visitors.count() == 1);
}

TEST_CASE("redis: two databases of one server are two caches", "[shared][redis]") {
  gocp::CacheRegistry caches{{"db1", gocp::test::redis_server().url("key_prefix=dbs", 1)},
                             {"db2", gocp::test::redis_server().url("key_prefix=dbs", 2)}};
  caches.cache("db1").set("k", "one");
  CHECK_FALSE(caches.cache("db2").get("k").has_value());
  CHECK(caches.cache("db1").get("k") == std::optional<std::string>("one"));
}

TEST_CASE("redis: get_many of 1000 keys is one round trip, set_many one pipeline", "[shared][redis]") {
  FreshCache f;
  auto& redis = dynamic_cast<gocp::RedisCache&>(f.cache);
  std::vector<std::string> keys, values;
  for (int i = 0; i < 1000; ++i) {
    keys.push_back("k" + std::to_string(i));
    values.push_back(std::string(static_cast<std::size_t>(i % 50), 'v'));
  }
  std::vector<std::pair<std::string_view, std::string_view>> items;
  for (int i = 0; i < 1000; ++i) items.emplace_back(keys[i], values[i]);
  const auto before_set = redis.round_trips();
  redis.set_many(items);
  CHECK(redis.round_trips() - before_set <= 2);  // a first connection's setup may add one
  std::vector<std::string_view> views(keys.begin(), keys.end());
  const auto before_get = redis.round_trips();
  const auto got = redis.get_many(views);
  CHECK(redis.round_trips() - before_get == 1);
  int right = 0;
  for (int i = 0; i < 1000; ++i) right += got[i] == std::optional<std::string>(values[i]);
  CHECK(right == 1000);
}

/// A raw connection to this run's redis-server, to act behind gocp's back.
struct RawRedis {
  std::unique_ptr<redisContext, gocp::detail::RedisContextDeleter> c{
      redisConnect("127.0.0.1", gocp::test::redis_server().port())};
  void command(const char* text) {
    REQUIRE(c);
    REQUIRE(c->err == 0);
    gocp::detail::RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), text)));
    REQUIRE(r);
    REQUIRE(r->type != REDIS_REPLY_ERROR);
  }
};

TEST_CASE("redis: get_following is one round trip, and one MGET when the hint is right", "[shared][redis][follow]") {
  FreshCache f;
  auto& redis = dynamic_cast<gocp::RedisCache&>(f.cache);
  put_followed(redis, "lookup", "i42", "obj", "1");
  for (std::string_view hint : {"", "i42"}) {
    const auto before = redis.round_trips();
    CHECK(follow(redis, "lookup", hint).object == std::optional<std::string>("obj"));
    CHECK(redis.round_trips() - before == 1);
  }
  const auto before = redis.round_trips();
  CHECK(follow(redis, "lookup", "i7").object == std::optional<std::string>("obj"));
  CHECK(redis.round_trips() - before == 2);  // a wrong hint costs one more read, never a wrong answer
}

TEST_CASE("redis: add_many and bump_and_drop_many of 1000 rows are one round trip each", "[shared][redis][batch]") {
  FreshCache f;
  auto& redis = dynamic_cast<gocp::RedisCache&>(f.cache);
  redis.set("warm", "1");  // the connection is open: its setup is not counted below
  std::vector<std::string> keys, entries;
  for (int i = 0; i < 1000; ++i) {
    keys.push_back("g" + std::to_string(i));
    entries.push_back("e" + std::to_string(i));
  }
  std::vector<std::pair<std::string_view, std::string_view>> items;
  for (int i = 0; i < 1000; ++i) items.emplace_back(entries[i], "entry");
  std::unique_ptr<bool[]> stored(new bool[1000]);
  auto before = redis.round_trips();
  redis.add_many(items, {stored.get(), 1000});
  CHECK(redis.round_trips() - before == 1);
  CHECK(std::all_of(stored.get(), stored.get() + 1000, [](bool b) { return b; }));
  std::vector<gocp::Cache::BumpAndDrop> bumps;
  for (int i = 0; i < 1000; ++i) bumps.push_back({keys[i], entries[i], 5});
  before = redis.round_trips();
  redis.bump_and_drop_many(bumps);
  CHECK(redis.round_trips() - before == 1);
  int right = 0;
  for (int i = 0; i < 1000; ++i) right += redis.get(keys[i]) == std::optional<std::string>("5") && !redis.get(entries[i]);
  CHECK(right == 1000);
}

TEST_CASE("redis: scripts flushed from the server (NOSCRIPT) are loaded again, never an error", "[shared][redis][follow]") {
  FreshCache f;
  auto& redis = dynamic_cast<gocp::RedisCache&>(f.cache);
  put_followed(redis, "lookup", "i1", "obj", "1");
  redis.set("g:i2", "1");
  redis.set("n", "1");
  RawRedis raw;
  raw.command("SCRIPT FLUSH");
  CHECK(follow(redis, "lookup").object == std::optional<std::string>("obj"));
  raw.command("SCRIPT FLUSH");
  CHECK(redis.increment("n") == std::optional<std::int64_t>(2));
  raw.command("SCRIPT FLUSH");
  const gocp::Cache::BumpAndDrop bumps[] = {{"g:i1", "o:i1", 9}, {"g:i2", "o:i2", 9}};
  redis.bump_and_drop_many(bumps);
  CHECK(redis.get("g:i1") == std::optional<std::string>("2"));  // each bumped once: only what was refused is sent again
  CHECK(redis.get("g:i2") == std::optional<std::string>("2"));
  CHECK_FALSE(redis.get("o:i1").has_value());
  CHECK(redis.health().errors == 0);
}

#endif

#ifdef GOCP_TEST_HAVE_MEMCACHED

TEST_CASE("memcached: a value over the item size limit is not cached, counted, not an error", "[shared][memcached]") {
  FreshCache f;
  f.cache.set("big", "small first");
  const std::string big(2 * 1024 * 1024, 'x');  // the test server's limit is 1 MB
  CHECK_NOTHROW(f.cache.set("big", big));
  CHECK_FALSE(f.cache.get("big").has_value());  // and not the older, smaller value either
  CHECK_FALSE(f.cache.add("big2", big));
  const auto health = dynamic_cast<gocp::SharedCache&>(f.cache).health();
  CHECK(health.oversize == 2);
  CHECK(health.errors == 0);
  CHECK_FALSE(health.open);
  f.cache.set("after", "fine");  // the connection is still in step
  CHECK(f.cache.get("after") == std::optional<std::string>("fine"));
}

TEST_CASE("memcached: keys it cannot hold are hashed, and never meet a key that looks hashed", "[shared][keys][memcached]") {
  FreshCache f;
  auto& shared = dynamic_cast<gocp::SharedCache&>(f.cache);
  const std::string long_key(300, 'a');
  CHECK(shared.server_key(long_key).size() < 250);
  CHECK(shared.server_key("with space").find(' ') == std::string::npos);
  CHECK(shared.server_key("plain") .find("plain") != std::string::npos);  // safe keys stay readable
  // a key spelled like the hashed form of another is itself hashed, so the two differ
  const std::string hashed = shared.server_key(long_key);
  CHECK(shared.server_key(hashed) != hashed);
}

TEST_CASE("memcached URLs: several servers, each with a port", "[shared][registry][memcached]") {
  CHECK_THAT(configuration_error([] { gocp::CacheRegistry{{"x", "memcached://a:1,:2"}}; }),
             Catch::Contains("empty server"));
  CHECK_THAT(configuration_error([] { gocp::CacheRegistry{{"x", "memcached://a:x,b:2"}}; }),
             Catch::Contains("bad port"));
  CHECK_NOTHROW(gocp::CacheRegistry{{"x", "memcached://127.0.0.1:1,127.0.0.1:2?timeout_ms=50"}});
}

#endif
