// gocp on Redis vs raw hiredis, in the same run, on a throwaway redis-server
// (tests/support/redis_server.hpp) over loopback TCP:
//
//   redis_hit        paired (support/paired.hpp): a cached get_or_create hit through
//                    Repository<Author, CachedGetOrCreate> with both aliases on Redis, vs
//                    a raw hiredis GET of the very bytes of that object's entry
//                    (target <= 1.15x). Counter `round_trips`: per gocp hit.
//   in_bulk/1000     Repository::in_bulk of 1000 pks whose objects are cached (one MGET
//                    of 1000 entries and 1000 generations) vs 1000 raw GETs of those
//                    entries, paired (target >= 30x) and as separate runs; counter
//                    `round_trips` per call (target <= 3).
//                    Diagnostic: the same in_bulk on a repository without caches (SQLite).
//   get_many/1000    the Cache verb get_many of 1000 keys (one MGET) vs 1000 raw GETs,
//                    counter `round_trips` per batch.
//   service          the service workload (support/service_workload.hpp) with both
//                    aliases on Redis vs cache-aside by hand over raw hiredis: GET of the
//                    (first, last) key; a miss is a raw sqlite3 SELECT then SET; a save an
//                    UPDATE then DEL (target <= 1.15x); `service_reads_only` the same
//                    without saves (diagnostic).
//
// Prints `ratio ...` / `speedup ...` lines at the end (medians).

#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <charconv>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gocp/backends/redis.hpp>
#include <gocp/gocp.hpp>

#include "support/paired.hpp"
#include "support/ratio_reporter.hpp"
#include "support/service_workload.hpp"
#include "../tests/support/library_models.hpp"
#include "../tests/support/redis_server.hpp"
#include "../tests/support/temp_dir.hpp"

using gocp::test::Author;

namespace {

using gocp::c;

gocp::test::RedisServer& server() {
  static gocp::test::RedisServer s;
  return s;
}

struct Raw {
  std::unique_ptr<redisContext, gocp::detail::RedisContextDeleter> c{redisConnect("127.0.0.1", server().port())};
  std::string get(const std::string& key) {
    std::unique_ptr<redisReply, gocp::detail::RedisReplyDeleter> r(
        static_cast<redisReply*>(redisCommand(c.get(), "GET %b", key.data(), key.size())));
    return r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : std::string();
  }
  std::vector<std::string> keys(const std::string& pattern) {
    std::unique_ptr<redisReply, gocp::detail::RedisReplyDeleter> r(
        static_cast<redisReply*>(redisCommand(c.get(), "KEYS %s", pattern.c_str())));
    std::vector<std::string> out;
    for (std::size_t i = 0; r && i < r->elements; ++i) out.emplace_back(r->element[i]->str, r->element[i]->len);
    return out;
  }
};

void redis_hit(benchmark::State& state) {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url());
  const std::string url = server().url("key_prefix=bench_hit");
  gocp::CacheRegistry caches{{"default", url}, {"library.author", url}};
  gocp::Repository<Author, gocp::CachedGetOrCreate> authors{db, caches};
  authors.create_table();
  const std::string first = "Leo", last = "Tolstoy";
  authors.get_or_create(c(&Author::first_name) == first && c(&Author::last_name) == last,
                        gocp::defaults(c(&Author::store) = "Amazon"));
  authors.get_or_create(c(&Author::first_name) == first && c(&Author::last_name) == last);  // filled
  Raw raw;
  const auto object_keys = raw.keys("bench_hit:*:o:*");
  if (object_keys.size() != 1) {
    state.SkipWithError("expected one object entry");
    return;
  }
  const std::string key = object_keys[0];
  auto& redis = dynamic_cast<gocp::RedisCache&>(caches.cache("library.author"));
  auto& lookups = dynamic_cast<gocp::RedisCache&>(caches.cache("default"));
  const auto trips_before = redis.round_trips() + lookups.round_trips();
  const auto hits_before = authors.stats().hits;
  gocp::bench::run_paired(
      state, 64, false,
      [&] { return authors.get_or_create(c(&Author::first_name) == first && c(&Author::last_name) == last); },
      [&] { return std::pair<std::string, bool>{raw.get(key), false}; });
  const auto hits = authors.stats().hits - hits_before;
  if (hits < static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("not all hits");
  state.counters["round_trips"] =
      static_cast<double>(redis.round_trips() + lookups.round_trips() - trips_before) / static_cast<double>(hits);
}

void get_many_1000(benchmark::State& state, bool batched) {
  gocp::CacheRegistry caches{{"c", server().url("key_prefix=bench_many")}};
  auto& redis = dynamic_cast<gocp::RedisCache&>(caches.cache("c"));
  std::vector<std::string> keys;
  std::vector<std::pair<std::string_view, std::string_view>> items;
  const std::string value(120, 'v');  // about an encoded Author
  for (int i = 0; i < 1000; ++i) keys.push_back("k" + std::to_string(i));
  for (const auto& k : keys) items.emplace_back(k, value);
  redis.set_many(items);
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  Raw raw;
  std::vector<std::string> server_keys;
  for (const auto& k : keys) server_keys.push_back(redis.server_key(k));
  const auto trips_before = redis.round_trips();
  for (auto _ : state) {
    if (batched) {
      auto got = redis.get_many(views);
      benchmark::DoNotOptimize(got);
    } else {
      for (const auto& k : server_keys) benchmark::DoNotOptimize(raw.get(k));
    }
  }
  state.counters["round_trips"] =
      batched ? static_cast<double>(redis.round_trips() - trips_before) / static_cast<double>(state.iterations()) : 1000;
}

/// 1000 authors, their objects cached by one in_bulk, and the server keys of their
/// object entries.
struct Bulk {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(dir.sqlite_url());
  std::string url = server().url("key_prefix=bench_bulk");
  gocp::CacheRegistry caches{{"default", url}, {"library.author", url}};
  gocp::Repository<Author> authors{db, caches};
  gocp::Repository<Author> plain{db};
  std::vector<std::int64_t> pks;
  Raw raw;
  std::vector<std::string> object_keys;

