// The queryset verbs a service runs on every request, gocp against raw sqlite3 with
// prepared statements on the same file, in the same run (support/paired.hpp: alternating
// blocks, the median of per-pair ratios):
//
//   recent   a user's 20 most recent links:
//            filter(user_id == u).order_by(created_at desc).limit(20).all()
//            vs SELECT ... WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT 20
//   total    a user's total clicks: filter(user_id == u).aggregate(sum(clicks))
//            vs SELECT SUM(clicks) ... WHERE user_id = ?
//
// The models are tests/support/link_models.hpp's. 100,000 links of 5,000 users; users drawn Zipf(0.99) (many keys, skewed); one call in
// 100 also adds a click to one of the user's links (through gocp's update() on gocp's
// side, a prepared UPDATE on the floor's), so the statements run while the table is
// written. An index on (user_id, created_at) serves both sides.
//
//   bench_queries [--benchmark_repetitions=3] [google benchmark flags]

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gocp/gocp.hpp>

#include "support/paired.hpp"
#include "support/raw_links.hpp"
#include "support/zipf.hpp"
#include "support/ratio_reporter.hpp"
#include "../tests/support/link_models.hpp"
#include "../tests/support/temp_dir.hpp"

namespace bq {
namespace {

using gocp::c;
using links::Link;
using links::User;

constexpr int kUsers = 5'000;
constexpr int kLinks = 100'000;
constexpr int kBlock = 500;
constexpr int kWriteEvery = 100;
constexpr double kTarget = 1.05;

/// Users drawn Zipf(0.99) over a fixed shuffle of ranks to ids, cycled.
class Draws {
 public:
  Draws() {
    std::vector<std::int64_t> ids(kUsers);
    std::iota(ids.begin(), ids.end(), 1);
    std::mt19937_64 rng(42);
    const gocp::bench::Zipf<std::int64_t> zipf(std::move(ids), 0.99, rng);
    for (int i = 0; i < (1 << 16); ++i) users_.push_back(zipf.draw(rng));
  }
  std::int64_t next() { return users_[cursor_++ % users_.size()]; }

 private:
  std::vector<std::int64_t> users_;
  std::size_t cursor_ = 0;
};

/// One seeded file (gocp's own DDL, plus the index a service would add).
const std::string& database_path() {
  static gocp::test::TempDir dir;
  static const std::string path = [] {
    std::string p = dir.file("queries.db").string();
    auto db = gocp::Database::open("sqlite:///" + p);
    gocp::Repository<User> users{db};
    gocp::Repository<Link> link_rows{db};
    links::create_tables_with_index(db);
    std::mt19937_64 rng(7);
    db.atomic([&] {
      for (int u = 1; u <= kUsers; ++u) users.create(User{u, "user" + std::to_string(u) + "@example.com"});
      for (int i = 1; i <= kLinks; ++i)
        link_rows.create(Link{0, 1 + static_cast<std::int64_t>(rng() % kUsers), "https://example.com/" + std::to_string(i),
                          static_cast<int>(rng() % 1000),
                          gocp::Timestamp{std::chrono::microseconds{static_cast<std::int64_t>(rng() % 1'000'000'000)}},
                          std::nullopt});
    });
    return p;
  }();
  return path;
}

/// The floor: what a user writes by hand (support/raw_links.hpp), on the same file.
struct Raw : gocp::bench::RawLinks {
  Raw() : RawLinks(database_path()) {}
};

/// gocp's side, on its own handle to the same file.
struct Gocp {
  gocp::Database db = gocp::Database::open("sqlite:///" + database_path());
  gocp::Repository<Link> link_rows{db};

  std::vector<Link> recent(std::int64_t user) const {
    return link_rows.filter(c(&Link::user_id) == user).order_by(c(&Link::created_at).desc()).limit(20).all();
  }
  std::optional<std::int64_t> total(std::int64_t user) const {
    return std::get<0>(link_rows.filter(c(&Link::user_id) == user).aggregate(gocp::sum(&Link::clicks)));
  }
  void click(std::int64_t user) const {
    // the same row the floor picks: the user's first link
    if (auto first = link_rows.filter(c(&Link::user_id) == user).first())
      link_rows.filter(c(&Link::id) == first->id).update(c(&Link::clicks) += 1);
  }
};

/// One call of a side: the read, and every kWriteEvery-th call a click as well; returns
/// (what was read, false) for run_paired.
template <class Side, class Read>
auto call_of(Side& side, Draws& draws, std::uint64_t& n, Read read) {
  return [&side, &draws, &n, read] {
    const std::int64_t user = draws.next();
    auto got = read(side, user);
    if (++n % kWriteEvery == 0) side.click(user);
    return std::make_pair(std::move(got), false);
  };
}

void recent(benchmark::State& state) {
  Gocp g;
  Raw raw;
  Draws gd, rd;
  std::uint64_t gn = 0, rn = 0;
  auto ids = [](const std::vector<Link>& rows) {
    std::vector<std::int64_t> out;
    for (const Link& l : rows) out.push_back(l.id);
    return out;
  };
  if (ids(g.recent(1)) != ids(raw.recent(1))) state.SkipWithError("gocp and the floor read different rows");
  gocp::bench::run_paired(state, kBlock, false,
                          call_of(g, gd, gn, [](Gocp& s, std::int64_t u) { return s.recent(u); }),
                          call_of(raw, rd, rn, [](Raw& s, std::int64_t u) { return s.recent(u); }));
}

void total(benchmark::State& state) {
  Gocp g;
  Raw raw;
  Draws gd, rd;
  std::uint64_t gn = 0, rn = 0;
  if (g.total(1) != raw.total(1)) state.SkipWithError("gocp and the floor sum differently");
  gocp::bench::run_paired(state, kBlock, false,
                          call_of(g, gd, gn, [](Gocp& s, std::int64_t u) { return s.total(u); }),
                          call_of(raw, rd, rn, [](Raw& s, std::int64_t u) { return s.total(u); }));
}

BENCHMARK(recent)->Name("recent")->UseManualTime()->Unit(benchmark::kNanosecond);
BENCHMARK(total)->Name("total")->UseManualTime()->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace bq

int main(int argc, char** argv) {
  gocp::bench::RatioReporter reporter;
  if (!gocp::bench::run_benchmarks(argc, argv, reporter)) return 1;
  reporter.print_paired_ratio("recent (a user's 20 newest links: order_by + limit, vs raw sqlite3)", "recent",
                              bq::kTarget);
  reporter.print_paired_ratio("total (a user's clicks: aggregate(sum), vs raw sqlite3)", "total", bq::kTarget);
  benchmark::Shutdown();
  return reporter.failed() ? 1 : 0;
}
