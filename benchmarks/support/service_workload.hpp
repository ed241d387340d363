#pragma once
// The service-shaped workload of bench_service (gocp on locmem) and bench_redis (gocp on
// Redis), each against the hand-written cache-aside a user would otherwise write, in the
// same run, each side on its own copy of one seeded SQLite file (WAL):
//
//   50,000 authors; 2 threads; keys drawn Zipf(0.99) (a fixed shuffle of ranks to keys);
//   1 operation in 100 is a save (read the object, bump books_in_store, write it back),
//   the others get_or_create of the unique (first_name, last_name) pair -- hits, once warm.
//
// Here: the key draws, the seeded database, the floor's raw sqlite3 connection (SELECT
// by the pair, UPDATE of every column by id), the workers, and run_service(): both sides
// warmed over every key, then rounds that alternate which side runs first, each round
// kBlock operations per thread on both threads at once; counters gocp_ns, floor_ns,
// ratio (the median of per-round gocp/floor ratios) and hit_rate.

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gocp/gocp.hpp>

#include "block_workers.hpp"
#include "database_copy.hpp"
#include "ratio_reporter.hpp"
#include "sqlite_fail.hpp"
#include "../../tests/support/library_models.hpp"
#include "../../tests/support/temp_dir.hpp"

namespace gocp::bench::service {

using gocp::test::Author;

constexpr int kRows = 50'000;
constexpr double kZipf = 0.99;
constexpr int kThreads = 2;
constexpr int kSaveEvery = 100;          // 1% of operations are saves (the headline)
constexpr std::size_t kDraws = 1 << 18;  // per thread, cycled
constexpr int kBlock = 4000;             // operations per thread per side per round

std::string first_name_of(std::uint32_t i) { return "first-" + std::to_string(i); }
std::string last_name_of(std::uint32_t i) { return "last-" + std::to_string(i); }

/// The key names and each thread's Zipf draws (different seeds, the same distribution).
struct Workload {
  std::vector<std::string> first, last;
  std::vector<std::vector<std::uint32_t>> draws;

  static const Workload& get() {
    static const Workload w = [] {
      Workload w;
      for (std::uint32_t i = 0; i < kRows; ++i) {
        w.first.push_back(first_name_of(i));
        w.last.push_back(last_name_of(i));
      }
      std::vector<double> cdf(kRows);
      double sum = 0;
      for (int r = 0; r < kRows; ++r) cdf[static_cast<std::size_t>(r)] = sum += 1 / std::pow(r + 1.0, kZipf);
      std::vector<std::uint32_t> key_of_rank(kRows);
      std::iota(key_of_rank.begin(), key_of_rank.end(), 0u);
      std::mt19937_64 shuffle(42);
      std::shuffle(key_of_rank.begin(), key_of_rank.end(), shuffle);
      for (int t = 0; t < kThreads; ++t) {
        std::mt19937_64 rng(1000 + static_cast<unsigned>(t));
        std::uniform_real_distribution<double> u(0, sum);
        auto& d = w.draws.emplace_back();
        for (std::size_t i = 0; i < kDraws; ++i) {
          const auto r = static_cast<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
          d.push_back(key_of_rank[std::min<std::size_t>(r, kRows - 1)]);
        }
      }
      return w;
    }();
    return w;
  }
};

/// A fresh copy of one database seeded once with kRows authors (gocp's own DDL).
std::string make_database() {
  static gocp::test::TempDir dir;
  static int files = 0;
  static const std::string seeded = [] {
    std::string path = dir.file("seed.db").string();
    auto db = gocp::Database::open("sqlite:///" + path);
    gocp::Repository<Author> authors{db};
    authors.create_table();
    db.atomic([&] {
      const Workload& w = Workload::get();
      for (std::uint32_t i = 0; i < kRows; ++i) authors.create(Author{0, w.first[i], w.last[i], 0, std::nullopt});
    });
    return path;
  }();
  std::string path = dir.file("copy-" + std::to_string(++files) + ".db").string();
  copy_database(seeded, path);
  return path;
}

// ---- the floor: cache-aside by hand ------------------------------------------------------

using gocp::bench::sqlite_fail;

/// One thread's sqlite3 connection, opened as gocp opens its own, with prepared statements.
class Connection {
 public:
  explicit Connection(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
      sqlite_fail(db_, "open");
    sqlite3_busy_timeout(db_, 5000);
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"})
      if (sqlite3_exec(db_, pragma, nullptr, nullptr, nullptr) != SQLITE_OK) sqlite_fail(db_, pragma);
    select_ = prepare(
        "SELECT id, first_name, last_name, books_in_store, store FROM library_author "
        "WHERE first_name = ? AND last_name = ? LIMIT 21");
    update_ = prepare(
        "UPDATE library_author SET first_name = ?, last_name = ?, books_in_store = ?, store = ? WHERE id = ?");
    increment_ = prepare("UPDATE library_author SET books_in_store = books_in_store + 1 WHERE id = ?");
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    sqlite3_finalize(select_);
    sqlite3_finalize(update_);
    sqlite3_finalize(increment_);
    sqlite3_close_v2(db_);
  }