  explicit Bulk(benchmark::State& state) {
    authors.create_table();
    db.atomic([&] {
      for (int i = 0; i < 1000; ++i)
        pks.push_back(authors.create(Author{0, "first-" + std::to_string(i), "last", i, "Amazon"}).id);
    });
    if (authors.in_bulk(pks).size() != 1000) state.SkipWithError("in_bulk lost rows");  // fills
    object_keys = raw.keys("bench_bulk:*:o:*");
    if (object_keys.size() != 1000) state.SkipWithError("expected 1000 object entries");
  }
  gocp::RedisCache& objects() { return dynamic_cast<gocp::RedisCache&>(caches.cache("library.author")); }
  /// One in_bulk of every pk, through `repo`: (rows, false).
  std::pair<std::size_t, bool> in_bulk(const gocp::Repository<Author>& repo) {
    auto got = repo.in_bulk(pks);
    benchmark::DoNotOptimize(got);
    return {got.size(), false};
  }
  /// 1000 raw GETs of the object entries: (entries, false).
  std::pair<std::size_t, bool> raw_gets() {
    std::size_t n = 0;
    for (const auto& k : object_keys) n += !raw.get(k).empty();
    return {n, false};
  }
};

/// In_bulk of the 1000 pks (cached, or on a repository without caches) or 1000 raw GETs.
void in_bulk_1000(benchmark::State& state, int mode) {
  enum { cached, uncached, raw_gets };
  Bulk bulk(state);
  const auto trips_before = bulk.objects().round_trips();
  const auto hits_before = bulk.authors.stats().hits;
  for (auto _ : state) {
    const auto got = mode == raw_gets ? bulk.raw_gets() : bulk.in_bulk(mode == cached ? bulk.authors : bulk.plain);
    if (got.first != 1000) state.SkipWithError("rows lost");
  }
  const double n = static_cast<double>(state.iterations());
  if (mode == cached && static_cast<double>(bulk.authors.stats().hits - hits_before) != 1000 * n)
    state.SkipWithError("not every object was a hit");
  state.counters["round_trips"] =
      mode == raw_gets ? 1000 : static_cast<double>(bulk.objects().round_trips() - trips_before) / n;
}

/// The cached in_bulk and the 1000 raw GETs in alternating blocks (support/paired.hpp):
/// a neighbour's load hits both alike.
void in_bulk_1000_paired(benchmark::State& state) {
  Bulk bulk(state);
  gocp::bench::run_paired(
      state, 1, false, [&] { return bulk.in_bulk(bulk.authors); }, [&] { return bulk.raw_gets(); });
}

// ---- the service workload on Redis ---------------------------------------------------

using namespace gocp::bench::service;

/// The floor's value: the author's fields, as a user would lay them out by hand.
std::string encode_author(const Author& a) {
  std::string out = std::to_string(a.id);
  for (const std::string* s : {&a.first_name, &a.last_name}) {
    out += '\x1f';
    out += *s;
  }
  out += '\x1f';
  out += std::to_string(a.books_in_store);
  out += '\x1f';
  if (a.store) {
    out += '=';
    out += *a.store;
  }
  return out;
}

bool decode_author(std::string_view v, Author& a) {
  std::string_view parts[5];
  for (int i = 0; i < 5; ++i) {
    const std::size_t end = i < 4 ? v.find('\x1f') : v.size();
    if (end == std::string_view::npos) return false;
    parts[i] = v.substr(0, end);
    v.remove_prefix(i < 4 ? end + 1 : end);
  }
  std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), a.id);
  a.first_name.assign(parts[1]);
  a.last_name.assign(parts[2]);
  std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), a.books_in_store);
  if (parts[4].empty()) a.store.reset();
  else a.store = std::string(parts[4].substr(1));
  return true;
}

/// Cache-aside by hand: per thread a hiredis connection and a sqlite3 one.
struct RawRedisFloorSide final : Side {
  struct PerThread {
    Raw redis;
    std::unique_ptr<Connection> sql;
  };
  std::vector<PerThread> threads;
  explicit RawRedisFloorSide(const std::string& path) : threads(kThreads) {
    for (auto& t : threads) t.sql = std::make_unique<Connection>(path);
  }
  RawRedisFloorSide() : RawRedisFloorSide(make_database()) {}

