// gocp on Redis vs raw hiredis, in the same run, on a throwaway redis-server
// (tests/support/redis_server.hpp) over loopback TCP:
//
//   redis_hit        paired (support/paired.hpp): a cached get_or_create hit through
//                    Repository<Author, CachedGetOrCreate> with both aliases on Redis, vs
//                    a raw hiredis GET of the very bytes of that object's entry
//                    (target <= 1.15x). Counter `round_trips`: per gocp hit.
//   get_many/1000    the Cache verb get_many of 1000 keys (one MGET) vs 1000 raw GETs,
//                    counter `round_trips` per batch (the cached in_bulk is not built yet:
//                    Repository::in_bulk reads the database).
//
// Prints `ratio ...` / `speedup ...` lines at the end (medians).

#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gocp/backends/redis.hpp>
#include <gocp/gocp.hpp>

#include "support/paired.hpp"
#include "support/ratio_reporter.hpp"
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

BENCHMARK(redis_hit)->Name("redis_hit")->UseManualTime();
BENCHMARK_CAPTURE(get_many_1000, batched, true)->Name("get_many/1000/gocp_mget")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(get_many_1000, raw_gets, false)->Name("get_many/1000/raw_gets")->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  server();  // started from the main thread (it dies with that thread)
  gocp::bench::RatioReporter reporter;
  if (!gocp::bench::run_benchmarks(argc, argv, reporter)) return 1;
  reporter.print_paired_ratio("redis hit (gocp get_or_create / raw GET)", "redis_hit", 1.15);
  reporter.print_speedup("1000 keys, one MGET over 1000 raw GETs", "get_many/1000/raw_gets", "get_many/1000/gocp_mget");
  benchmark::Shutdown();
  return 0;
}
