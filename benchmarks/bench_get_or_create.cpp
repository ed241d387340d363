// get_or_create through gocp vs the same work written by hand against the sqlite3 C API
// (the "floor") and through the two libraries a C++ user would pick instead, SQLiteCpp
// and SOCI (sqlite3 backend) when found at configure time, in the same run, each on its
// own copy of one seeded SQLite file (kKeys authors) in WAL mode:
//
//   hit   the row exists, keys drawn Zipf(0.99) over the kKeys rows: one prepared SELECT
//         of every column by the unique (first_name, last_name) pair, LIMIT 21, read into
//         the struct, one more step to prove the row is the only one.
//   miss  a new key each call: that SELECT finds nothing, then BEGIN IMMEDIATE,
//         INSERT ... RETURNING every column (read into the struct), COMMIT -- the
//         statements gocp runs (checked at startup by tracing one call of each side).
//   hit_in_transaction  hit, inside one open transaction on each side: without the
//         per-statement lock/unlock system calls of autocommit reads, per-call library
//         overhead shows.
//   hit_one_key, hit_prebuilt_lookup: gocp vs the floor on one repeated key (diagnostics).
//   insert_pk_*: raw sqlite3 inserts into the gocp table with its SQLite key as
//         `INTEGER PRIMARY KEY AUTOINCREMENT` vs plain `INTEGER PRIMARY KEY` (rowid).
//
// Each peer is written as its users would (SQLiteCpp: SQLite::Statement members,
// bindNoCopy, SQLite::Transaction(IMMEDIATE); SOCI: prepared soci::statement members with
// into/use, `sql << "BEGIN IMMEDIATE"`), issuing the floor's statements.
//
// Both sides open their connection the way gocp does (journal_mode=WAL,
// synchronous=NORMAL, foreign_keys=ON, busy_timeout) and reuse prepared statements; the
// floor binds without copying and allocates only the returned struct's strings. At the
// end it prints `ratio <case>: X.XXx` = gocp's time / the floor's (see run_paired).
//
//   bench_get_or_create [--benchmark_min_time=0.5] [--benchmark_repetitions=5] [google benchmark flags]
//
// Those two defaults apply unless given; the whole run takes about a minute.

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gocp/gocp.hpp>

#include "support/database_copy.hpp"
#include "support/paired.hpp"
#include "support/ratio_reporter.hpp"
#include "support/sqlite_fail.hpp"
#include "../tests/support/library_models.hpp"
#include "../tests/support/temp_dir.hpp"

#ifdef GOCP_BENCH_SQLITECPP
#include <SQLiteCpp/SQLiteCpp.h>
#endif
#ifdef GOCP_BENCH_SOCI
#include "support/soci_peer.hpp"  // its own TU: SOCI's header re-wraps <sqlite3.h>
#endif

using gocp::test::Author;

namespace {

using gocp::c;
using Authors = gocp::Repository<Author>;

constexpr int kBusyTimeoutMs = 5000;
constexpr int kKeys = 10000;       // seeded rows, the hit workload's key space
constexpr double kZipf = 0.99;     // skew of the hit workload's key choice
constexpr std::size_t kSequence = 1 << 16;  // key draws, cycled
constexpr double kTarget = 1.25;  // for the hit and miss ratios

// ---- fresh database files -------------------------------------------------------------

/// A path for a database no earlier call returned, in a directory removed at exit.
std::string fresh_database_path() {
  static gocp::test::TempDir dir;
  static int files = 0;
  return dir.file("bench-" + std::to_string(++files) + ".db").string();
}

std::string url_of(const std::string& path) { return "sqlite:///" + path; }

std::string first_name_of(int i) { return "first-" + std::to_string(i); }
std::string last_name_of(int i) { return "last-" + std::to_string(i); }

/// A new database file holding gocp's table (its own DDL) and, optionally, kKeys rows
/// plus ("Leo", "Tolstoy"): a copy of one file seeded once, so every side starts from
/// the same pages. The setup connection is closed (WAL checkpointed) before the copy.
std::string make_database(bool seed) {
  auto build = [](bool with_rows) {
    std::string path = fresh_database_path();
    auto db = gocp::Database::open(url_of(path));
    Authors authors{db};
    authors.create_table();
    if (with_rows) {
      db.atomic([&] {
        for (int i = 0; i < kKeys; ++i) authors.create(Author{0, first_name_of(i), last_name_of(i), i, std::nullopt});
        authors.create(Author{0, "Leo", "Tolstoy", 3, "Amazon"});
      });
    }
    return path;
  };
  static const std::string seeded = build(true);
  if (!seed) return build(false);
  std::string path = fresh_database_path();
  gocp::bench::copy_database(seeded, path);
  return path;
}

/// The hit workload: kKeys (first, last) pairs and kSequence draws of their indices,
/// Zipf(kZipf) over ranks mapped to keys by a fixed shuffle; the same for every side.
struct Workload {
  std::vector<std::string> first, last;
  std::vector<std::uint32_t> draws;

