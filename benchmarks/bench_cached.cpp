// Cached get_or_create vs the hand-written floor, in the same run:
//
//   cached_hit   paired (support/paired.hpp): Repository<Author, CachedGetOrCreate> on
//                locmem, a hit with the lookup expression built each call as a caller
//                would, vs a bare std::unordered_map<std::string, Author>: build the key,
//                find, copy the object out (target: gocp <= 4x the map)
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
BENCHMARK(nested_creates<>)->Name("nested/atomic")->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(nested_creates<gocp::NonAtomicGetOrCreate>)->Name("nested/non_atomic")->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  gocp::bench::RatioReporter reporter;
  if (!gocp::bench::run_benchmarks(argc, argv, reporter)) return 1;
  reporter.print_paired_ratio("cached hit (gocp / unordered_map)", "cached_hit", 4.0);
  reporter.print_speedup("nested 1 + 100, non-atomic over atomic", "nested/atomic", "nested/non_atomic");
  benchmark::Shutdown();
  return 0;
}
