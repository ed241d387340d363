// get_or_create through gocp vs the same work written by hand against the sqlite3 C API
// (the "floor"), in the same run, each on its own real SQLite file in WAL mode:
//
//   hit   the row exists: one prepared SELECT of every column by the unique
//         (first_name, last_name) pair, LIMIT 21, read into the struct, one more step to
//         prove the row is the only one.
//   miss  a new key each call: that SELECT finds nothing, then BEGIN IMMEDIATE,
//         INSERT ... RETURNING every column (read into the struct), COMMIT -- the
//         statements gocp runs (checked at startup by tracing one call of each side).
//   hit_prebuilt_lookup, hit_in_transaction: diagnostics, see their comments.
//
// Both sides open their connection the way gocp does (journal_mode=WAL,
// synchronous=NORMAL, foreign_keys=ON, busy_timeout) and reuse prepared statements; the
// floor binds without copying and allocates only the returned struct's strings. At the
// end it prints `ratio <case>: X.XXx` = gocp's time / the floor's (see run_paired).
//
//   bench_get_or_create [--benchmark_min_time=0.5] [--benchmark_repetitions=5] [google benchmark flags]
//
// Those two defaults apply unless given; the whole run takes about 20 s.

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gocp/gocp.hpp>

#include "support/paired.hpp"
#include "support/ratio_reporter.hpp"
#include "../tests/support/library_models.hpp"
#include "../tests/support/temp_dir.hpp"

using gocp::test::Author;

namespace {

using gocp::c;
using Authors = gocp::Repository<Author>;

constexpr int kBusyTimeoutMs = 5000;
constexpr int kSeedRows = 1000;  // so the unique index has some depth
constexpr double kTarget = 1.25;  // for the hit and miss ratios

// ---- fresh database files -------------------------------------------------------------

/// A path for a database no earlier call returned, in a directory removed at exit.
std::string fresh_database_path() {
  static gocp::test::TempDir dir;
  static int files = 0;
  return dir.file("bench-" + std::to_string(++files) + ".db").string();
}

std::string url_of(const std::string& path) { return "sqlite:///" + path; }

/// A new database file holding gocp's table (its own DDL) and, optionally, kSeedRows rows
/// plus ("Leo", "Tolstoy"). The setup connection is closed before the benchmark opens its own.
std::string make_database(bool seed) {
  std::string path = fresh_database_path();
  auto db = gocp::Database::open(url_of(path));
  Authors authors{db};
  authors.create_table();
  if (seed) {
    db.atomic([&] {
      for (int i = 0; i < kSeedRows; ++i)
        authors.create(Author{0, "first-" + std::to_string(i), "last-" + std::to_string(i), i, std::nullopt});
      authors.create(Author{0, "Leo", "Tolstoy", 3, "Amazon"});
    });
  }
  return path;
}

// ---- the floor: hand-written sqlite3 ------------------------------------------------

[[noreturn]] void sqlite_fail(sqlite3* db, const char* what) {
  throw std::runtime_error(std::string("floor: ") + what + ": " + sqlite3_errmsg(db));
}

class Floor {
 public:
  explicit Floor(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK)
      sqlite_fail(db_, "open");
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    select_ = prepare(
        "SELECT id, first_name, last_name, books_in_store, store FROM library_author "
        "WHERE first_name = ? AND last_name = ? LIMIT 21");
    begin_ = prepare("BEGIN IMMEDIATE");
    insert_ = prepare(
        "INSERT INTO library_author (books_in_store, first_name, last_name) VALUES (?, ?, ?) "
        "RETURNING id, first_name, last_name, books_in_store, store");
    commit_ = prepare("COMMIT");
    rollback_ = prepare("ROLLBACK");
  }
  Floor(const Floor&) = delete;
  Floor& operator=(const Floor&) = delete;
  ~Floor() {
    for (sqlite3_stmt* st : {select_, begin_, insert_, commit_, rollback_}) sqlite3_finalize(st);
    sqlite3_close_v2(db_);
  }

  /// The one row with this (first_name, last_name), if any.
  std::optional<Author> find(std::string_view first, std::string_view last) {
    sqlite3_bind_text(select_, 1, first.data(), static_cast<int>(first.size()), SQLITE_STATIC);
    sqlite3_bind_text(select_, 2, last.data(), static_cast<int>(last.size()), SQLITE_STATIC);
    std::optional<Author> out;
    int rc = sqlite3_step(select_);
    if (rc == SQLITE_ROW) {
      out = read(select_);
      rc = sqlite3_step(select_);
      if (rc == SQLITE_ROW) {
        sqlite3_reset(select_);
        throw std::runtime_error("floor: several rows");
      }
    }
    if (rc != SQLITE_DONE) {
      sqlite3_reset(select_);
      sqlite_fail(db_, "select");
    }
    sqlite3_reset(select_);
    return out;
  }