  static const Workload& get() {
    static const Workload w = [] {
      Workload w;
      for (int i = 0; i < kKeys; ++i) {
        w.first.push_back(first_name_of(i));
        w.last.push_back(last_name_of(i));
      }
      std::vector<double> cdf(kKeys);
      double sum = 0;
      for (int r = 0; r < kKeys; ++r) cdf[static_cast<std::size_t>(r)] = sum += 1 / std::pow(r + 1.0, kZipf);
      std::vector<std::uint32_t> key_of_rank(kKeys);
      std::iota(key_of_rank.begin(), key_of_rank.end(), 0u);
      std::mt19937_64 rng(42);
      std::shuffle(key_of_rank.begin(), key_of_rank.end(), rng);
      std::uniform_real_distribution<double> u(0, sum);
      for (std::size_t i = 0; i < kSequence; ++i) {
        const auto r = static_cast<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
        w.draws.push_back(key_of_rank[std::min<std::size_t>(r, kKeys - 1)]);
      }
      return w;
    }();
    return w;
  }
};

/// One side's walk through the workload's draws.
struct KeyCursor {
  const Workload& w = Workload::get();
  std::size_t i = 0;
  std::uint32_t next() {
    const std::uint32_t k = w.draws[i];
    i = (i + 1) % w.draws.size();
    return k;
  }
};

// ---- the floor: hand-written sqlite3 ------------------------------------------------

using gocp::bench::sqlite_fail;

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

