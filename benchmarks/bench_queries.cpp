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

[[noreturn]] void fail(sqlite3* db, const char* what) {
  throw std::runtime_error(std::string("floor: ") + what + ": " + sqlite3_errmsg(db));
}

/// The floor: what a user writes by hand, on the same file.
class Raw {
 public:
  Raw() {
    if (sqlite3_open_v2(database_path().c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK)
      fail(db_, "open");
    sqlite3_busy_timeout(db_, 5000);
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"})
      if (sqlite3_exec(db_, pragma, nullptr, nullptr, nullptr) != SQLITE_OK) fail(db_, pragma);
    recent_ = prepare(
        "SELECT id, user_id, url, clicks, created_at, note FROM links_link WHERE user_id = ? "
        "ORDER BY created_at DESC, id DESC LIMIT 20");
    total_ = prepare("SELECT SUM(clicks) FROM links_link WHERE user_id = ?");
    click_ = prepare(
        "UPDATE links_link SET clicks = clicks + 1 WHERE id = (SELECT MIN(id) FROM links_link WHERE user_id = ?)");
  }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;
  ~Raw() {
    for (sqlite3_stmt* st : {recent_, total_, click_}) sqlite3_finalize(st);
    sqlite3_close_v2(db_);
  }

  std::vector<Link> recent(std::int64_t user) {
    sqlite3_bind_int64(recent_, 1, user);
    std::vector<Link> out;
    while (sqlite3_step(recent_) == SQLITE_ROW) {
      Link l;
      l.id = sqlite3_column_int64(recent_, 0);
      l.user_id = sqlite3_column_int64(recent_, 1);
      l.url.assign(reinterpret_cast<const char*>(sqlite3_column_text(recent_, 2)),
                   static_cast<std::size_t>(sqlite3_column_bytes(recent_, 2)));
      l.clicks = sqlite3_column_int(recent_, 3);
      l.created_at = gocp::Timestamp{std::chrono::microseconds{sqlite3_column_int64(recent_, 4)}};
      if (sqlite3_column_type(recent_, 5) != SQLITE_NULL)
        l.note.emplace(reinterpret_cast<const char*>(sqlite3_column_text(recent_, 5)),
                       static_cast<std::size_t>(sqlite3_column_bytes(recent_, 5)));
      out.push_back(std::move(l));
    }
    sqlite3_reset(recent_);
    return out;
  }

  std::optional<std::int64_t> total(std::int64_t user) {
    sqlite3_bind_int64(total_, 1, user);
    std::optional<std::int64_t> out;
    if (sqlite3_step(total_) == SQLITE_ROW && sqlite3_column_type(total_, 0) != SQLITE_NULL)
      out = sqlite3_column_int64(total_, 0);
    sqlite3_reset(total_);
    return out;
  }

  void click(std::int64_t user) {
    sqlite3_bind_int64(click_, 1, user);
    const int rc = sqlite3_step(click_);
    sqlite3_reset(click_);
    if (rc != SQLITE_DONE) fail(db_, "click");
  }

 private:
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) fail(db_, sql);
    return st;
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* recent_ = nullptr;
  sqlite3_stmt* total_ = nullptr;
  sqlite3_stmt* click_ = nullptr;
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