  void begin() { step_done(begin_, "begin"); }
  void commit() { step_done(commit_, "commit"); }

  /// find(), else BEGIN IMMEDIATE; INSERT ... RETURNING; COMMIT (a unique violation
  /// rolls back and re-reads, as gocp does).
  std::pair<Author, bool> get_or_create(std::string_view first, std::string_view last) {
    if (auto found = find(first, last)) return {std::move(*found), false};
    step_done(begin_, "begin");
    sqlite3_bind_int64(insert_, 1, 0);
    sqlite3_bind_text(insert_, 2, first.data(), static_cast<int>(first.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert_, 3, last.data(), static_cast<int>(last.size()), SQLITE_STATIC);
    int rc = sqlite3_step(insert_);
    if (rc != SQLITE_ROW) {
      sqlite3_reset(insert_);
      step_done(rollback_, "rollback");
      if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        if (auto found = find(first, last)) return {std::move(*found), false};
      }
      sqlite_fail(db_, "insert");
    }
    Author created = read(insert_);
    rc = sqlite3_step(insert_);
    sqlite3_reset(insert_);
    if (rc != SQLITE_DONE) {
      step_done(rollback_, "rollback");
      sqlite_fail(db_, "insert");
    }
    step_done(commit_, "commit");
    return {std::move(created), true};
  }

 private:
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK)
      sqlite_fail(db_, sql);
    return st;
  }
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) sqlite_fail(db_, sql);
  }
  void step_done(sqlite3_stmt* st, const char* what) {
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) sqlite_fail(db_, what);
  }
  static std::string text(sqlite3_stmt* st, int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st, col))) : std::string();
  }
  static Author read(sqlite3_stmt* st) {
    Author a;
    a.id = sqlite3_column_int64(st, 0);
    a.first_name = text(st, 1);
    a.last_name = text(st, 2);
    a.books_in_store = sqlite3_column_int(st, 3);
    if (sqlite3_column_type(st, 4) != SQLITE_NULL) a.store = text(st, 4);
    return a;
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
};

gocp::Database open_gocp(const std::string& path) {
  return gocp::Database::open(url_of(path) + "?busy_timeout_ms=" + std::to_string(kBusyTimeoutMs));
}

/// A new key per call, built the same way for both sides.
struct KeyMaker {
  std::int64_t n = 0;
  char first[32];
  std::string_view next() {
    const int len = std::snprintf(first, sizeof first, "new-%lld", static_cast<long long>(++n));
    return {first, static_cast<std::size_t>(len)};
  }
};

// ---- the benchmarks -------------------------------------------------------------------
//
// Each benchmark runs gocp and the floor side by side, each on its own fresh file, with
// gocp::bench::run_paired (support/paired.hpp).

using gocp::bench::run_paired;