  static std::string key_of(const std::string& first, const std::string& last) {
    std::string key = "floor:";
    key += first;
    key += '\0';
    key += last;
    return key;
  }

  void op(int thread, std::uint64_t i, std::uint32_t k) override {
    const Workload& w = Workload::get();
    PerThread& t = threads[static_cast<std::size_t>(thread)];
    const std::string key = key_of(w.first[k], w.last[k]);
    Author a;
    std::unique_ptr<redisReply, gocp::detail::RedisReplyDeleter> r(
        static_cast<redisReply*>(redisCommand(t.redis.c.get(), "GET %b", key.data(), key.size())));
    if (!r) throw std::runtime_error("floor: redis GET failed");
    if (r->type != REDIS_REPLY_STRING || !decode_author({r->str, r->len}, a)) {
      a = t.sql->find(w.first[k], w.last[k]);
      const std::string v = encode_author(a);
      r.reset(static_cast<redisReply*>(
          redisCommand(t.redis.c.get(), "SET %b %b", key.data(), key.size(), v.data(), v.size())));
      if (!r) throw std::runtime_error("floor: redis SET failed");
    }
    if (saves(i)) {
      ++a.books_in_store;
      t.sql->update(a);
      r.reset(static_cast<redisReply*>(redisCommand(t.redis.c.get(), "DEL %b", key.data(), key.size())));
      if (!r) throw std::runtime_error("floor: redis DEL failed");
    }
    benchmark::DoNotOptimize(a);
  }
};

void service_on_redis(benchmark::State& state) {
  const std::string url = server().url("key_prefix=bench_service");
  GocpSide gocp_side{url, url};
  RawRedisFloorSide floor_side;
  auto& objects = dynamic_cast<gocp::RedisCache&>(gocp_side.caches.cache("library.author"));
  auto& lookups = dynamic_cast<gocp::RedisCache&>(gocp_side.caches.cache("default"));
  const auto trips_before = objects.round_trips() + lookups.round_trips();
  const auto calls_before = gocp_side.authors.stats();
  run_service(state, gocp_side, floor_side);
  const auto calls = gocp_side.authors.stats();
  state.counters["round_trips"] = static_cast<double>(objects.round_trips() + lookups.round_trips() - trips_before) /
                                  static_cast<double>(calls.hits + calls.misses - calls_before.hits - calls_before.misses);
}

BENCHMARK(redis_hit)->Name("redis_hit")->UseManualTime();
BENCHMARK_CAPTURE(in_bulk_1000, cached, 0)->Name("in_bulk/1000/gocp_cached")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(in_bulk_1000, uncached, 1)->Name("in_bulk/1000/gocp_sqlite")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(in_bulk_1000, raw_gets, 2)->Name("in_bulk/1000/raw_gets")->Unit(benchmark::kMicrosecond);
BENCHMARK(in_bulk_1000_paired)->Name("in_bulk/1000/paired")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(get_many_1000, batched, true)->Name("get_many/1000/gocp_mget")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(get_many_1000, raw_gets, false)->Name("get_many/1000/raw_gets")->Unit(benchmark::kMicrosecond);
// a round on Redis takes about half a second: at least 3 s for several rounds per run
BENCHMARK(service_on_redis)->Name("service")->Arg(kSaveEvery)->UseManualTime()->MinTime(3)->Unit(benchmark::kNanosecond);
BENCHMARK(service_on_redis)->Name("service_reads_only")->Arg(0)->UseManualTime()->MinTime(3)->Unit(benchmark::kNanosecond);

}  // namespace

int main(int argc, char** argv) {
  server();  // started from the main thread (it dies with that thread)
  gocp::bench::RatioReporter reporter;
  if (!gocp::bench::run_benchmarks(argc, argv, reporter)) return 1;
  reporter.print_paired_ratio("redis hit (gocp get_or_create / raw GET)", "redis_hit", 1.15);
  reporter.print_paired_speedup("in_bulk of 1000 cached pks over 1000 raw GETs, paired", "in_bulk/1000/paired", 30);
  reporter.print_speedup("in_bulk of 1000 cached pks over 1000 raw GETs, separate runs", "in_bulk/1000/raw_gets",
                         "in_bulk/1000/gocp_cached");
  reporter.print_speedup("in_bulk of 1000 cached pks over in_bulk on SQLite (diagnostic)", "in_bulk/1000/gocp_sqlite",
                         "in_bulk/1000/gocp_cached");
  reporter.print_speedup("1000 keys, one MGET over 1000 raw GETs", "get_many/1000/raw_gets", "get_many/1000/gocp_mget");
  reporter.print_paired_ratio("service on Redis (gocp / hand-written cache-aside over raw hiredis), per operation",
                              "service", 1.15);
  reporter.print_paired_ratio("service on Redis, reads only (diagnostic)", "service_reads_only");
  benchmark::Shutdown();
  return reporter.failed() ? 1 : 0;
}
