#pragma once
// Shared by gocp's benchmarks: run with sensible defaults, keep each benchmark's
// per-repetition real times, and print `ratio <label>: X.XXx` lines comparing gocp with
// the hand-written floor measured in the same run (medians of the repetitions).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gocp::bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) {
        failed_ = true;
      } else if (r.run_type == Run::RT_Iteration) {
        times_[r.run_name.function_name].push_back(r.GetAdjustedRealTime());
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  /// The median per-iteration real time of `name`, or 0 if it did not run.
  double median(const std::string& name) const {
    auto it = times_.find(name);
    if (it == times_.end() || it->second.empty()) return 0;
    auto v = it->second;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  bool failed() const { return failed_; }

  /// `ratio <label>: X.XXx` = median(gocp) / median(floor); with a target (> 0), shows
  /// it and flags a ratio above it.
  void print_ratio(const char* label, const std::string& gocp, const std::string& floor, double target = 0) const {
    const double g = median(gocp), f = median(floor);
    if (g <= 0 || f <= 0) return;  // filtered out
    char shown[64] = "";
    if (target > 0) std::snprintf(shown, sizeof shown, " (target <= %.2fx)", target);
    std::printf("ratio %s: %.2fx%s  [%s %.0f / %s %.0f, medians, %s]%s\n", label, g / f, shown, gocp.c_str(), g,
                floor.c_str(), f, unit_name(), target > 0 && g / f > target ? "  ** above target **" : "");
  }

  /// `speedup <label>: X.XXx` = median(slow) / median(fast); flags one below `target`.
  void print_speedup(const char* label, const std::string& slow, const std::string& fast, double target = 0) const {
    const double s = median(slow), f = median(fast);
    if (s <= 0 || f <= 0) return;
    char shown[64] = "";
    if (target > 0) std::snprintf(shown, sizeof shown, " (target >= %.2fx)", target);
    std::printf("speedup %s: %.2fx%s  [%s %.0f / %s %.0f, medians, %s]%s\n", label, s / f, shown, slow.c_str(), s,
                fast.c_str(), f, unit_name(), target > 0 && s / f < target ? "  ** below target **" : "");
  }

 private:
  static const char* unit_name() { return "per iteration"; }
  std::map<std::string, std::vector<double>> times_;
  bool failed_ = false;
};

inline bool has_flag(const std::vector<char*>& args, std::string_view flag) {
  return std::any_of(args.begin() + 1, args.end(), [&](const char* a) {
    const std::string_view s(a);
    return s.substr(0, flag.size()) == flag && (s.size() == flag.size() || s[flag.size()] == '=');
  });
}

/// Runs the registered benchmarks with gocp's defaults (0.2 s, 5 repetitions, random
/// interleaving) unless the command line says otherwise. False on bad arguments or a
/// benchmark that reported an error.
inline bool run_benchmarks(int argc, char** argv, RatioReporter& reporter) {
  std::vector<char*> args(argv, argv + argc);
  static char min_time[] = "--benchmark_min_time=0.2";
  static char repetitions[] = "--benchmark_repetitions=5";
  static char interleave[] = "--benchmark_enable_random_interleaving=true";
  if (!has_flag(args, "--benchmark_min_time")) args.push_back(min_time);
  if (!has_flag(args, "--benchmark_repetitions")) args.push_back(repetitions);
  if (!has_flag(args, "--benchmark_enable_random_interleaving")) args.push_back(interleave);
  args.push_back(nullptr);
  int n = static_cast<int>(args.size()) - 1;
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return false;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\n");
  return !reporter.failed();
}

}  // namespace gocp::bench
