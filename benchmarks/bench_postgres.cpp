// gocp on PostgreSQL, against its own throwaway cluster (tests/support/postgres_server.hpp:
// 127.0.0.1, fsync off), two comparisons in the same run:
//
//   hit, miss       uncached get_or_create through gocp vs the same statements written by
//                   hand with libpq prepared statements (the "floor"): a hit is one
//                   prepared SELECT of every column by the unique (first_name, last_name)
//                   pair, LIMIT 21; a miss is that SELECT, BEGIN, INSERT ... RETURNING
//                   every column, COMMIT. The two sides run in alternating blocks
//                   (support/paired.hpp). Prints `ratio hit|miss: X.XXx` (target <= 1.2x).
//   nested          one parent and 100 children created with get_or_create inside one
//                   caller-owned transaction: atomic (gocp's default: each child's create
//                   in its own SAVEPOINT ... RELEASE, two extra round trips) vs
//                   non-atomic (NonAtomicGetOrCreate: no savepoints), paired the same way.
//                   Prints `speedup nested: X.XXx` (target >= 1.5x).
//   nested_related  the same family through the reverse relation (gocp::related binds
//                   parent_id; the children's table has a foreign key with its index).
//
//   update_watched  the cost per write of `?watch=notify` (backends/postgres.hpp): a one-row
//   insert_watched  UPDATE by primary key (a bulk update through gocp), and a get_or_create
//                   miss (SELECT, BEGIN, INSERT, COMMIT), on a table with the NOTIFY
//                   triggers (this process listening) vs the same on one without, paired.
//                   Prints `ratio ...: X.XXx` (target <= 1.15x). Diagnostics: the same
//                   UPDATE with the triggers and no listener, and with one PL/pgSQL
//                   statement trigger that does nothing (the floor of any trigger), and
//                   with one that only NOTIFYs a constant to this process's listener (the
//                   floor of any trigger that notifies).
//   notify delay    (after the benchmarks) the time from a commit by another connection to
//                   this process's locmem cache being invalidated by the listener, over
//                   1000 one-row UPDATEs: p50, p99, max (target on loopback: p99 < 5 ms).
//
// At startup it checks, from the server's own statement log, that gocp and the floor send
// the same statements, and shows what each nested variant sends.
//
//   bench_postgres [--benchmark_min_time=0.2] [--benchmark_repetitions=5] [google benchmark flags]

#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gocp/backends/postgres.hpp>
#include <gocp/gocp.hpp>

#include "support/paired.hpp"
#include "support/ratio_reporter.hpp"
#include "../tests/support/library_models.hpp"
#include "../tests/support/postgres_server.hpp"
#include "../tests/support/relation_models.hpp"

using gocp::test::Author;
using gocp::test::Child;
using gocp::test::Parent;

namespace {

using gocp::c;
using Authors = gocp::Repository<Author>;
using Server = gocp::test::PostgresServer;

constexpr int kSeedRows = 1000;  // so the unique index has some depth
constexpr int kChildren = 100;
constexpr double kRatioTarget = 1.2;
constexpr double kSpeedupTarget = 1.5;
constexpr double kWatchTarget = 1.15;

/// A new database holding gocp's tables (its own DDL), optionally seeded with kSeedRows
/// authors plus ("Leo", "Tolstoy"). Returns its URL; the setup connection is closed.
/// `options` go into the URL (`watch=notify`: the tables get the NOTIFY triggers).
std::string make_database(bool seed, const std::string& options = "") {
  const std::string url = Server::instance().create_database(options);
  auto db = gocp::Database::open(url);
  Authors authors{db};
  authors.create_table();
  gocp::Repository<Parent>{db}.create_table();
  gocp::Repository<Child>{db}.create_table();
  gocp::Repository<rel::Parent>{db}.create_table();
  gocp::Repository<rel::Child>{db}.create_table();
  if (seed) {
    db.atomic([&] {
      for (int i = 0; i < kSeedRows; ++i)
        authors.create(Author{0, "first-" + std::to_string(i), "last-" + std::to_string(i), i, std::nullopt});
      authors.create(Author{0, "Leo", "Tolstoy", 3, "Amazon"});
    });
    db.execute("ANALYZE library_author");
  }
  // Never ANALYZE the empty tables: statistics saying "empty" make the server's generic
  // plan for the prepared lookups a sequential scan, which the growing tables then keep
  // (until autovacuum re-analyses them, after this benchmark has ended).
  return url;
}

// ---- the floor: hand-written libpq -----------------------------------------------------

class Floor {
 public:
  explicit Floor(const std::string& url) {
    // the same connection parameters gocp's URL parser produces for the fixture's URLs
    const std::string port = std::to_string(Server::instance().port());
    std::string dbname = url.substr(url.rfind('/') + 1);
    dbname = dbname.substr(0, dbname.find('?'));
    const char* keys[] = {"host", "port", "user", "dbname", "connect_timeout", "application_name", "client_encoding",
                          nullptr};
    const char* values[] = {"127.0.0.1", port.c_str(), "postgres", dbname.c_str(), "10", "floor", "UTF8", nullptr};
    conn_ = PQconnectdbParams(keys, values, 0);
    if (PQstatus(conn_) != CONNECTION_OK) fail("connect");
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    prepare("select",
            "SELECT id, first_name, last_name, books_in_store, store FROM library_author "
            "WHERE first_name = $1 AND last_name = $2 LIMIT 21");
    prepare("insert",
            "INSERT INTO library_author (books_in_store, first_name, last_name) VALUES ($1, $2, $3) "
            "RETURNING id, first_name, last_name, books_in_store, store");
  }
  Floor(const Floor&) = delete;
  Floor& operator=(const Floor&) = delete;
  ~Floor() { PQfinish(conn_); }

