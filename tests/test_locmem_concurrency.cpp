// LocMemCache under threads: 8 threads mixing every verb on overlapping keys. Built as
// its own binary so it carries the `concurrency` label (and runs under TSan).

#include <catch2/catch.hpp>

#include <gocp/spi/cache.hpp>
#include <gocp/cache/locmem.hpp>

#include <atomic>
#include <charconv>
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
