#pragma once
// run_paired(): gocp and the hand-written floor timed side by side in one benchmark, in
// alternating blocks of `block` calls (gocp first in one block pair, the floor first in
// the next). A pair's ratio compares two stretches of a few milliseconds each, so a
// neighbour's load that comes and goes hits both sides alike; the reported `ratio`
// counter is the median over all pairs. `Time` is one gocp call plus one floor call; the
// counters `gocp_ns` and `floor_ns` split it. Register with UseManualTime() and print
// with RatioReporter::print_paired_ratio().

#include <benchmark/benchmark.h>

#include <chrono>
#include <vector>

#include "ratio_reporter.hpp"

namespace gocp::bench {

/// Runs `gocp_call()` and `floor_call()` (each returning (object, created)) in paired
/// blocks; a wrong `created` fails the benchmark.
template <class GocpCall, class FloorCall>
void run_paired(benchmark::State& state, int block, bool expect_created, GocpCall&& gocp_call,
                FloorCall&& floor_call) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> ratios;
  double gocp_total = 0, floor_total = 0;
  bool ok = true;
  auto time_block = [&](auto& call) {
    const auto t0 = Clock::now();
    for (int i = 0; i < block; ++i) {
      auto result = call();
      ok = ok && result.second == expect_created;
      benchmark::DoNotOptimize(result);
    }
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  bool gocp_first = true;
  while (state.KeepRunningBatch(block)) {
    double g = 0, f = 0;
    if (gocp_first) {
      g = time_block(gocp_call);
      f = time_block(floor_call);
    } else {
      f = time_block(floor_call);
      g = time_block(gocp_call);
    }
    gocp_first = !gocp_first;
    ratios.push_back(g / f);
    gocp_total += g;
    floor_total += f;
    state.SetIterationTime(g + f);
  }
  if (!ok) state.SkipWithError(expect_created ? "a call found an existing row" : "a call created a row");
  const double calls = static_cast<double>(state.iterations());
  state.counters["gocp_ns"] = gocp_total / calls * 1e9;
  state.counters["floor_ns"] = floor_total / calls * 1e9;
  state.counters["ratio"] = median_of(ratios);
}

}  // namespace gocp::bench