  /// INSERT ... RETURNING (read into the struct), without a transaction of its own.
  Author insert(std::string_view first, std::string_view last) {
    sqlite3_bind_int64(insert_, 1, 0);
    sqlite3_bind_text(insert_, 2, first.data(), static_cast<int>(first.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert_, 3, last.data(), static_cast<int>(last.size()), SQLITE_STATIC);
    if (sqlite3_step(insert_) != SQLITE_ROW) {
      sqlite3_reset(insert_);
      sqlite_fail(db_, "insert");
    }
    Author created = read(insert_);
    const int rc = sqlite3_step(insert_);
    sqlite3_reset(insert_);
    if (rc != SQLITE_DONE) sqlite_fail(db_, "insert");
    return created;
  }
  sqlite3* handle() const { return db_; }

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


// ---- the peers: SQLiteCpp and SOCI, as their users write it -----------------------

constexpr const char* kSelectSql =
    "SELECT id, first_name, last_name, books_in_store, store FROM library_author "
    "WHERE first_name = ? AND last_name = ? LIMIT 21";
constexpr const char* kInsertSql =
    "INSERT INTO library_author (books_in_store, first_name, last_name) VALUES (?, ?, ?) "
    "RETURNING id, first_name, last_name, books_in_store, store";

#ifdef GOCP_BENCH_SQLITECPP
class SqliteCppPeer {
 public:
  explicit SqliteCppPeer(const std::string& path)
      : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX, kBusyTimeoutMs),
        select_(configured(db_), kSelectSql),
        insert_(db_, kInsertSql) {}

  std::optional<Author> find(const std::string& first, const std::string& last) {
    select_.bindNoCopy(1, first);
    select_.bindNoCopy(2, last);
    std::optional<Author> out;
    if (select_.executeStep()) {
      out = read(select_);
      if (select_.executeStep()) {
        select_.reset();
        throw std::runtime_error("sqlitecpp: several rows");
      }
    }
    select_.reset();
    return out;
  }

  std::pair<Author, bool> get_or_create(const std::string& first, const std::string& last) {
    if (auto found = find(first, last)) return {std::move(*found), false};
    try {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      insert_.bind(1, 0);
      insert_.bindNoCopy(2, first);
      insert_.bindNoCopy(3, last);
      if (!insert_.executeStep()) throw std::runtime_error("sqlitecpp: INSERT returned no row");
      Author created = read(insert_);
      insert_.executeStep();
      insert_.reset();
      tx.commit();
      return {std::move(created), true};
    } catch (const SQLite::Exception& e) {
      insert_.tryReset();
      if ((e.getErrorCode() & 0xff) == SQLITE_CONSTRAINT) {
        if (auto found = find(first, last)) return {std::move(*found), false};
      }
      throw;
    }
  }

  void begin() { tx_.emplace(db_, SQLite::TransactionBehavior::IMMEDIATE); }
  void commit() {
    tx_->commit();
    tx_.reset();
  }

 private:
  static SQLite::Database& configured(SQLite::Database& db) {
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA synchronous=NORMAL");
    db.exec("PRAGMA foreign_keys=ON");
    return db;
  }
  static Author read(SQLite::Statement& st) {
    Author a;
    a.id = st.getColumn(0).getInt64();
    a.first_name = st.getColumn(1).getString();
    a.last_name = st.getColumn(2).getString();
    a.books_in_store = st.getColumn(3).getInt();
    if (!st.isColumnNull(4)) a.store = st.getColumn(4).getString();
    return a;
  }

  SQLite::Database db_;
  SQLite::Statement select_;
  SQLite::Statement insert_;
  std::optional<SQLite::Transaction> tx_;
};
#endif


gocp::Database open_gocp(const std::string& path) {
  return gocp::Database::open(url_of(path) + "?busy_timeout_ms=" + std::to_string(kBusyTimeoutMs));
}

/// A new key per call, built the same way for every side (short: no allocation).
struct KeyMaker {
  std::int64_t n = 0;
  std::string key;
  const std::string& next() {
    char buf[32];
    const int len = std::snprintf(buf, sizeof buf, "new-%lld", static_cast<long long>(++n));
    key.assign(buf, static_cast<std::size_t>(len));
    return key;
  }
};

// ---- the benchmarks -------------------------------------------------------------------
//
// Each benchmark runs gocp and the floor side by side, each on its own fresh file, with
// gocp::bench::run_paired (support/paired.hpp).

using gocp::bench::run_paired;
using gocp::bench::run_sides;

/// The sides of the peer benchmarks, floor first.
constexpr std::array kSides = {
    "raw",
    "gocp",
#ifdef GOCP_BENCH_SQLITECPP
    "sqlitecpp",
#endif
#ifdef GOCP_BENCH_SOCI
    "soci",
#endif
};

/// Runs `call(side, key-maker)` for the floor, gocp and each peer found, each on its own
/// fresh copy of the database, with gocp::bench::run_sides. `open_tx`: each side runs
/// inside one open transaction.
template <class MakeKey>
void run_peers(benchmark::State& state, int block, bool expect_created, bool seed, bool open_tx, MakeKey make_key) {
  Floor floor(make_database(seed));
  auto db = open_gocp(make_database(seed));
  const Authors authors{db};
#ifdef GOCP_BENCH_SQLITECPP
  SqliteCppPeer sqlitecpp(make_database(seed));
#endif
#ifdef GOCP_BENCH_SOCI
  gocp::bench::SociPeer soci(make_database(seed), kBusyTimeoutMs);
#endif
  std::optional<gocp::Transaction> tx;
  if (open_tx) {
    floor.begin();
    tx.emplace(db);
#ifdef GOCP_BENCH_SQLITECPP
    sqlitecpp.begin();
#endif
#ifdef GOCP_BENCH_SOCI
    soci.begin();
#endif
  }
  auto floor_keys = make_key(), gocp_keys = make_key();
  run_sides(
      state, block, expect_created, kSides,
      [&] {
        const auto& [first, last] = floor_keys.next();
        return floor.get_or_create(first, last);
      },
      [&] {
        const auto& [first, last] = gocp_keys.next();
        return authors.get_or_create(c(&Author::first_name) == first && c(&Author::last_name) == last);
      }
#ifdef GOCP_BENCH_SQLITECPP
      ,
      [&, keys = make_key()]() mutable {
        const auto& [first, last] = keys.next();
        return sqlitecpp.get_or_create(first, last);
      }
#endif
#ifdef GOCP_BENCH_SOCI
      ,
      [&, keys = make_key()]() mutable {
        const auto& [first, last] = keys.next();
        return soci.get_or_create(first, last);
      }
#endif
  );
  if (open_tx) {
    floor.commit();
    tx->commit();
#ifdef GOCP_BENCH_SQLITECPP
    sqlitecpp.commit();
#endif
#ifdef GOCP_BENCH_SOCI
    soci.commit();
#endif
  }
}

/// The hit workload's next (first, last), by reference.
struct ZipfKeys {
  KeyCursor cursor;
  std::pair<const std::string&, const std::string&> next() {
    const std::uint32_t k = cursor.next();
    return {cursor.w.first[k], cursor.w.last[k]};
  }
};

/// A new (first, "Tolstoy") per call.
struct NewKeys {
  KeyMaker maker;
  std::string last = "Tolstoy";
  std::pair<const std::string&, const std::string&> next() { return {maker.next(), last}; }
};

/// HIT, as a caller writes it (the lookup built on each call), Zipf keys over kKeys rows.
void hit(benchmark::State& state) { run_peers(state, 64, false, true, false, [] { return ZipfKeys{}; }); }

/// MISS: a new key per call, so SELECT (nothing), BEGIN IMMEDIATE, INSERT ... RETURNING, COMMIT.
void miss(benchmark::State& state) { run_peers(state, 16, true, true, false, [] { return NewKeys{}; }); }

/// MISS with `?watch=strict` against the same without: each written row also leaves a row
/// in the change log (its trigger), what watching other writers costs a write. The same
/// keys and statements on both sides, each on its own seeded file.
void miss_watch(benchmark::State& state) {
  auto plain_db = open_gocp(make_database(true));
  auto watched_db = gocp::Database::open(url_of(make_database(true)) + "?busy_timeout_ms=" +
                                         std::to_string(kBusyTimeoutMs) + "&watch=strict");
  const Authors plain{plain_db}, watched{watched_db};
  watched.create_table();  // installs the change log's triggers on the seeded table
  NewKeys plain_keys, watched_keys;
  run_sides(
      state, 16, true, std::array{"gocp", "gocp_watch"},
      [&] {
        const auto& [first, last] = plain_keys.next();
        return plain.get_or_create(c(&Author::first_name) == first && c(&Author::last_name) == last);
      },
      [&] {
        const auto& [first, last] = watched_keys.next();
        return watched.get_or_create(c(&Author::first_name) == first && c(&Author::last_name) == last);
      });
}

/// The floor of miss_watch's cost: the same miss by raw sqlite3 on a file without the change
/// log's triggers and on one with them (installed by gocp, as miss_watch's are). What a
/// trigger-kept log costs SQLite itself: each written row's log row dirties one more page,
/// which every commit writes to the WAL.
void miss_trigger_floor(benchmark::State& state) {
  const std::string logged_path = make_database(true);
  {
    auto installer = gocp::Database::open(url_of(logged_path) + "?watch=strict");
    Authors{installer}.create_table();  // installs the triggers on the seeded table
  }
  Floor plain(make_database(true)), logged(logged_path);
  NewKeys plain_keys, logged_keys;
  run_sides(
      state, 16, true, std::array{"raw", "raw_trigger"},
      [&] {
        const auto& [first, last] = plain_keys.next();
        return plain.get_or_create(first, last);
      },
      [&] {
        const auto& [first, last] = logged_keys.next();
        return logged.get_or_create(first, last);
      });
}

/// HIT inside one open transaction on each side: without the per-statement lock/unlock
/// system calls of autocommit reads, SQLite's share shrinks and each library's own CPU
/// cost shows.
void hit_in_transaction(benchmark::State& state) {
  run_peers(state, 256, false, true, true, [] { return ZipfKeys{}; });
}

/// Diagnostic: HIT on one repeated key, gocp vs the floor: the best case.
void hit_one_key(benchmark::State& state) {
  auto db = open_gocp(make_database(true));
  const Authors authors{db};
  Floor floor(make_database(true));
  run_paired(
      state, 64, false,
      [&] { return authors.get_or_create(c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy"); },
      [&] { return floor.get_or_create("Leo", "Tolstoy"); });
}

/// Diagnostic: hit_one_key with the lookup built once, outside the loop: gocp without the DSL's cost.
void hit_prebuilt_lookup(benchmark::State& state) {
  auto db = open_gocp(make_database(true));
  const Authors authors{db};
  Floor floor(make_database(true));
  const auto lookup = c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy";
  run_paired(
      state, 64, false, [&] { return authors.get_or_create(lookup); },
      [&] { return floor.get_or_create("Leo", "Tolstoy"); });
}

// ---- the SQLite key: AUTOINCREMENT vs plain rowid -----------------------------------

/// A new empty database holding gocp's table with its SQLite key spelled `key` (gocp's
/// own DDL, the key's text replaced): the same columns, unique index and WAL setup.
std::string make_pk_database(std::string_view key) {
  const std::string path = make_database(false);
  Floor setup(path);
  std::vector<std::string> ddl;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(setup.handle(), "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'",
                     -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) ddl.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  const std::string gocp_key = std::string(gocp::detail::sqlite_dialect.auto_primary_key);
  const std::string fresh = make_database(false);
  {
    Floor target(fresh);
    sqlite3_exec(target.handle(), "DROP TABLE library_author", nullptr, nullptr, nullptr);
    for (std::string sql : ddl) {
      if (auto at = sql.find(gocp_key); at != std::string::npos) sql.replace(at, gocp_key.size(), key);
      if (sqlite3_exec(target.handle(), sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
        sqlite_fail(target.handle(), sql.c_str());
    }
  }
  return fresh;
}

/// N inserts (BEGIN IMMEDIATE; INSERT ... RETURNING; COMMIT each, as a get_or_create miss
/// does, or all inside one open transaction), raw sqlite3, into each table shape.
/// AUTOINCREMENT also updates sqlite_sequence (one more page per commit in the WAL, so
/// more checkpoints): ~1.25x per insert in its own transaction, ~1.18x inside one (2 cores,
/// busy machine). It buys ids that are never reused: plain rowid hands the largest id out
/// again after that row is deleted, unlike gocp's PostgreSQL IDENTITY key and Django. gocp's
/// own caches survive reuse (insert() invalidates the new pk); ids held outside the
/// database (URLs, logs, other stores) would not, so the default stays AUTOINCREMENT.
void insert_pk(benchmark::State& state, bool one_transaction) {
  Floor rowid(make_pk_database("INTEGER PRIMARY KEY"));
  Floor autoinc(make_pk_database("INTEGER PRIMARY KEY AUTOINCREMENT"));
  if (one_transaction) {
    rowid.begin();
    autoinc.begin();
  }
  KeyMaker rowid_keys, autoinc_keys;
  auto insert = [&](Floor& f, KeyMaker& keys) {
    if (!one_transaction) f.begin();
    auto created = f.insert(keys.next(), "Tolstoy");
    if (!one_transaction) f.commit();
    return std::pair<Author, bool>{std::move(created), true};
  };
  run_sides(
      state, one_transaction ? 256 : 16, true, std::array{"rowid", "autoincrement"},
      [&] { return insert(rowid, rowid_keys); }, [&] { return insert(autoinc, autoinc_keys); });
  if (one_transaction) {
    rowid.commit();
    autoinc.commit();
  }
}
void insert_pk_autocommit(benchmark::State& state) { insert_pk(state, false); }
void insert_pk_in_transaction(benchmark::State& state) { insert_pk(state, true); }

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
    authors.check_schema();  // once per repository, before its first statement: not per call
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
  std::vector<std::pair<const char*, std::vector<std::string>>> peers;
#ifdef GOCP_BENCH_SQLITECPP
  peers.emplace_back("sqlitecpp", run([](const std::string& path, std::vector<std::string>& traced) {
                       SqliteCppPeer peer(path);
                       g_traced = &traced;
                       peer.get_or_create("Leo", "Tolstoy");
                       peer.get_or_create("Leo", "Tolstoy");
                     }));
#endif
#ifdef GOCP_BENCH_SOCI
  peers.emplace_back("soci", run([](const std::string& path, std::vector<std::string>& traced) {
                       gocp::bench::SociPeer peer(path, kBusyTimeoutMs);
                       g_traced = &traced;
                       peer.get_or_create("Leo", "Tolstoy");
                       peer.get_or_create("Leo", "Tolstoy");
                     }));
#endif
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
  };
  std::printf("statements, miss then hit:\n  gocp:      %s\n  floor:     %s\n", join(gocp_verbs).c_str(),
              join(floor_verbs).c_str());
  bool same = gocp_verbs == floor_verbs && !gocp_verbs.empty();
  for (const auto& [name, verbs] : peers) {
    std::printf("  %-10s %s\n", (std::string(name) + ":").c_str(), join(verbs).c_str());
    same = same && verbs == floor_verbs;
  }
  return same;
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
           {"miss_watch", miss_watch},
           {"miss_trigger_floor", miss_trigger_floor},
           {"hit_in_transaction", hit_in_transaction},
           {"hit_one_key", hit_one_key},
           {"hit_prebuilt_lookup", hit_prebuilt_lookup},
           {"insert_pk_autocommit", insert_pk_autocommit},
           {"insert_pk_in_transaction", insert_pk_in_transaction}}) {
    benchmark::RegisterBenchmark(name, fn)->UseManualTime();
  }

  gocp::bench::RatioReporter reporter;
  const bool ok = gocp::bench::run(reporter);
  const std::vector<std::string> sides(kSides.begin(), kSides.end());
  {
    const Workload& w = Workload::get();
    std::set<std::uint32_t> distinct(w.draws.begin(), w.draws.end());
    std::printf("hit workload: %d rows, Zipf(%.2f) draws, %zu distinct keys in %zu draws\n", kKeys, kZipf,
                distinct.size(), w.draws.size());
  }
  reporter.print_paired_ratio("hit", "hit", kTarget);
  reporter.print_paired_ratio("miss", "miss", kTarget);
  reporter.print_paired_ratio("hit inside one transaction", "hit_in_transaction");
  reporter.print_paired_ratio("hit, one repeated key (diagnostic)", "hit_one_key");
  reporter.print_paired_ratio("hit, one key, lookup built once (diagnostic)", "hit_prebuilt_lookup");
  std::printf("\n");
  reporter.print_side_ratios("hit, Zipf keys", "hit", sides);
  reporter.print_side_ratios("miss, new key per call", "miss", sides);
  reporter.print_side_ratios("hit inside one transaction, Zipf keys", "hit_in_transaction", sides);
  reporter.print_side_ratios("miss, ?watch=strict (its trigger logs each row) vs without", "miss_watch",
                             {"gocp", "gocp_watch"});
  reporter.print_side_ratios("miss by raw sqlite3, the same triggers vs none (the floor of the above)",
                             "miss_trigger_floor", {"raw", "raw_trigger"});
  reporter.print_side_ratios("insert, own transaction each (raw sqlite3)", "insert_pk_autocommit",
                             {"rowid", "autoincrement"});
  reporter.print_side_ratios("insert, all in one transaction (raw sqlite3)", "insert_pk_in_transaction",
                             {"rowid", "autoincrement"});
  benchmark::Shutdown();
  return ok ? 0 : 1;
}
