// LocMemCache under threads: 8 threads mixing every verb on overlapping keys, and the
// typed shelves' locks under 8 threads storing, reading and invalidating. Built as
// its own binary so it carries the `concurrency` label (and runs under TSan).

#include <catch2/catch.hpp>

#include <gocp/spi/cache.hpp>
#include <gocp/cache/locmem.hpp>
#include <gocp/cache/detail/typed_shelf.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

bool is_integer(std::string_view s) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  return ec == std::errc{} && end == s.data() + s.size();
}

}  // namespace

TEST_CASE("LocMemCache: 8 threads hammering overlapping keys never lose an increment",
          "[locmem][concurrency]") {
  constexpr int threads = 8;
  constexpr int iterations = 50'000;
  constexpr int shared_keys = 24;
  // Large enough that nothing is evicted: the counter must survive to be summed.
  gocp::LocMemCache store(4096);
  gocp::Cache& cache = store;
  cache.set("counter", "0");
  std::vector<std::string> keys;
  for (int k = 0; k < shared_keys; ++k) keys.push_back("shared-" + std::to_string(k));

  std::atomic<int> bad_values{0}, failed_counter_increments{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < iterations; ++i) {
        const std::string& k = keys[rng() % keys.size()];
        switch (rng() % 6) {
          case 0: cache.set(k, std::to_string(i)); break;
          case 1: cache.add(k, std::to_string(-i)); break;
          case 2: cache.remove(k); break;
          case 3: cache.increment(k, 3); break;  // may miss: removed by another thread
          default:
            if (auto v = cache.get(k); v && !is_integer(*v)) ++bad_values;
            break;
        }
        // The counter is only ever incremented: by t+1 on each iteration.
        if (!cache.increment("counter", t + 1)) ++failed_counter_increments;
      }
    });
  }
  go = true;
  for (auto& th : pool) th.join();

  CHECK(bad_values == 0);  // every value read was one some thread wrote whole
  CHECK(failed_counter_increments == 0);
  std::int64_t expected = 0;
  for (int t = 0; t < threads; ++t) expected += std::int64_t{iterations} * (t + 1);
  CHECK(cache.get("counter") == std::optional<std::string>(std::to_string(expected)));
  CHECK(store.size() <= static_cast<std::size_t>(shared_keys) + 1);
  for (const auto& k : keys)
    if (auto v = cache.get(k)) CHECK(is_integer(*v));
}

namespace {
struct Pair {  // both halves are written together: a torn copy shows as a mismatch
  std::int64_t id = 0;
  std::string left, right;
};
}  // namespace

TEST_CASE("typed shelves: 8 threads that store and read and invalidate never read a torn copy",
          "[locmem][typed][concurrency]") {
  constexpr int threads = 8;
  constexpr int iterations = 20'000;
  constexpr std::int64_t rows = 16;
  // Small enough that entries are evicted too: every path of a shard's lock is taken.
  gocp::detail::ObjectShelf<Pair> objects(64, std::chrono::seconds{0});
  gocp::detail::LookupShelf<Pair> lookups(64, std::chrono::seconds{0});
  std::atomic<int> torn{0}, kept_stale{0}, served{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < iterations; ++i) {
        const std::int64_t id = static_cast<std::int64_t>(rng() % rows);
        const gocp::Value pk{id};
        const gocp::detail::Hash128 key{static_cast<std::uint64_t>(id), 1};
        const std::uint64_t words[] = {static_cast<std::uint64_t>(id)};
        switch (rng() % 4) {
          case 0: {  // a write: every kept copy of the row is retired
            const gocp::Value* written[] = {&pk};
            objects.invalidate(written);
            break;
          }
          case 1: {  // a fill under the generation read first
            const std::string v = std::to_string(rng());
            gocp::detail::SeenGeneration seen;
            if (objects.store(pk, Pair{id, v, v}, objects.generation(pk), &seen))
              lookups.remember_hit(key, words, pk, Pair{id, v, v}, std::move(seen));
            break;
          }
          default: {  // a hit through the lookup, else through the object entry
            Pair out;
            std::optional<gocp::Value> mapped;
            std::optional<std::int64_t> generation;
            gocp::detail::SeenGeneration seen;
            if (lookups.find(key, words, out, mapped) || objects.get_into(pk, out, generation, &seen)) {
              ++served;
              if (out.id != id || out.left != out.right) ++torn;
            }
            if (mapped && *mapped != pk) ++kept_stale;
          }
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  CHECK(torn == 0);
  CHECK(kept_stale == 0);
  CHECK(served > 0);
  // after a last write to every row, no copy of any is served
  for (std::int64_t id = 0; id < rows; ++id) {
    const gocp::Value pk{id};
    const gocp::Value* written[] = {&pk};
    objects.invalidate(written);
    Pair out;
    std::optional<gocp::Value> mapped;
    const std::uint64_t words[] = {static_cast<std::uint64_t>(id)};
    CHECK_FALSE(lookups.find(gocp::detail::Hash128{static_cast<std::uint64_t>(id), 1}, words, out, mapped));
    std::optional<std::int64_t> generation;
    CHECK_FALSE(objects.get_into(pk, out, generation));
  }
}