/// HIT, as a caller writes it: the lookup is built on each call.
void hit(benchmark::State& state) {
  auto db = open_gocp(make_database(true));
  const Authors authors{db};
  Floor floor(make_database(true));
  run_paired(
      state, 64, false,
      [&] { return authors.get_or_create(c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy"); },
      [&] { return floor.get_or_create("Leo", "Tolstoy"); });
}

/// MISS: a new key per call, so SELECT (nothing), BEGIN IMMEDIATE, INSERT ... RETURNING, COMMIT.
void miss(benchmark::State& state) {
  auto db = open_gocp(make_database(false));
  const Authors authors{db};
  Floor floor(make_database(false));
  KeyMaker gocp_keys, floor_keys;
  run_paired(
      state, 16, true,
      [&] { return authors.get_or_create(c(&Author::first_name) == gocp_keys.next() && c(&Author::last_name) == "Tolstoy"); },
      [&] { return floor.get_or_create(floor_keys.next(), "Tolstoy"); });
}

/// Diagnostic: HIT with the lookup built once, outside the loop: gocp without the DSL's cost.
void hit_prebuilt_lookup(benchmark::State& state) {
  auto db = open_gocp(make_database(true));
  const Authors authors{db};
  Floor floor(make_database(true));
  const auto lookup = c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy";
  run_paired(
      state, 64, false, [&] { return authors.get_or_create(lookup); },
      [&] { return floor.get_or_create("Leo", "Tolstoy"); });
}

/// Diagnostic: HIT inside one open transaction on each side. Without the per-statement
/// lock/unlock system calls of autocommit reads, SQLite's share shrinks and gocp's own
/// CPU cost shows.
void hit_in_transaction(benchmark::State& state) {
  auto db = open_gocp(make_database(true));
  const Authors authors{db};
  Floor floor(make_database(true));
  gocp::Transaction tx{db};
  floor.begin();
  run_paired(
      state, 256, false,
      [&] { return authors.get_or_create(c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy"); },
      [&] { return floor.get_or_create("Leo", "Tolstoy"); });
  floor.commit();
  tx.commit();
}

// ---- startup check: both sides run the same statements -------------------------------

std::vector<std::string>* g_traced = nullptr;

int on_trace(unsigned, void*, void* stmt, void*) {
  if (g_traced) g_traced->emplace_back(sqlite3_sql(static_cast<sqlite3_stmt*>(stmt)));
  return 0;
}
int trace_connection(sqlite3* db, const char**, const sqlite3_api_routines*) {
  sqlite3_trace_v2(db, SQLITE_TRACE_STMT, on_trace, nullptr);
  return SQLITE_OK;
}

/// The leading keywords of a statement ("SELECT", "BEGIN IMMEDIATE", "INSERT", "COMMIT").
std::string verb(const std::string& sql) {
  const auto first = sql.substr(0, sql.find(' '));
  return first == "BEGIN" ? sql : first;
}

/// Runs one miss and one hit through each side with a statement trace on, and fails
/// unless both issue the same sequence of statement kinds.
bool same_statements() {
  auto run = [](auto&& body) {
    std::vector<std::string> traced;
    const std::string path = make_database(false);
    using Ext = void (*)();
    const auto ext = reinterpret_cast<Ext>(&trace_connection);
    sqlite3_auto_extension(ext);
    {
      body(path, traced);
    }
    sqlite3_cancel_auto_extension(ext);
    g_traced = nullptr;
    std::vector<std::string> verbs;
    for (const auto& s : traced) {
      if (s.rfind("PRAGMA", 0) != 0) verbs.push_back(verb(s));
    }
    return verbs;
  };
  const auto gocp_verbs = run([](const std::string& path, std::vector<std::string>& traced) {
    auto db = open_gocp(path);
    const Authors authors{db};
    g_traced = &traced;
    authors.get_or_create(c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy");  // miss
    authors.get_or_create(c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy");  // hit
  });
  const auto floor_verbs = run([](const std::string& path, std::vector<std::string>& traced) {
    Floor floor(path);
    g_traced = &traced;
    floor.get_or_create("Leo", "Tolstoy");
    floor.get_or_create("Leo", "Tolstoy");
  });
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
  };
  std::printf("statements, miss then hit:\n  gocp:  %s\n  floor: %s\n", join(gocp_verbs).c_str(),
              join(floor_verbs).c_str());
  return gocp_verbs == floor_verbs && !gocp_verbs.empty();
}

}  // namespace

int main(int argc, char** argv) {
  // run_paired alternates the two sides itself, so no random interleaving
  if (!gocp::bench::initialize(argc, argv, {.min_time = "0.5", .random_interleaving = false})) return 1;

  const bool same = same_statements();
  if (!same) {
    std::fprintf(stderr, "bench_get_or_create: gocp and the floor do not run the same statements\n");
    return 1;
  }

  for (auto& [name, fn] : std::initializer_list<std::pair<const char*, void (*)(benchmark::State&)>>{
           {"hit", hit},
           {"miss", miss},
           {"hit_prebuilt_lookup", hit_prebuilt_lookup},
           {"hit_in_transaction", hit_in_transaction}}) {
    benchmark::RegisterBenchmark(name, fn)->UseManualTime();
  }

  gocp::bench::RatioReporter reporter;
  const bool ok = gocp::bench::run(reporter);
  reporter.print_paired_ratio("hit", "hit", kTarget);
  reporter.print_paired_ratio("miss", "miss", kTarget);
  reporter.print_paired_ratio("hit, lookup built once (diagnostic)", "hit_prebuilt_lookup");
  reporter.print_paired_ratio("hit inside one transaction (diagnostic)", "hit_in_transaction");
  benchmark::Shutdown();
  return ok ? 0 : 1;
}
