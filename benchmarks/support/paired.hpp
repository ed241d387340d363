#pragma once
// run_paired(): gocp and the hand-written floor timed side by side in one benchmark, in
// alternating blocks of `block` calls (gocp first in one block pair, the floor first in
// the next). A pair's ratio compares two stretches of a few milliseconds each, so a
// neighbour's load that comes and goes hits both sides alike; the reported `ratio`
// counter is the median over all pairs. `Time` is one gocp call plus one floor call; the
// counters `gocp_ns` and `floor_ns` split it. Register with UseManualTime() and print
// with RatioReporter::print_paired_ratio().

#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ratio_reporter.hpp"

namespace gocp::bench {

/// Seconds taken by `block` calls of `call()` (each returning (object, created)); a
/// wrong `created` clears `ok`.
template <class Call>
double timed_block(Call& call, int block, bool expect_created, bool& ok) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < block; ++i) {
    auto result = call();
    ok = ok && result.second == expect_created;
    benchmark::DoNotOptimize(result);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Runs `gocp_call()` and `floor_call()` (each returning (object, created)) in paired
/// blocks; a wrong `created` fails the benchmark.
template <class GocpCall, class FloorCall>
void run_paired(benchmark::State& state, int block, bool expect_created, GocpCall&& gocp_call,
                FloorCall&& floor_call) {
  std::vector<double> ratios;
  double gocp_total = 0, floor_total = 0;
  bool ok = true;
  auto time_block = [&](auto& call) { return timed_block(call, block, expect_created, ok); };
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

/// run_paired() for more than two sides, e.g. gocp and the libraries a user would pick
/// instead, against the floor. Side 0 is the floor. Each round times one block of every
/// side, the first side of a round rotating so each leads as often. Counters per side
/// `<name>_ns` and, for the others, `ratio_<name>` (median over rounds of side / floor);
/// a side named "gocp" also sets `ratio`, `gocp_ns` and `floor_ns` as run_paired does.
template <std::size_t N, class... Calls>
void run_sides(benchmark::State& state, int block, bool expect_created, const std::array<const char*, N>& names,
               Calls&&... calls) {
  static_assert(N == sizeof...(Calls) && N >= 2, "run_sides: one name per side, floor first");
  std::array<std::vector<double>, N> ratios;
  std::array<double, N> totals{};
  bool ok = true;
  auto time_block = [&](auto& call) { return timed_block(call, block, expect_created, ok); };
  auto sides = std::forward_as_tuple(calls...);
  auto time_side = [&]<std::size_t... I>(std::size_t side, std::index_sequence<I...>) {
    double t = 0;
    ((I == side ? (t = time_block(std::get<I>(sides)), 0) : 0), ...);
    return t;
  };
  std::size_t first = 0;
  while (state.KeepRunningBatch(block)) {
    std::array<double, N> t{};
    for (std::size_t k = 0; k < N; ++k) {
      const std::size_t side = (first + k) % N;
      t[side] = time_side(side, std::make_index_sequence<N>{});
    }
    first = (first + 1) % N;
    double round = 0;
    for (std::size_t s = 0; s < N; ++s) {
      totals[s] += t[s];
      round += t[s];
      if (s) ratios[s].push_back(t[s] / t[0]);
    }
    state.SetIterationTime(round);
  }
  if (!ok) state.SkipWithError(expect_created ? "a call found an existing row" : "a call created a row");
  const double n = static_cast<double>(state.iterations());
  for (std::size_t s = 0; s < N; ++s) {
    const std::string name = names[s];
    state.counters[name + "_ns"] = totals[s] / n * 1e9;
    if (s) state.counters["ratio_" + name] = median_of(ratios[s]);
    if (s && name == "gocp") {
      state.counters["ratio"] = median_of(ratios[s]);
      state.counters["gocp_ns"] = totals[s] / n * 1e9;
      state.counters["floor_ns"] = totals[0] / n * 1e9;
    }
  }
}

}  // namespace gocp::bench