  Author find(const std::string& first, const std::string& last) {
    bind(select_, 1, first);
    bind(select_, 2, last);
    if (sqlite3_step(select_) != SQLITE_ROW) {
      sqlite3_reset(select_);
      sqlite_fail(db_, "select found no row");
    }
    Author a;
    a.id = sqlite3_column_int64(select_, 0);
    a.first_name = text(select_, 1);
    a.last_name = text(select_, 2);
    a.books_in_store = sqlite3_column_int(select_, 3);
    if (sqlite3_column_type(select_, 4) != SQLITE_NULL) a.store = text(select_, 4);
    const int rc = sqlite3_step(select_);
    sqlite3_reset(select_);
    if (rc != SQLITE_DONE) sqlite_fail(db_, "select: several rows");
    return a;
  }

  void update(const Author& a) {
    bind(update_, 1, a.first_name);
    bind(update_, 2, a.last_name);
    sqlite3_bind_int(update_, 3, a.books_in_store);
    if (a.store) bind(update_, 4, *a.store);
    else sqlite3_bind_null(update_, 4);
    sqlite3_bind_int64(update_, 5, a.id);
    const int rc = sqlite3_step(update_);
    sqlite3_reset(update_);
    if (rc != SQLITE_DONE) sqlite_fail(db_, "update");
  }

  /// books_in_store + 1 on the row with id `id`, computed by the database.
  void increment_books(std::int64_t id) {
    sqlite3_bind_int64(increment_, 1, id);
    const int rc = sqlite3_step(increment_);
    sqlite3_reset(increment_);
    if (rc != SQLITE_DONE) sqlite_fail(db_, "increment");
  }

 private:
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) sqlite_fail(db_, sql);
    return st;
  }
  static void bind(sqlite3_stmt* st, int i, const std::string& s) {
    sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  }
  static std::string text(sqlite3_stmt* st, int i) {
    return {reinterpret_cast<const char*>(sqlite3_column_text(st, i)), static_cast<std::size_t>(sqlite3_column_bytes(st, i))};
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
  sqlite3_stmt* update_ = nullptr;
  sqlite3_stmt* increment_ = nullptr;
};

// ---- the two sides ---------------------------------------------------------------------

struct Side {
  virtual ~Side() = default;
  /// Operation `i` of `thread` on key `k`: a save when i % save_every == 0, else a read.
  virtual void op(int thread, std::uint64_t i, std::uint32_t k) = 0;
  /// gocp's repository counters, for the hit rate (a side with no caches: nullopt).
  virtual std::optional<gocp::Stats> cache_stats() const { return std::nullopt; }
  /// Whether an operation created a row (the workload should only hit).
  virtual bool created_a_row() const { return false; }
  std::uint64_t save_every = kSaveEvery;  ///< 0: never (the reads-only diagnostic)
  bool saves(std::uint64_t i) const { return save_every != 0 && i % save_every == 0; }
};

