// bulk_create of 1000 rows through gocp vs the same rows written by hand against the
// sqlite3 C API (the "floor") and vs 1000 gocp create() calls, in the same run, each
// side on its own SQLite file in WAL mode (as gocp opens it: synchronous=NORMAL,
// foreign_keys=ON, busy_timeout):
//
//   bulk_1000 (gocp vs the floor, run_sides alternating the two in blocks):
//     raw          BEGIN IMMEDIATE; one prepared multi-row INSERT of the 1000 rows
//                  RETURNING every column, bound with sqlite3_bind_*, read into the
//                  structs; COMMIT -- the very statements gocp's bulk_create runs
//                  (checked at startup by tracing both).
//     gocp         links.bulk_create(rows): one statement, since 1000 rows of 3 columns
//                  fit in SQLite's 32766 parameters.
//   create_1000 (what a user without bulk_create writes, against bulk_create):
//     bulk_create  links.bulk_create(rows), as above (the side the others are divided by).
//     create_each  1000 links.create(row) calls, each its own (autocommit) transaction:
//                  the issue's "tagging 50 links is 50 INSERTs".
//     create_in_tx db.atomic around the same 1000 create() calls: a diagnostic, what is
//                  left of create()'s cost once the commits are shared.
//
// Each call writes the same 1000 rows (auto keys, so they are new rows every time) into
// a table without unique constraints. The end prints the ratio of gocp to the floor
// (target <= 1.1x) and bulk_create's speedup over create() calls (target >= 10x over
// autocommit calls; the one-transaction figure is shown, without a target).
//
//   bench_bulk_create [--benchmark_min_time=0.5] [--benchmark_repetitions=5] [google benchmark flags]
//
// Where the time goes, in instructions (stable on a loaded machine, unlike time): one
// side alone, N calls after a warm-up, counted by callgrind only around those calls:
//
//   valgrind --tool=callgrind --instr-atstart=no bench_bulk_create --callgrind=gocp [--calls=20]
//   valgrind --tool=callgrind --instr-atstart=no bench_bulk_create --callgrind=raw [--calls=20]
//   callgrind_annotate --inclusive=no callgrind.out.<pid>      # "Collected" / calls = per call

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <gocp/gocp.hpp>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define GOCP_BENCH_CALLGRIND 1
#else  // counted from the start, setup included: said when run
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define GOCP_BENCH_CALLGRIND 0
#endif

#include "support/paired.hpp"
#include "support/ratio_reporter.hpp"
#include "support/sqlite_fail.hpp"
#include "../tests/support/temp_dir.hpp"

namespace {

struct Link {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string url;
  int clicks = 0;
};

}  // namespace

template <>
struct gocp::model<Link> {
  static constexpr std::string_view name = "bench.link";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Link::id, "id"), gocp::field(&Link::user_id, "user_id"),
                  gocp::field(&Link::url, "url", gocp::max_length(200)), gocp::field(&Link::clicks, "clicks"));
};

namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr std::size_t kRows = 1000;
constexpr double kRawTarget = 1.1;
constexpr double kSpeedupTarget = 10;

/// The rows every call of every side writes.
const std::vector<Link>& rows() {
  static const std::vector<Link> out = [] {
    std::vector<Link> v;
    for (std::size_t i = 0; i < kRows; ++i)
      v.push_back({0, static_cast<std::int64_t>(i % 50), "https://example.com/some/path/" + std::to_string(i),
                   static_cast<int>(i)});
    return v;
  }();
  return out;
}

/// A new database file holding gocp's table (its own DDL), in a directory removed at exit.
std::string make_database() {
  static gocp::test::TempDir dir;
  static int files = 0;
  std::string path = dir.file("bench-" + std::to_string(++files) + ".db").string();
  auto db = gocp::Database::open("sqlite:///" + path);
  gocp::Repository<Link>{db}.create_table();
  return path;
}

using gocp::bench::sqlite_fail;

/// What a user writes by hand: the multi-row INSERT prepared once, each value bound
/// where it is (SQLITE_STATIC), the returned rows read into the structs.
class Floor {
 public:
  explicit Floor(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
      sqlite_fail(db_, "open");
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"})
      if (sqlite3_exec(db_, pragma, nullptr, nullptr, nullptr) != SQLITE_OK) sqlite_fail(db_, pragma);
    std::string sql = R"(INSERT INTO "bench_link" ("user_id", "url", "clicks") VALUES )";
    for (std::size_t i = 0; i < kRows; ++i) sql += i ? ", (?, ?, ?)" : "(?, ?, ?)";
    sql += R"( RETURNING "id", "user_id", "url", "clicks")";
    insert_ = prepare(sql);
    begin_ = prepare("BEGIN IMMEDIATE");
    commit_ = prepare("COMMIT");
  }
  Floor(const Floor&) = delete;
  Floor& operator=(const Floor&) = delete;
  ~Floor() {
    for (sqlite3_stmt* st : {insert_, begin_, commit_}) sqlite3_finalize(st);
    sqlite3_close_v2(db_);
  }

