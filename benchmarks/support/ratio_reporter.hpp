#pragma once
// Shared by gocp's benchmarks: run with sensible defaults and print `ratio <label>: X.XXx`
// lines comparing gocp with the hand-written floor measured in the same run, over the
// medians of the repetitions. Two styles:
//
//   separate  gocp and the floor are benchmarks of their own; print_ratio() and
//             print_speedup() compare the two benchmarks' per-iteration real times.
//   paired    one benchmark runs both sides and reports the counters `ratio`, `gocp_ns`
//             and `floor_ns` itself; print_paired_ratio() shows their medians.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gocp::bench {

/// The median of `v`, or 0 if it is empty.
inline double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// The console output, plus each benchmark's per-repetition real time and counters.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) {
        failed_ = true;
      } else if (r.run_type == Run::RT_Iteration) {
        Samples& s = samples_[r.run_name.function_name];
        s.times.push_back(r.GetAdjustedRealTime());
        for (const auto& [name, value] : r.counters) s.counters[name].push_back(static_cast<double>(value));
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  /// The median per-iteration real time of `name`, or 0 if it did not run.
  double median(const std::string& name) const {
    const Samples* s = find(name);
    return s ? median_of(s->times) : 0;
  }

  /// The median over repetitions of `name`'s counter `counter`, or 0 if it has none.
  double median(const std::string& name, const std::string& counter) const {
    const std::vector<double>* v = counter_values(name, counter);
    return v ? median_of(*v) : 0;
  }

  bool failed() const { return failed_; }

  /// `ratio <label>: X.XXx` = median(gocp) / median(floor); with a target (> 0), shows
  /// it and flags a ratio above it.
  void print_ratio(const char* label, const std::string& gocp, const std::string& floor, double target = 0) const {
    const double g = median(gocp), f = median(floor);
    if (g <= 0 || f <= 0) return;  // filtered out
    std::printf("ratio %s: %.2fx%s  [%s %.0f / %s %.0f, medians, %s]%s\n", label, g / f, target_text("<=", target).c_str(),
                gocp.c_str(), g, floor.c_str(), f, unit_name(), target > 0 && g / f > target ? "  ** above target **" : "");
  }

  /// `ratio <label>: X.XXx` for a paired benchmark: the median over repetitions of its
  /// `ratio` counter, with the medians of `gocp_ns` and `floor_ns`; a target as print_ratio.
  void print_paired_ratio(const char* label, const std::string& name, double target = 0) const {
    const std::vector<double>* ratios = counter_values(name, "ratio");
    if (!ratios) return;  // filtered out
    const double ratio = median_of(*ratios);
    std::printf("ratio %s: %.2fx%s  [gocp %.0f ns, floor %.0f ns per call; medians of %zu runs]%s\n", label, ratio,
                target_text("<=", target).c_str(), median(name, "gocp_ns"), median(name, "floor_ns"), ratios->size(),
                target > 0 && ratio > target ? "  ** above target **" : "");
  }

  /// For a run_sides() benchmark: one line per side (the floor first) with the medians and
  /// [ranges] over repetitions of its ns per call, of its `ratio_<side>` counter (the median
  /// of per-round ratios: robust to a neighbour's load spike) and of its total time over
  /// the floor's (counts rare slow calls too, e.g. WAL checkpoints, that the first hides).
  void print_side_ratios(const char* label, const std::string& name, const std::vector<std::string>& sides) const {
    const Samples* s = find(name);
    if (!s || sides.empty()) return;  // filtered out
    auto shown = [](const std::vector<double>& v, const char* format) {
      if (v.empty()) return std::string("-");
      const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
      char out[96];
      std::snprintf(out, sizeof out, format, median_of(v), *lo, *hi);
      return std::string(out);
    };
    const std::vector<double>* floor_ns = counter_values(name, sides[0] + "_ns");
    if (!floor_ns) return;
    std::printf("%s (medians [ranges] of %zu runs):\n", label, s->times.size());
    for (std::size_t i = 0; i < sides.size(); ++i) {
      const std::vector<double>* ns = counter_values(name, sides[i] + "_ns");
      if (!ns) continue;
      std::string ratios = "(the floor)";
      if (i) {
        const std::vector<double>* r = counter_values(name, "ratio_" + sides[i]);
        std::vector<double> totals;
        for (std::size_t k = 0; k < ns->size() && k < floor_ns->size(); ++k) totals.push_back((*ns)[k] / (*floor_ns)[k]);
        ratios = "per round " + (r ? shown(*r, "%.2fx [%.2f..%.2f]") : std::string("-")) + ", total " +
                 shown(totals, "%.2fx [%.2f..%.2f]");
      }
      std::printf("  %-13s %s ns/op  %s\n", sides[i].c_str(), shown(*ns, "%8.0f [%.0f..%.0f]").c_str(), ratios.c_str());
    }
  }

  /// `speedup <label>: X.XXx` for a paired benchmark whose gocp side is the fast one:
  /// 1 / the median of its `ratio` counter; flags one below `target`.
  void print_paired_speedup(const char* label, const std::string& name, double target = 0) const {
    const std::vector<double>* ratios = counter_values(name, "ratio");
    if (!ratios) return;  // filtered out
    const double speedup = 1 / median_of(*ratios);
    std::printf("speedup %s: %.2fx%s  [fast %.0f ns, slow %.0f ns per call; medians of %zu runs]%s\n", label, speedup,
                target_text(">=", target).c_str(), median(name, "gocp_ns"), median(name, "floor_ns"), ratios->size(),
                target > 0 && speedup < target ? "  ** below target **" : "");
  }

  /// `speedup <label>: X.XXx` = median(slow) / median(fast); flags one below `target`.
  void print_speedup(const char* label, const std::string& slow, const std::string& fast, double target = 0) const {
    const double s = median(slow), f = median(fast);
    if (s <= 0 || f <= 0) return;
    std::printf("speedup %s: %.2fx%s  [%s %.0f / %s %.0f, medians, %s]%s\n", label, s / f,
                target_text(">=", target).c_str(), slow.c_str(), s, fast.c_str(), f, unit_name(),
                target > 0 && s / f < target ? "  ** below target **" : "");
  }

 private:
  struct Samples {
    std::vector<double> times;
    std::map<std::string, std::vector<double>> counters;
  };

  const Samples* find(const std::string& name) const {
    auto it = samples_.find(name);
    return it == samples_.end() ? nullptr : &it->second;
  }
  const std::vector<double>* counter_values(const std::string& name, const std::string& counter) const {
    const Samples* s = find(name);
    if (!s) return nullptr;
    auto it = s->counters.find(counter);
    return it == s->counters.end() || it->second.empty() ? nullptr : &it->second;
  }
  /// " (target <= 1.25x)", or "" without a target.
  static std::string target_text(const char* op, double target) {
    char shown[64] = "";
    if (target > 0) std::snprintf(shown, sizeof shown, " (target %s %.2fx)", op, target);
    return shown;
  }
  static const char* unit_name() { return "per iteration"; }

  std::map<std::string, Samples> samples_;
  bool failed_ = false;
};