  PGconn* conn() const { return conn_; }

  /// The one row with this (first_name, last_name), if any.
  std::optional<Author> find(const std::string& first, const std::string& last) {
    const char* params[] = {first.c_str(), last.c_str()};
    PGresult* res = PQexecPrepared(conn_, "select", 2, params, nullptr, nullptr, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) fail("select", res);
    std::optional<Author> out;
    if (PQntuples(res) > 1) fail("several rows", res);
    if (PQntuples(res) == 1) out = read(res);
    PQclear(res);
    return out;
  }

  /// find(), else BEGIN; INSERT ... RETURNING; COMMIT (a unique violation rolls back
  /// and re-reads, as gocp does).
  std::pair<Author, bool> get_or_create(const std::string& first, const std::string& last) {
    if (auto found = find(first, last)) return {std::move(*found), false};
    exec("BEGIN");
    const char* params[] = {"0", first.c_str(), last.c_str()};
    PGresult* res = PQexecPrepared(conn_, "insert", 3, params, nullptr, nullptr, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      const bool unique = state && std::strcmp(state, "23505") == 0;
      PQclear(res);
      exec("ROLLBACK");
      if (unique) {
        if (auto found = find(first, last)) return {std::move(*found), false};
      }
      fail("insert");
    }
    Author created = read(res);
    PQclear(res);
    exec("COMMIT");
    return {std::move(created), true};
  }

  void exec(const char* sql) {
    PGresult* res = PQexec(conn_, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) fail(sql, res);
    PQclear(res);
  }

 private:
  void prepare(const char* name, const char* sql) {
    PGresult* res = PQprepare(conn_, name, sql, 0, nullptr);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) fail(sql, res);
    PQclear(res);
  }
  [[noreturn]] void fail(const char* what, PGresult* res = nullptr) {
    if (res) PQclear(res);
    throw std::runtime_error(std::string("floor: ") + what + ": " + PQerrorMessage(conn_));
  }
  static Author read(const PGresult* res) {
    Author a;
    a.id = std::strtoll(PQgetvalue(res, 0, 0), nullptr, 10);
    a.first_name.assign(PQgetvalue(res, 0, 1), static_cast<std::size_t>(PQgetlength(res, 0, 1)));
    a.last_name.assign(PQgetvalue(res, 0, 2), static_cast<std::size_t>(PQgetlength(res, 0, 2)));
    a.books_in_store = static_cast<int>(std::strtol(PQgetvalue(res, 0, 3), nullptr, 10));
    if (!PQgetisnull(res, 0, 4)) a.store.emplace(PQgetvalue(res, 0, 4), static_cast<std::size_t>(PQgetlength(res, 0, 4)));
    return a;
  }

  PGconn* conn_ = nullptr;
};

/// A new key per call, built the same way for both sides.
struct KeyMaker {
  std::string prefix = "new-";
  std::int64_t n = 0;
  std::string next() { return prefix + std::to_string(++n); }
};

// ---- the benchmarks -------------------------------------------------------------------

// hit and miss run both sides in one benchmark, in alternating blocks (run_paired), on
// one database (so one table, one set of statistics, one plan choice; each side its own
// connection and, for misses, its own keys): a ratio of neighbouring stretches, which
// the machine's and the server's drift hits alike.

