// Cached querysets (issue 19) on a service-shaped workload, in one run, against what a user
// would otherwise write:
//
//   10,000 users, each with 20-50 links (tests/support/link_models.hpp); 2 threads; users
//   drawn Zipf(0.99) (a fixed shuffle of ranks to ids, a seed per thread); every operation
//   reads the user's 20 newest links,
//       filter(user_id == u).order_by(created_at desc).limit(20).all()
//   and one in 100 also writes (in turn: a link's clicks += 1 by update(), a link's url
//   changed by save(), a link added for the user by create()).
//
// The sides, each on its own copy of one seeded SQLite file (WAL, an index on
// (user_id, created_at)):
//
//   uncached  Repository<Link>: every read is the query on SQLite.
//   cached    the same queryset with .cache() on locmem (h-qcache's query cache): a write
//             invalidates only the results whose user it touched (precise invalidation).
//   cached_shared  cached, each read handed out by all_shared(): the cached list itself,
//             no row copied (its own locmem store).
//   by_hand   what a user writes: std::unordered_map<user id, std::vector<Link>> under a
//             std::mutex, a miss read through Repository<Link>, cleared table-wide on every
//             write (the user cannot know which cached lists a write changed).
//
// Both caches are warmed over every user first. Each round runs kBlock operations per
// thread of every side, the side that leads rotating. Printed: ns per operation of each
// side (medians of per-round ratios; a write's own time is the same on every side), each
// side's reads alone (their latency while the writes run, misses included), and on them
// `speedup cached vs uncached` (target >= 20x; also for cached_shared) and `ratio cached / by_hand` (target
// <= 1.2x), and the SQL statements each side sent per 1000 operations (precise: target
// <= 1/3 of table-wide's). `links_service_reads_only`:
// the same without writes (diagnostic: every cached read a hit).
//
// With gocp::redis: `redis_query_hit`, a cached hit of the query on Redis (a throwaway
// redis-server) vs a raw hiredis GET of the very bytes of its entry, paired (target <= 1.2x).
//
//   bench_cached_queries [--benchmark_repetitions=3] [google benchmark flags]

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <gocp/gocp.hpp>

#include "support/block_workers.hpp"
#include "support/database_copy.hpp"
#include "support/paired.hpp"
#include "support/ratio_reporter.hpp"
#include "support/zipf.hpp"
#include "../tests/support/link_models.hpp"
#include "../tests/support/temp_dir.hpp"

#ifdef GOCP_BENCH_REDIS
#include <hiredis/hiredis.h>

#include <gocp/backends/redis.hpp>

#include "../tests/support/redis_server.hpp"
#endif