inline bool has_flag(const std::vector<char*>& args, std::string_view flag) {
  return std::any_of(args.begin() + 1, args.end(), [&](const char* a) {
    const std::string_view s(a);
    return s.substr(0, flag.size()) == flag && (s.size() == flag.size() || s[flag.size()] == '=');
  });
}

/// The flags a benchmark gets unless its command line gives them.
struct Defaults {
  std::string_view min_time = "0.2";  // seconds
  int repetitions = 5;
  /// Random interleaving of the repetitions; a paired benchmark, which alternates its
  /// sides itself, turns it off.
  bool random_interleaving = true;
};

/// Parses the command line, adding `defaults` for the flags it does not give. False on
/// bad arguments (after printing them).
inline bool initialize(int argc, char** argv, const Defaults& defaults = {}) {
  std::vector<std::string> added;
  std::vector<char*> args(argv, argv + argc);
  if (!has_flag(args, "--benchmark_min_time"))
    added.push_back("--benchmark_min_time=" + std::string(defaults.min_time));
  if (!has_flag(args, "--benchmark_repetitions"))
    added.push_back("--benchmark_repetitions=" + std::to_string(defaults.repetitions));
  if (defaults.random_interleaving && !has_flag(args, "--benchmark_enable_random_interleaving"))
    added.push_back("--benchmark_enable_random_interleaving=true");
  for (std::string& a : added) args.push_back(a.data());
  args.push_back(nullptr);
  int n = static_cast<int>(args.size()) - 1;
  benchmark::Initialize(&n, args.data());
  return !benchmark::ReportUnrecognizedArguments(n, args.data());
}

/// Runs the registered benchmarks through `reporter`. False if one reported an error.
inline bool run(RatioReporter& reporter) {
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\n");
  return !reporter.failed();
}

/// initialize() then run(): gocp's defaults are 0.2 s, 5 repetitions, random interleaving.
inline bool run_benchmarks(int argc, char** argv, RatioReporter& reporter, const Defaults& defaults = {}) {
  return initialize(argc, argv, defaults) && run(reporter);
}

}  // namespace gocp::bench