/// Runs each side `rounds` times before the timing, so both start in their steady state:
/// the statements prepared, the server's plan for each settled (a prepared statement's
/// plan is re-chosen after its first executions), the catalog cached.
template <class GocpCall, class FloorCall>
void warm_up(int rounds, GocpCall& gocp_call, FloorCall& floor_call) {
  for (int i = 0; i < rounds; ++i) {
    gocp_call();
    floor_call();
  }
}

void hit(benchmark::State& state) {
  const std::string url = make_database(true);
  auto db = gocp::Database::open(url);
  const Authors authors{db};
  Floor floor(url);
  auto gocp_call = [&] {
    return authors.get_or_create(c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy");
  };
  auto floor_call = [&] { return floor.get_or_create("Leo", "Tolstoy"); };
  if (gocp_call().first.books_in_store != 3 || floor_call().first.books_in_store != 3)
    state.SkipWithError("hit: wrong row");
  warm_up(200, gocp_call, floor_call);
  gocp::bench::run_paired(state, 16, false, gocp_call, floor_call);
}

void miss(benchmark::State& state) {
  const std::string url = make_database(false);
  auto db = gocp::Database::open(url);
  const Authors authors{db};
  Floor floor(url);
  KeyMaker gocp_keys{"gocp-"}, floor_keys{"floor-"};
  auto gocp_call = [&] {
    return authors.get_or_create(c(&Author::first_name) == gocp_keys.next() && c(&Author::last_name) == "Tolstoy");
  };
  auto floor_call = [&] { return floor.get_or_create(floor_keys.next(), "Tolstoy"); };
  warm_up(200, gocp_call, floor_call);
  gocp::bench::run_paired(state, 16, true, gocp_call, floor_call);
}

/// One parent and kChildren children, all new, in one transaction the caller owns.
template <class Children>
void create_family(const gocp::Database& db, const gocp::Repository<Parent>& parents, const Children& children,
                   const std::string& parent_name) {
  db.atomic([&] {
    auto [parent, created] = parents.get_or_create(c(&Parent::name) == parent_name);
    if (!created) throw std::logic_error("nested: the parent existed");
    for (int i = 0; i < kChildren; ++i) {
      auto [child, child_created] =
          children.get_or_create(c(&Child::parent_id) == parent.id && c(&Child::name) == "child-" + std::to_string(i));
      if (!child_created) throw std::logic_error("nested: a child existed");
    }
  });
}

/// The same family through the reverse relation: `gocp::related(children, parent)` binds
/// parent_id, so each child's lookup names only its own field.
template <class Children>
void create_related_family(const gocp::Database& db, const gocp::Repository<rel::Parent>& parents,
                           const Children& children, const std::string& parent_name) {
  db.atomic([&] {
    auto [parent, created] = parents.get_or_create(c(&rel::Parent::name) == parent_name);
    if (!created) throw std::logic_error("nested_related: the parent existed");
    const auto kids = gocp::related(children, parent);
    for (int i = 0; i < kChildren; ++i)
      if (!kids.get_or_create(c(&rel::Child::name) == "child-" + std::to_string(i)).second)
        throw std::logic_error("nested_related: a child existed");
  });
}

/// Both variants on one database (their own connections and parent names), in
/// alternating blocks of one family: the `ratio` counter is non-atomic's time over
/// atomic's. `create(db, parents, children, name)` makes one family.
template <class ParentModel, class ChildModel, class Create>
void paired_families(benchmark::State& state, Create create) {
  const std::string url = make_database(false);
  auto atomic_db = gocp::Database::open(url);
  auto non_atomic_db = gocp::Database::open(url);
  const gocp::Repository<ParentModel> atomic_parents{atomic_db}, non_atomic_parents{non_atomic_db};
  const gocp::Repository<ChildModel> atomic_children{atomic_db};
  const gocp::Repository<ChildModel, gocp::NonAtomicGetOrCreate> non_atomic_children{non_atomic_db};
  KeyMaker atomic_names{"atomic-"}, non_atomic_names{"non-atomic-"};
  auto non_atomic_call = [&] {
    create(non_atomic_db, non_atomic_parents, non_atomic_children, non_atomic_names.next());
    return std::pair<int, bool>{kChildren, true};
  };
  auto atomic_call = [&] {
    create(atomic_db, atomic_parents, atomic_children, atomic_names.next());
    return std::pair<int, bool>{kChildren, true};
  };
  warm_up(3, non_atomic_call, atomic_call);  // a family is 101 calls
  gocp::bench::run_paired(state, 1, true, non_atomic_call, atomic_call);
}

void nested(benchmark::State& state) {
  paired_families<Parent, Child>(state, [](const auto&... args) { create_family(args...); });
}

void nested_related(benchmark::State& state) {
  paired_families<rel::Parent, rel::Child>(state, [](const auto&... args) { create_related_family(args...); });
}

// ---- the cost per write of ?watch=notify, and the delay of an invalidation ------------

/// What the watched side of watched_write has.
enum class Watched {
  notify,         ///< `?watch=notify`: the NOTIFY triggers, and this process's listener
  triggers_only,  ///< the triggers, no listener in this process (their own cost, without the wake-ups)
  empty_trigger,  ///< one PL/pgSQL statement trigger that does nothing: the floor of any trigger
  notify_only,    ///< one that only NOTIFYs a constant (a whole-table notice), this process
                  ///< listening: the floor of any trigger that notifies a listener
};

/// A one-row UPDATE by primary key (rows 1..kSeedRows in turn) on a watched table vs on a
/// plain one, or (insert) a get_or_create miss on each.
void watched_write(benchmark::State& state, bool insert, Watched watched_by = Watched::notify) {
  std::string watched_url = make_database(!insert, "watch=notify");
  if (watched_by != Watched::notify && watched_by != Watched::notify_only) watched_url.resize(watched_url.find('?'));
  const auto watched_db = gocp::Database::open(watched_url);
  if (watched_by == Watched::empty_trigger || watched_by == Watched::notify_only) {
    watched_db.execute("DROP TRIGGER gocp_notify_u ON library_author");
    watched_db.execute(watched_by == Watched::empty_trigger
                           ? "CREATE FUNCTION bench_nothing() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$"
                           : "CREATE FUNCTION bench_nothing() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN PERFORM "
                             "pg_notify('gocp_changes', 'W14:library_author'); RETURN NULL; END$$");
    watched_db.execute("CREATE TRIGGER bench_nothing AFTER UPDATE ON library_author FOR EACH STATEMENT EXECUTE FUNCTION "
                       "bench_nothing()");
  }
  const auto plain_db = gocp::Database::open(make_database(!insert));
  const Authors watched{watched_db}, plain{plain_db};
  KeyMaker watched_keys{"watched-"}, plain_keys{"plain-"};
  std::int64_t watched_row = 0, plain_row = 0;
  const auto write = [insert](const Authors& authors, KeyMaker& keys, std::int64_t& row) {
    if (insert)
      return authors.get_or_create(c(&Author::first_name) == keys.next() && c(&Author::last_name) == "Tolstoy").second;
    row = row % kSeedRows + 1;
    if (authors.filter(c(&Author::id) == row).update(c(&Author::books_in_store) += 1) != 1)
      throw std::logic_error("update_watched: the row is missing");
    return false;
  };
  auto watched_call = [&] { return std::pair<int, bool>{0, write(watched, watched_keys, watched_row)}; };
  auto plain_call = [&] { return std::pair<int, bool>{0, write(plain, plain_keys, plain_row)}; };
  warm_up(200, watched_call, plain_call);
  gocp::bench::run_paired(state, 16, insert, watched_call, plain_call);
}

void update_watched(benchmark::State& state) { watched_write(state, false); }
void insert_watched(benchmark::State& state) { watched_write(state, true); }
void update_triggers_only(benchmark::State& state) { watched_write(state, false, Watched::triggers_only); }
void update_empty_trigger(benchmark::State& state) { watched_write(state, false, Watched::empty_trigger); }
void update_notify_only(benchmark::State& state) { watched_write(state, false, Watched::notify_only); }

/// The delay from a commit by another connection (B, plain libpq, autocommit UPDATE of one
/// row) to this process's locmem cache of the table being invalidated (A's listener
/// publishing the change; a subscriber after the cache's notes the time), over 1000
/// writes after 100 of warm-up: p50, p99 and max, from B's commit acknowledged and from
/// B's statement sent.
void notify_delay() {
  const std::string url = make_database(true, "watch=notify");
  const auto db = gocp::Database::open(url);
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"library.author", "locmem:///"}};
  const gocp::Repository<Author, gocp::CachedGetOrCreate> cached{db, caches};
  using Clock = std::chrono::steady_clock;
  std::atomic<std::uint64_t> heard{0};
  std::atomic<Clock::rep> heard_at{0};
  const auto subscription = db.changes().subscribe("library_author", [&](const gocp::RowChange&) {
    heard_at.store(Clock::now().time_since_epoch().count());
    heard.fetch_add(1);
    heard.notify_all();
  });
  Floor b(url);
  std::vector<double> from_ack, from_send;
  for (int i = 0; i < 1100; ++i) {
    const std::int64_t row = i % kSeedRows + 1;
    cached.get_or_create(c(&Author::id) == row);  // cached in A, so the write has an entry to invalidate
    const std::uint64_t before = heard.load();
    const std::string sql = "UPDATE library_author SET books_in_store = " + std::to_string(i) +
                            " WHERE id = " + std::to_string(row);
    const auto sent = Clock::now();
    b.exec(sql.c_str());
    const auto acknowledged = Clock::now();
    for (std::uint64_t now = heard.load(); now == before; now = heard.load()) heard.wait(now);
    const auto invalidated = Clock::time_point(Clock::duration(heard_at.load()));
    if (i < 100) continue;
    from_ack.push_back(std::chrono::duration<double, std::micro>(invalidated - acknowledged).count());
    from_send.push_back(std::chrono::duration<double, std::micro>(invalidated - sent).count());
  }
  const auto show = [](const char* label, std::vector<double> v, bool targeted) {
    std::sort(v.begin(), v.end());
    const auto at = [&](double q) { return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))]; };
    std::printf("notify delay %s: p50 %.0f us, p99 %.0f us, max %.0f us over %zu writes%s\n", label, at(0.5), at(0.99),
                v.back(), v.size(), !targeted ? "" : at(0.99) > 5000 ? "  (target p99 < 5 ms)  ** above target **"
                                                                       : "  (target p99 < 5 ms)");
  };
  show("(B's commit acknowledged -> A's cache invalidated)", from_ack, true);
  show("(B's UPDATE sent -> A's cache invalidated; diagnostic: includes the UPDATE itself)", from_send, false);
}