  std::vector<Link> bulk_create(const std::vector<Link>& in) {
    step_done(begin_);
    int p = 0;
    for (const Link& l : in) {
      sqlite3_bind_int64(insert_, ++p, l.user_id);
      sqlite3_bind_text(insert_, ++p, l.url.data(), static_cast<int>(l.url.size()), SQLITE_STATIC);
      sqlite3_bind_int64(insert_, ++p, l.clicks);
    }
    std::vector<Link> out;
    out.reserve(in.size());
    int rc = 0;
    while ((rc = sqlite3_step(insert_)) == SQLITE_ROW) {
      Link& l = out.emplace_back();
      l.id = sqlite3_column_int64(insert_, 0);
      l.user_id = sqlite3_column_int64(insert_, 1);
      l.url.assign(reinterpret_cast<const char*>(sqlite3_column_text(insert_, 2)),
                   static_cast<std::size_t>(sqlite3_column_bytes(insert_, 2)));
      l.clicks = sqlite3_column_int(insert_, 3);
    }
    if (rc != SQLITE_DONE) sqlite_fail(db_, "insert");
    sqlite3_reset(insert_);
    step_done(commit_);
    return out;
  }

  sqlite3* handle() const { return db_; }

 private:
  sqlite3_stmt* prepare(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st, nullptr) !=
        SQLITE_OK)
      sqlite_fail(db_, "prepare");
    return st;
  }
  void step_done(sqlite3_stmt* st) {
    if (sqlite3_step(st) != SQLITE_DONE) sqlite_fail(db_, sqlite3_sql(st));
    sqlite3_reset(st);
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt *insert_ = nullptr, *begin_ = nullptr, *commit_ = nullptr;
};

gocp::Database open_gocp(const std::string& path) {
  return gocp::Database::open("sqlite:///" + path + "?busy_timeout_ms=" + std::to_string(kBusyTimeoutMs));
}

/// A call's result as run_sides wants it: (rows written, true).
std::pair<std::size_t, bool> written(const std::vector<Link>& stored) {
  if (stored.size() != kRows || stored.back().id == 0) throw std::runtime_error("bench_bulk_create: rows not written");
  return {stored.size(), true};
}

void bulk_1000(benchmark::State& state) {
  Floor floor(make_database());
  auto bulk_db = open_gocp(make_database());
  const gocp::Repository<Link> bulk{bulk_db};
  const std::vector<Link>& in = rows();
  gocp::bench::run_sides(
      state, /*block=*/4, /*expect_created=*/true, std::array{"raw", "gocp"},
      [&] { return written(floor.bulk_create(in)); }, [&] { return written(bulk.bulk_create(in)); });
}

/// 1000 create() calls of `links`, each in a transaction of its own unless `db` is given.
std::pair<std::size_t, bool> create_each(const gocp::Repository<Link>& links, const std::vector<Link>& in,
                                         const gocp::Database* db) {
  std::vector<Link> stored;
  stored.reserve(in.size());
  auto loop = [&] {
    for (const Link& l : in) stored.push_back(links.create(l));
  };
  if (db) db->atomic(loop);
  else loop();
  return written(stored);
}

void create_1000(benchmark::State& state) {
  auto bulk_db = open_gocp(make_database());
  const gocp::Repository<Link> bulk{bulk_db};
  auto each_db = open_gocp(make_database());
  const gocp::Repository<Link> each{each_db};
  auto tx_db = open_gocp(make_database());
  const gocp::Repository<Link> tx{tx_db};
  const std::vector<Link>& in = rows();
  gocp::bench::run_sides(
      state, /*block=*/1, /*expect_created=*/true, std::array{"bulk_create", "create_each", "create_in_tx"},
      [&] { return written(bulk.bulk_create(in)); }, [&] { return create_each(each, in, nullptr); },
      [&] { return create_each(tx, in, &tx_db); });
}

/// Where the trace hook puts the statements it sees (nowhere while null).
std::vector<std::string>* trace_target = nullptr;

/// Installs the trace hook on `db`: each statement's text (a long one shortened).
void install_trace(sqlite3* db) {
  sqlite3_trace_v2(
      db, SQLITE_TRACE_STMT,
      [](unsigned, void*, void* stmt, void*) {
        if (!trace_target) return 0;
        std::string sql = sqlite3_sql(static_cast<sqlite3_stmt*>(stmt));
        if (sql.size() > 60)
          sql = sql.substr(0, 40) + "..." + sql.substr(sql.size() - 16) + " (" + std::to_string(sql.size()) + " chars)";
        trace_target->push_back(std::move(sql));
        return 0;
      },
      nullptr);
}