namespace bcq {
namespace {

using gocp::c;
using links::Link;
using links::User;

constexpr int kUsers = 10'000;
constexpr int kThreads = 2;
constexpr int kWriteEvery = 100;          // 1% of operations also write (the headline)
constexpr std::size_t kDraws = 1 << 17;   // per thread, cycled
constexpr int kBlock = 2000;              // operations per thread per side per round
constexpr double kSpeedupTarget = 20;     // cached vs uncached
constexpr double kRatioTarget = 1.2;      // cached / by hand
constexpr double kStatementsTarget = 1.0 / 3;  // precise / table-wide

/// Each thread's users, drawn Zipf(0.99) over a fixed shuffle of ranks to ids.
const std::vector<std::vector<std::int64_t>>& draws() {
  static const auto all = [] {
    std::vector<std::int64_t> ids(kUsers);
    std::iota(ids.begin(), ids.end(), 1);
    std::mt19937_64 shuffle(42);
    const gocp::bench::Zipf<std::int64_t> zipf(std::move(ids), 0.99, shuffle);
    std::vector<std::vector<std::int64_t>> out(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      std::mt19937_64 rng(1000 + static_cast<unsigned>(t));
      for (std::size_t i = 0; i < kDraws; ++i) out[static_cast<std::size_t>(t)].push_back(zipf.draw(rng));
    }
    return out;
  }();
  return all;
}

/// A fresh copy of one file seeded once: kUsers users with 20-50 links each, and the index
/// a service would add for the query; each copy a database of its own (its identity renewed).
std::string make_database() {
  static gocp::test::TempDir dir;
  static int copies = 0;
  static const std::string seeded = [] {
    std::string path = dir.file("seed.db").string();
    auto db = gocp::Database::open("sqlite:///" + path);
    links::seed_users_with_links(db, kUsers, [](std::mt19937_64& rng) { return 20 + static_cast<int>(rng() % 31); });
    return path;
  }();
  std::string path = dir.file("copy-" + std::to_string(++copies) + ".db").string();
  gocp::bench::copy_database(seeded, path);
  return path;
}

/// The query every operation runs, on any repository of links.
template <class Repo>
std::vector<Link> newest_links(const Repo& repo, std::int64_t user) {
  return repo.filter(c(&Link::user_id) == user).order_by(c(&Link::created_at).desc()).limit(20).all();
}

/// The same query, its result shared rather than copied (all_shared()).
template <class Repo>
std::shared_ptr<const std::vector<Link>> shared_newest_links(const Repo& repo, std::int64_t user) {
  return repo.filter(c(&Link::user_id) == user).order_by(c(&Link::created_at).desc()).limit(20).all_shared();
}

/// Operation `n`'s write, through `repo`, for `user` whose newest links are `seen`: a
/// click, a new url or a new link, in turn.
template <class Repo>
void write_one(const Repo& repo, std::uint64_t n, std::int64_t user, const std::vector<Link>& seen) {
  static std::atomic<std::int64_t> newer{2'000'000'000};  // a new link is the user's newest
  switch ((n / kWriteEvery) % 3) {
    case 0:
      repo.filter(c(&Link::id) == seen.front().id).update(c(&Link::clicks) += 1);
      break;
    case 1: {
      Link changed = seen.back();
      changed.url = "https://example.com/changed/" + std::to_string(n);
      repo.save(changed);
      break;
    }
    default:
      repo.create(Link{0, user, "https://example.com/new/" + std::to_string(n), 0,
                       gocp::Timestamp{std::chrono::microseconds{++newer}}, std::nullopt});
  }
}

/// One side of the comparison: operation `n` for `user` (its read, and its write when
/// n % kWriteEvery == 0), and the SQL statements it has sent so far.
struct Side {
  virtual ~Side() = default;
  std::uint64_t write_every = kWriteEvery;  ///< 0: never (the reads-only diagnostic)
  bool writes(std::uint64_t n) const { return write_every != 0 && n % write_every == 0; }
  /// What BlockWorkers runs: the operation, refusing an answer with no link (every user has 20).
  void op(int thread, std::uint64_t n, std::int64_t user) {
    clock_ = &read_clocks[static_cast<std::size_t>(thread)];
    if (read_and_write(n, user) == 0) throw std::runtime_error("read no link of user " + std::to_string(user));
  }
  virtual std::size_t read_and_write(std::uint64_t n, std::int64_t user) = 0;
  virtual std::uint64_t statements() const = 0;

  /// Nanoseconds spent in reads, and reads made (timed_read), per worker thread: a read's
  /// latency while the writes run, apart from the writes' own time, which every side pays
  /// alike. A cache line per thread: shared counters, written by both threads on every
  /// read, would add their cache-line transfers to every side's reads (about a tenth of a
  /// cached hit's time), which a service's reads do not pay.
  struct alignas(64) ReadClock {
    std::uint64_t ns = 0, count = 0;
  };
  std::array<ReadClock, kThreads> read_clocks{};
  /// The sum over threads, once the workers are between rounds.
  ReadClock read_total() const {
    ReadClock sum;
    for (const ReadClock& c : read_clocks) sum.ns += c.ns, sum.count += c.count;
    return sum;
  }
  /// read(), timed into the calling worker's ReadClock.
  template <class Read>
  auto timed_read(Read&& read) {
    const auto start = std::chrono::steady_clock::now();
    auto got = read();
    clock_->ns += static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
    ++clock_->count;
    return got;
  }

 private:
  static inline thread_local ReadClock* clock_ = nullptr;  ///< this thread's, set by op()
};

/// Every read a query on SQLite.
struct Uncached final : Side {
  gocp::Database db = gocp::Database::open("sqlite:///" + make_database());
  gocp::Repository<Link> link_rows{db};

  std::size_t read_and_write(std::uint64_t n, std::int64_t user) override {
    const std::vector<Link> got = timed_read([&] { return newest_links(link_rows, user); });
    if (writes(n)) write_one(link_rows, n, user, got);
    return got.size();
  }
  std::uint64_t statements() const override { return link_rows.stats().db_queries; }
};

/// The same queryset with .cache() on locmem: a write invalidates the results of the
/// users whose rows it changed (before or after), no other. With `shared`, each read is
/// handed out as the cached list itself (all_shared(): no row copied), on a store of
/// its own (`cached_shared`).
struct Cached final : Side {
  explicit Cached(bool shared_results)
      : shared(shared_results),
        caches{{"default", store(shared_results)}, {"links.link", store(shared_results)}} {}
  const bool shared;
  gocp::Database db = gocp::Database::open("sqlite:///" + make_database());
  gocp::CacheRegistry caches;
  gocp::Repository<Link> link_rows{db, caches};

  static std::string store(bool shared) {
    return shared ? "locmem:///bench-cached-queries-shared?max_entries=100000"
                  : "locmem:///bench-cached-queries?max_entries=100000";
  }
  std::size_t read_and_write(std::uint64_t n, std::int64_t user) override {
    if (shared) {
      const auto got = timed_read([&] { return shared_newest_links(link_rows.cache(), user); });
      if (writes(n)) write_one(link_rows, n, user, *got);
      return got->size();
    }
    const std::vector<Link> got = timed_read([&] { return newest_links(link_rows.cache(), user); });
    if (writes(n)) write_one(link_rows, n, user, got);
    return got.size();
  }
  std::uint64_t statements() const override { return link_rows.stats().db_queries; }
};

/// The hand-written cache: the query's results by user under one mutex, all dropped on
/// every write.
struct ByHand final : Side {
  gocp::Database db = gocp::Database::open("sqlite:///" + make_database());
  gocp::Repository<Link> link_rows{db};
  std::mutex mutex;
  std::unordered_map<std::int64_t, std::vector<Link>> results;

  std::vector<Link> read(std::int64_t user) {
    {
      std::lock_guard lock(mutex);
      if (auto it = results.find(user); it != results.end()) return it->second;
    }
    std::vector<Link> got = newest_links(link_rows, user);
    std::lock_guard lock(mutex);
    results.emplace(user, got);  // a write may have cleared the map meanwhile: the same race a user's code has
    return got;
  }
  std::size_t read_and_write(std::uint64_t n, std::int64_t user) override {
    const std::vector<Link> got = timed_read([&] { return read(user); });
    if (writes(n)) {
      write_one(link_rows, n, user, got);
      std::lock_guard lock(mutex);
      results.clear();
    }
    return got.size();
  }
  std::uint64_t statements() const override { return link_rows.stats().db_queries; }
};

/// The workload on every side of `sides` (names[i] for sides[i]; side 0 the uncached one):
/// warmed over every user (no write), then rounds of one block per side. Counters per
/// side: `<name>_ns` per operation, `sql_<name>` statements per 1000 operations, and
/// `ratio_<name>` (median over rounds of the side's time over side 0's).
template <std::size_t N>
void run_sides(benchmark::State& state, const std::array<const char*, N>& names, const std::array<Side*, N>& sides) {
  for (Side* side : sides) side->write_every = static_cast<std::uint64_t>(state.range(0));
  for (Side* side : sides)
    for (std::int64_t u = 1; u <= kUsers; ++u) side->op(0, 1, u);  // n = 1: never a write
  std::array<std::uint64_t, N> warm{};
  for (std::size_t s = 0; s < N; ++s) {
    warm[s] = sides[s]->statements();
    sides[s]->read_clocks = {};
  }
  gocp::bench::BlockWorkers<Side, std::int64_t> workers(draws(), kBlock, "bench_cached_queries");
  std::array<std::vector<double>, N> ratios;
  std::array<double, N> totals{};
  std::size_t first = 0;
  constexpr int kOps = kBlock * kThreads;
  while (state.KeepRunningBatch(kOps)) {
    std::array<double, N> t{};
    for (std::size_t k = 0; k < N; ++k) t[(first + k) % N] = workers.run(*sides[(first + k) % N]);
    first = (first + 1) % N;
    double round = 0;
    for (std::size_t s = 0; s < N; ++s) {
      totals[s] += t[s];
      round += t[s];
      ratios[s].push_back(t[s] / t[0]);
    }
    state.SetIterationTime(round);
  }
  if (workers.failed()) state.SkipWithError("an operation failed or read no link");  // printed by the worker
  const double ops = static_cast<double>(state.iterations());
  for (std::size_t s = 0; s < N; ++s) {
    const std::string name = names[s];
    state.counters[name + "_ns"] = totals[s] / ops * 1e9;
    state.counters["ratio_" + name] = gocp::bench::median_of(ratios[s]);
    state.counters["sql_" + name] = static_cast<double>(sides[s]->statements() - warm[s]) / ops * 1000;
    const Side::ReadClock reads = sides[s]->read_total();
    state.counters[name + "_read_ns"] =
        static_cast<double>(reads.ns) / static_cast<double>(std::max<std::uint64_t>(1, reads.count));
  }
}

void links_service(benchmark::State& state) {
  Uncached uncached;
  Cached cached{false};
  ByHand by_hand;
  Cached cached_shared{true};
  run_sides<4>(state, {"uncached", "cached", "by_hand", "cached_shared"}, {&uncached, &cached, &by_hand, &cached_shared});
}

BENCHMARK(links_service)->Name("links_service")->Arg(kWriteEvery)->UseManualTime()->Unit(benchmark::kNanosecond);
// diagnostic: the same without writes (every cached read a hit once warm)
BENCHMARK(links_service)->Name("links_service_reads_only")->Arg(0)->UseManualTime()->Unit(benchmark::kNanosecond);

#ifdef GOCP_BENCH_REDIS
gocp::test::RedisServer& redis_server() {
  static gocp::test::RedisServer server;
  return server;
}

/// A cached query hit on Redis (the user's 20 newest links: the entry and its versions in
/// one MGET, decoded) vs a raw hiredis GET of the very bytes of that entry, paired
/// (support/paired.hpp). Counter `round_trips`: per gocp hit.
void redis_query_hit(benchmark::State& state) {
  const std::string url = redis_server().url("key_prefix=bench_qhit");
  gocp::Database db = gocp::Database::open("sqlite:///" + make_database());
  gocp::CacheRegistry caches{{"default", url}, {"links.link", url}};
  gocp::Repository<Link> link_rows{db, caches};
  constexpr std::int64_t kUser = 1;
  newest_links(link_rows.cache(), kUser);  // filled
  std::unique_ptr<redisContext, gocp::detail::RedisContextDeleter> raw{redisConnect("127.0.0.1", redis_server().port())};
  std::unique_ptr<redisReply, gocp::detail::RedisReplyDeleter> listed(
      static_cast<redisReply*>(redisCommand(raw.get(), "KEYS %s", "bench_qhit:*q:*")));
  if (!listed || listed->elements != 1) {
    state.SkipWithError("expected one query entry on the server");
    return;
  }
  const std::string key(listed->element[0]->str, listed->element[0]->len);
  auto& redis = dynamic_cast<gocp::RedisCache&>(caches.cache("default"));
  const auto trips_before = redis.round_trips();
  const auto hits_before = link_rows.stats().hits;
  gocp::bench::run_paired(
      state, 64, false, [&] { return std::make_pair(newest_links(link_rows.cache(), kUser), false); },
      [&] {
        std::unique_ptr<redisReply, gocp::detail::RedisReplyDeleter> r(
            static_cast<redisReply*>(redisCommand(raw.get(), "GET %b", key.data(), key.size())));
        return std::make_pair(r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : std::string(), false);
      });
  const auto hits = link_rows.stats().hits - hits_before;
  if (hits < static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("not every gocp read was a hit");
  state.counters["round_trips"] = static_cast<double>(redis.round_trips() - trips_before) / static_cast<double>(hits);
}

BENCHMARK(redis_query_hit)->Name("redis_query_hit")->UseManualTime()->Unit(benchmark::kNanosecond);
#endif

/// The figures of `name`: each side's time and statements, and with `targets` the targets.
void print_figures(const gocp::bench::RatioReporter& r, const std::string& name, bool targets) {
  const double uncached = r.median(name, "uncached_ns");
  if (uncached <= 0) return;  // filtered out
  std::printf("%s (medians over repetitions; per operation, 2 threads):\n", name.c_str());
  for (const char* side : {"uncached", "cached", "by_hand", "cached_shared"}) {
    const double ns = r.median(name, std::string(side) + "_ns");
    if (ns <= 0) continue;
    std::printf("  %-9s %9.0f ns/op  %7.1f SQL statements per 1000 ops  (%.3fx uncached, per round)\n", side, ns,
                r.median(name, std::string("sql_") + side), r.median(name, std::string("ratio_") + side));
  }
  const double uncached_read = r.median(name, "uncached_read_ns"), cached_read = r.median(name, "cached_read_ns"),
               by_hand_read = r.median(name, "by_hand_read_ns");
  const double shared_read = r.median(name, "cached_shared_read_ns");
  std::printf("  reads alone (the query's latency while the writes run; misses included): uncached %.0f ns, cached "
              "%.0f ns, by_hand %.0f ns, cached_shared %.0f ns\n",
              uncached_read, cached_read, by_hand_read, shared_read);
  if (targets && cached_read > 0) {
    std::printf("speedup cached vs uncached, reads: %.1fx (target >= %.0fx)%s\n", uncached_read / cached_read,
                kSpeedupTarget, uncached_read / cached_read < kSpeedupTarget ? "  ** below target **" : "");
    if (shared_read > 0)
      std::printf("speedup cached_shared (all_shared(): the cached list itself, no copy) vs uncached, reads: %.1fx "
                  "(target >= %.0fx)%s\n",
                  uncached_read / shared_read, kSpeedupTarget,
                  uncached_read / shared_read < kSpeedupTarget ? "  ** below target **" : "");
    std::printf("ratio cached / by_hand, reads: %.2fx (target <= %.2fx)%s\n", cached_read / by_hand_read, kRatioTarget,
                cached_read / by_hand_read > kRatioTarget ? "  ** above target **" : "");
    const double precise = r.median(name, "sql_cached"), table_wide = r.median(name, "sql_by_hand");
    std::printf("SQL statements, precise / table-wide invalidation: %.1f / %.1f per 1000 ops = %.3f (target <= %.3f)%s\n",
                precise, table_wide, precise / table_wide, kStatementsTarget,
                precise / table_wide > kStatementsTarget ? "  ** above target **" : "");
  }
}

}  // namespace
}  // namespace bcq

int main(int argc, char** argv) {
  gocp::bench::RatioReporter reporter;
  if (!gocp::bench::run_benchmarks(argc, argv, reporter, {.min_time = "0.5", .repetitions = 3, .random_interleaving = false}))
    return 1;
  bcq::print_figures(reporter, "links_service", true);
  bcq::print_figures(reporter, "links_service_reads_only", false);
  reporter.print_paired_ratio("redis query hit (20 links: gocp .cache() / raw hiredis GET of the entry's bytes)",
                              "redis_query_hit", 1.2);
  benchmark::Shutdown();
  return reporter.failed() ? 1 : 0;
}