// ---- startup check: the statements each side sends, from the server's log ------------

/// The statements logged since `offset` (for sessions with log_statement = 'all'), by their
/// leading keyword: "SELECT", "BEGIN", "INSERT", "SAVEPOINT", ...
std::vector<std::string> logged_since(std::streamoff offset) {
  std::ifstream in(Server::instance().log_file());
  in.seekg(offset);
  std::vector<std::string> verbs;
  for (std::string line; std::getline(in, line);) {
    std::size_t at = line.find("LOG:  statement: ");
    if (at != std::string::npos) {
      at += std::strlen("LOG:  statement: ");
    } else if ((at = line.find("LOG:  execute ")) != std::string::npos) {
      at = line.find(": ", at + std::strlen("LOG:  execute "));  // "execute <name>: <sql>"
      if (at == std::string::npos) continue;
      at += 2;
    } else {
      continue;
    }
    const std::string sql = line.substr(at);
    verbs.push_back(sql.substr(0, sql.find(' ')));
  }
  return verbs;
}

std::streamoff log_size() {
  std::ifstream in(Server::instance().log_file(), std::ios::ate);
  return in.tellg();
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

template <class F>
std::vector<std::string> traced(F&& body) {
  const auto before = log_size();
  body();
  return logged_since(before);
}

/// Runs a miss and a hit through each side with statement logging on, and the two nested
/// variants (with 3 children); false unless gocp and the floor send the same statements.
bool same_statements() {
  const std::string url = make_database(false);
  auto one = gocp::Database::open(url + "?pool=1");  // the session that has log_statement set
  one.execute("SET log_statement = 'all'");
  const Authors authors{one};
  authors.check_schema();  // a new Database checks a table once, before its first statement: not part of the comparison
  const auto gocp_verbs = traced([&] {
    authors.get_or_create(c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy");  // miss
    authors.get_or_create(c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy");  // hit
  });
  Floor floor(url);
  floor.exec("SET log_statement = 'all'");
  const auto floor_verbs = traced([&] {
    floor.get_or_create("Leo2", "Tolstoy");
    floor.get_or_create("Leo2", "Tolstoy");
  });
  std::printf("statements, miss then hit:\n  gocp:  %s\n  floor: %s\n", join(gocp_verbs).c_str(),
              join(floor_verbs).c_str());

  const gocp::Repository<Parent> parents{one};
  auto family = [&](const auto& children, const std::string& name) {
    return traced([&] {
      one.atomic([&] {
        auto [parent, _] = parents.get_or_create(c(&Parent::name) == name);
        for (int i = 0; i < 2; ++i)
          children.get_or_create(c(&Child::parent_id) == parent.id && c(&Child::name) == "c" + std::to_string(i));
      });
    });
  };
  std::printf("statements, nested parent + 2 children:\n  atomic:     %s\n  non_atomic: %s\n",
              join(family(gocp::Repository<Child>{one}, "p1")).c_str(),
              join(family(gocp::Repository<Child, gocp::NonAtomicGetOrCreate>{one}, "p2")).c_str());
  return gocp_verbs == floor_verbs && !gocp_verbs.empty();
}

}  // namespace

/// On a machine with few cores, where a backend runs decides a side's speed: one that
/// shares the client's core pays a context switch per round trip, one on another core
/// does not, and which one a connection gets is up to the scheduler, so two identical
/// sides measured up to 2x apart. Pin this process to CPU 0 and the server (its
/// postmaster, so every backend forked from now on) to the others.
void pin_client_and_server_apart() {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  const pid_t postmaster = Server::instance().pid();
  if (cpus < 2 || postmaster <= 0) {
    std::printf("CPU pinning: skipped (%ld CPUs)\n", cpus);
    return;
  }
  cpu_set_t client, server;
  CPU_ZERO(&client);
  CPU_ZERO(&server);
  CPU_SET(0, &client);
  for (long cpu = 1; cpu < cpus && cpu < CPU_SETSIZE; ++cpu) CPU_SET(static_cast<int>(cpu), &server);
  if (sched_setaffinity(0, sizeof client, &client) != 0 || sched_setaffinity(postmaster, sizeof server, &server) != 0) {
    std::printf("CPU pinning: failed (%s)\n", std::strerror(errno));
    return;
  }
  std::printf("CPU pinning: this process on CPU 0, the server on the other %ld\n", cpus - 1);
}

int main(int argc, char** argv) {
  try {
    std::printf("PostgreSQL: throwaway cluster on 127.0.0.1:%d\n", Server::instance().port());
    pin_client_and_server_apart();
    if (!same_statements()) {
      std::fprintf(stderr, "bench_postgres: gocp and the floor do not send the same statements\n");
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_postgres: %s\n", e.what());
    return 1;
  }

  benchmark::RegisterBenchmark("hit", hit)->UseManualTime();
  benchmark::RegisterBenchmark("miss", miss)->UseManualTime();
  benchmark::RegisterBenchmark("nested", nested)->UseManualTime();
  benchmark::RegisterBenchmark("nested_related", nested_related)->UseManualTime();
  benchmark::RegisterBenchmark("update_watched", update_watched)->UseManualTime();
  benchmark::RegisterBenchmark("insert_watched", insert_watched)->UseManualTime();
  benchmark::RegisterBenchmark("update_triggers_only", update_triggers_only)->UseManualTime();
  benchmark::RegisterBenchmark("update_empty_trigger", update_empty_trigger)->UseManualTime();
  benchmark::RegisterBenchmark("update_notify_only", update_notify_only)->UseManualTime();

  gocp::bench::RatioReporter reporter;
  const bool ok = gocp::bench::run_benchmarks(argc, argv, reporter);
  reporter.print_paired_ratio("hit", "hit", kRatioTarget);
  reporter.print_paired_ratio("miss", "miss", kRatioTarget);
  reporter.print_paired_speedup("nested (1 parent + 100 children, non-atomic vs atomic)", "nested", kSpeedupTarget);
  reporter.print_paired_speedup("nested_related (the same through gocp::related)", "nested_related", kSpeedupTarget);
  reporter.print_paired_ratio("update_watched (one-row UPDATE, NOTIFY triggers vs none)", "update_watched", kWatchTarget);
  reporter.print_paired_ratio("insert_watched (get_or_create miss, NOTIFY triggers vs none)", "insert_watched",
                              kWatchTarget);
  reporter.print_paired_ratio("update_triggers_only (diagnostic: the same, no listener)", "update_triggers_only");
  reporter.print_paired_ratio("update_empty_trigger (diagnostic: a PL/pgSQL trigger that does nothing vs none)",
                              "update_empty_trigger");
  reporter.print_paired_ratio("update_notify_only (diagnostic: a trigger that only NOTIFYs a constant, listened to, vs none)",
                              "update_notify_only");
  try {
    notify_delay();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_postgres: notify delay: %s\n", e.what());
    return 1;
  }
  benchmark::Shutdown();
  return ok ? 0 : 1;
}