/// The statements `call()` runs on the connections the hook is installed on.
template <class Call>
std::vector<std::string> traced(Call&& call) {
  std::vector<std::string> seen;
  trace_target = &seen;
  call();
  trace_target = nullptr;
  return seen;
}

/// Whether gocp's bulk_create and the floor run the same statements (printing both).
bool same_statements() {
  Floor floor(make_database());
  install_trace(floor.handle());
  auto db = gocp::Database::open("sqlite:///" + make_database(), gocp::OpenOptions{.on_connect = [](gocp::Connection& c) {
                                   install_trace(static_cast<sqlite3*>(c.native_handle()));
                                 }});
  const gocp::Repository<Link> links{db};
  links.count();  // the table checked against the model now, not inside the trace
  const auto gocp_side = traced([&] { links.bulk_create(rows()); });
  const auto floor_side = traced([&] { floor.bulk_create(rows()); });
  std::printf("statements of one call:\n");
  for (const auto& [name, side] : {std::pair{"gocp", &gocp_side}, std::pair{"floor", &floor_side}})
    for (const std::string& sql : *side) std::printf("  %-6s %s\n", name, sql.c_str());
  return gocp_side == floor_side && !gocp_side.empty();
}

/// `--callgrind=raw|gocp [--calls=N]`: N calls of that side alone, instrumented only
/// around them (see the file comment); 2 for a bad side.
int callgrind_side(const std::string& side, int calls) {
  if (side != "raw" && side != "gocp") {
    std::fprintf(stderr, "bench_bulk_create: --callgrind=raw or --callgrind=gocp\n");
    return 2;
  }
  const std::string path = make_database();
  Floor floor(path);
  auto db = open_gocp(path);
  const gocp::Repository<Link> links{db};
  auto call = [&] { return side == "raw" ? written(floor.bulk_create(rows())) : written(links.bulk_create(rows())); };
  call();  // statements prepared, the table checked, buffers warm
  CALLGRIND_START_INSTRUMENTATION;
  for (int i = 0; i < calls; ++i) benchmark::DoNotOptimize(call());
  CALLGRIND_STOP_INSTRUMENTATION;
  std::printf("%d calls of the %s side (%zu rows each)%s\n", calls, side.c_str(), kRows,
              GOCP_BENCH_CALLGRIND ? "" : "; built without <valgrind/callgrind.h>: setup is counted too");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string callgrind;
  int calls = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--callgrind=")) callgrind = arg.substr(12);
    if (arg.starts_with("--calls=")) calls = std::stoi(std::string(arg.substr(8)));
  }
  if (!callgrind.empty()) return callgrind_side(callgrind, calls);
  // run_sides alternates the sides itself, so no random interleaving
  if (!gocp::bench::initialize(argc, argv, {.min_time = "0.5", .random_interleaving = false})) return 1;
  if (!same_statements()) {
    std::fprintf(stderr, "bench_bulk_create: gocp and the floor do not run the same statements\n");
    return 1;
  }
  benchmark::RegisterBenchmark("bulk_1000", bulk_1000)->UseManualTime();
  // a round of create_1000 takes ~0.1 s (the autocommit side): enough of them for a median
  benchmark::RegisterBenchmark("create_1000", create_1000)->UseManualTime()->MinTime(2);

  gocp::bench::RatioReporter reporter;
  const bool ok = gocp::bench::run(reporter);
  reporter.print_side_ratios("bulk_create vs raw, 1000 rows, one transaction each call", "bulk_1000", {"raw", "gocp"});
  reporter.print_paired_ratio("bulk_create of 1000 rows vs raw multi-row INSERT", "bulk_1000", kRawTarget);
  reporter.print_side_ratios("1000 rows by bulk_create vs by create() calls", "create_1000",
                             {"bulk_create", "create_each", "create_in_tx"});
  for (const auto& [side, label, target] :
       {std::tuple{"create_each", "1000 create() calls, each its own transaction", kSpeedupTarget},
        std::tuple{"create_in_tx", "1000 create() calls in one transaction (diagnostic)", 0.0}}) {
    // the ratio of the medians of the totals (per-round ratios are shown above): a
    // round's bulk_create side is one call of a few ms, which one preemption doubles
    const double bulk_ns = reporter.median("create_1000", "bulk_create_ns");
    const double side_ns = reporter.median("create_1000", std::string(side) + "_ns");
    if (bulk_ns <= 0 || side_ns <= 0) continue;  // filtered out
    const double speedup = side_ns / bulk_ns;
    std::printf("speedup bulk_create vs %s: %.2fx", label, speedup);
    if (target > 0) std::printf(" (target >= %.0fx)%s", target, speedup < target ? "  ** below target **" : "");
    std::printf("  [bulk_create %.0f ns, %s %.0f ns per call; medians]\n", bulk_ns, side, side_ns);
  }
  benchmark::Shutdown();
  return ok ? 0 : 1;
}
