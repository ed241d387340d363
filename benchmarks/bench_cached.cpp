// Cached get_or_create vs the hand-written floor, in the same run:
//
//   cached_hit   paired (support/paired.hpp): Repository<Author, CachedGetOrCreate> on
//                locmem, a hit with the lookup expression built each call as a caller
//                would, vs a bare std::unordered_map<std::string, Author>: build the key,
//                find, copy the object out (target: gocp <= 4x the map)
//   cached_miss  paired: get_or_create of a new key each call (the SELECT finds nothing,
//                then the create), through that cached repository vs one without caches
//                on the same table: what the cache adds to a miss, its fill included
//                (target: <= 1.15x)
//   nested/atomic      1 parent + 100 children, each get_or_create in its own savepoint
//   nested/non_atomic  the same with NonAtomicGetOrCreate inside one transaction
//
// on a real SQLite file. Prints `ratio ...` / `speedup ...` lines at the end (medians).

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <unordered_map>

#include <gocp/gocp.hpp>

#include "support/paired.hpp"
#include "support/ratio_reporter.hpp"
#include "../tests/support/library_models.hpp"
#include "../tests/support/temp_dir.hpp"

using gocp::test::Author;
using gocp::test::Child;
using gocp::test::Parent;

namespace {

using gocp::c;

void cached_hit(benchmark::State& state) {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url());
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"library.author", "locmem:///"}};
  gocp::Repository<Author, gocp::CachedGetOrCreate> authors{db, caches};
  authors.create_table();
  const std::string first = "Leo", last = "Tolstoy";
  const Author leo =
      authors.get_or_create(c(&Author::first_name) == first && c(&Author::last_name) == last,
                            gocp::defaults(c(&Author::store) = "Amazon")).first;

  std::unordered_map<std::string, Author> map;
  map.emplace(first + '\0' + last, leo);

  gocp::bench::run_paired(
      state, 256, false,
      [&] { return authors.get_or_create(c(&Author::first_name) == first && c(&Author::last_name) == last); },
      [&] {
        std::string key = first;
        key += '\0';
        key += last;
        return std::pair<Author, bool>{map.find(key)->second, false};
      });
  if (authors.stats().hits < static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("not all hits");
}

void cached_miss(benchmark::State& state) {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url());
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"library.author", "locmem:///"}};
  gocp::Repository<Author, gocp::CachedGetOrCreate> cached{db, caches};
  gocp::Repository<Author> uncached{db};
  cached.create_table();
  std::int64_t n = 0;
  const std::string last = "Tolstoy";
  gocp::bench::run_paired(
      state, 64, true,
      [&] { return cached.get_or_create(c(&Author::first_name) == "c" + std::to_string(++n) && c(&Author::last_name) == last); },
      [&] { return uncached.get_or_create(c(&Author::first_name) == "u" + std::to_string(++n) && c(&Author::last_name) == last); });
  if (cached.stats().fills == 0) state.SkipWithError("the cached side filled nothing");
}

template <class... Policies>
void nested_creates(benchmark::State& state) {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url());
  gocp::Repository<Parent, Policies...> parents{db};
  gocp::Repository<Child, Policies...> children{db};
  parents.create_table();
  children.create_table();
  std::int64_t n = 0;
  for (auto _ : state) {
    db.atomic([&] {
      auto [parent, created] = parents.get_or_create(c(&Parent::name) == "parent " + std::to_string(n++));
      for (int i = 0; i < 100; ++i)
        children.get_or_create(c(&Child::parent_id) == parent.id && c(&Child::name) == std::to_string(i));
    });
  }
}

BENCHMARK(cached_hit)->Name("cached_hit")->UseManualTime();
BENCHMARK(cached_miss)->Name("cached_miss")->UseManualTime();
BENCHMARK(nested_creates<>)->Name("nested/atomic")->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(nested_creates<gocp::NonAtomicGetOrCreate>)->Name("nested/non_atomic")->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  gocp::bench::RatioReporter reporter;
  if (!gocp::bench::run_benchmarks(argc, argv, reporter)) return 1;
  reporter.print_paired_ratio("cached hit (gocp / unordered_map)", "cached_hit", 4.0);
  reporter.print_paired_ratio("cached miss, new key per call (cached / uncached get_or_create)", "cached_miss", 1.15);
  reporter.print_speedup("nested 1 + 100, non-atomic over atomic", "nested/atomic", "nested/non_atomic");
  benchmark::Shutdown();
  return 0;
}