/// gocp's side: Repository<Author, CachedGetOrCreate> over its own copy of the database,
/// the lookups (`default`) and objects aliases on the URLs given; saves through the
/// repository (the change stream invalidates).
struct GocpSide final : Side {
  /// `url_options`: appended to the database's URL (`?watch=strict`: then create_table()
  /// installs the change log's triggers on the seeded table).
  GocpSide(const std::string& lookups_url, const std::string& objects_url, const std::string& url_options = "")
      : db(gocp::Database::open("sqlite:///" + make_database() + url_options)),
        caches{{"default", lookups_url}, {"library.author", objects_url}} {
    if (!url_options.empty()) authors.create_table();
  }

  gocp::Database db;
  gocp::CacheRegistry caches;
  gocp::Repository<Author, gocp::CachedGetOrCreate> authors{db, caches};
  std::atomic<bool> created{false};  ///< a get_or_create created a row: the workload should only hit

  std::optional<gocp::Stats> cache_stats() const override { return authors.stats(); }
  bool created_a_row() const override { return created; }

  void op(int, std::uint64_t i, std::uint32_t k) override {
    using gocp::c;
    const Workload& w = Workload::get();
    auto [a, made] = authors.get_or_create(c(&Author::first_name) == w.first[k] && c(&Author::last_name) == w.last[k]);
    if (made) created = true;
    if (saves(i)) {
      ++a.books_in_store;
      authors.save(a);
    }
    benchmark::DoNotOptimize(a);
  }
};

/// kThreads workers that run `kBlock` operations each of whichever side they are given,
/// all at once (support/block_workers.hpp); run() returns the wall time of one such block.
class Workers : public BlockWorkers<Side, std::uint32_t> {
 public:
  Workers() : BlockWorkers(Workload::get().draws, kBlock, "bench_service") {}
};

/// The workload on `gocp_side` and `floor_side`, with a save every state.range(0)
/// operations (0: none): Google Benchmark's loop body.
inline void run_service(benchmark::State& state, Side& gocp_side, Side& floor_side) {
  gocp_side.save_every = floor_side.save_every = static_cast<std::uint64_t>(state.range(0));
  Workers workers;
  // warm both caches over every key (the floor's misses fill it, gocp's create nothing)
  for (std::uint32_t k = 0; k < static_cast<std::uint32_t>(kRows); ++k) {
    gocp_side.op(0, 1, k);  // i = 1: never a save
    floor_side.op(0, 1, k);
  }
  const auto warm = gocp_side.cache_stats();
  std::vector<double> ratios;
  double gocp_total = 0, floor_total = 0;
  bool gocp_first = true;
  constexpr int kOps = kBlock * kThreads;
  while (state.KeepRunningBatch(kOps)) {
    double g = 0, f = 0;
    if (gocp_first) {
      g = workers.run(gocp_side);
      f = workers.run(floor_side);
    } else {
      f = workers.run(floor_side);
      g = workers.run(gocp_side);
    }
    gocp_first = !gocp_first;
    ratios.push_back(g / f);
    gocp_total += g;
    floor_total += f;
    state.SetIterationTime(g + f);
  }
  if (workers.failed()) state.SkipWithError("an operation failed");
  if (gocp_side.created_a_row()) state.SkipWithError("gocp created a row: the workload should only hit");
  const double ops = static_cast<double>(state.iterations());
  state.counters["gocp_ns"] = gocp_total / ops * 1e9;
  state.counters["floor_ns"] = floor_total / ops * 1e9;
  state.counters["ratio"] = median_of(ratios);
  if (const auto s = gocp_side.cache_stats(); s && warm)
    state.counters["hit_rate"] = static_cast<double>(s->hits - warm->hits) /
                                 static_cast<double>(s->hits - warm->hits + s->misses - warm->misses);
}


}  // namespace gocp::bench::service
