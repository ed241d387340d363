// A differential oracle for every cached read (issue 19): threads write at random (saves,
// bulk updates, deletes, creates, transactions rolled back) while others read through the
// caches at random, their fills racing the writes; a checker stops the writers at exact
// points (it holds `writing` exclusively: writers hold it shared while a write is in
// flight, so none is) and compares each cached answer with the same query asked of the
// database uncached. Cached kinds checked: .cache() all / count / exists / values_list,
// get-style find, from_cache, from_cache_list and objects_by_pks. Built once, run on
// SQLite and PostgreSQL (_pg) and on locmem, Redis and memcached (_redis, _memcached).
// Results are collected by the threads and asserted after they are joined (Catch2 v2 is
// not thread-safe).

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "support/cached_authors.hpp"
#include "support/library_models.hpp"

using gocp::c;
using gocp::test::Author;

namespace {

constexpr int kNames = 12;   // first names and last names drawn from: lookups that hit, miss and collide
constexpr int kStock = 6;    // books_in_store values
constexpr int kWriters = 2;
constexpr int kRacers = 2;   // cached reads with no lock: their fills race the writes
constexpr int kChecks = 200;

std::string first_name(std::uint32_t i) { return "F" + std::to_string(i % kNames); }
std::string last_name(std::uint32_t i) { return "L" + std::to_string(i % kNames); }

/// An answer as text, to compare and to show.
std::string shown(const std::optional<Author>& a) {
  if (!a) return "none";
  return std::to_string(a->id) + ":" + a->first_name + "/" + a->last_name + "/" + std::to_string(a->books_in_store) +
         "/" + a->store.value_or("-");
}
template <class T>
std::string shown(const std::vector<T>& rows) {
  std::string out = "[";
  for (const auto& r : rows) {
    if constexpr (std::is_same_v<T, Author>) out += shown(std::optional<Author>(r));
    else if constexpr (std::is_same_v<T, std::optional<Author>>) out += shown(r);
    else out += std::to_string(r);
    out += ' ';
  }
  return out + "]";
}
std::string shown(std::size_t n) { return std::to_string(n); }
std::string shown(bool b) { return b ? "true" : "false"; }

/// What a process reads and writes through: a database, a repository without caches
/// (the database's own answers) and one with them.
struct Actors {
  gocp::Database& db;
  const gocp::Repository<Author>& plain;
  const gocp::Repository<Author>& cached;

  /// Query `q` (0..7) with the draws `a`, `b`, asked through the caches (`through_cache`)
  /// or of the database: the answer as text.
  std::string ask(int q, std::uint32_t a, std::uint32_t b, bool through_cache) const {
    const auto& repo = through_cache ? cached : plain;
    const auto cache = [&](const auto& r) { return through_cache ? r.cache() : r; };
    const auto by_name = c(&Author::first_name) == first_name(a) && c(&Author::last_name) == last_name(b);
    switch (q) {
      case 0:  // a list by an equality, ordered and sliced
        return shown(cache(repo.filter(c(&Author::last_name) == last_name(a)).order_by(c(&Author::first_name)).limit(3))
                         .all());
      case 1:  // a count by an OR of an equality and a range (table-wide for the range's group)
        return shown(cache(repo.filter(c(&Author::books_in_store) == static_cast<int>(a % kStock) ||
                                       c(&Author::books_in_store) > static_cast<int>(b % kStock)))
                         .count());
      case 2:  // exists, by an in() of a few values
        return shown(cache(repo.filter(c(&Author::first_name).in({first_name(a), first_name(b)}) &&
                                       c(&Author::store).is_null()))
                         .exists());
      case 3:  // values_list by a negation
        return shown(cache(repo.exclude(c(&Author::books_in_store) == static_cast<int>(a % kStock))).values_list(&Author::id));
      case 4:  // a get-style read (negative answers included)
        return shown(cache(repo).find(by_name));
      case 5:  // the cached manager, one item
        if (!through_cache) return shown(plain.find(by_name));
        return shown(cached.from_cache("author:{first_name}:{last_name}", by_name, {.none_on_error = true}));
      case 6:  // the cached manager, a list under a const filter
        if (!through_cache)
          return shown(plain.filter(c(&Author::last_name) == last_name(a) && c(&Author::books_in_store) >= 2).all());
        return shown(cached.from_cache_list("authors:{last_name}", c(&Author::last_name) == last_name(a),
                                            {.filters = c(&Author::books_in_store) >= 2}));
      default: {  // objects by pk, in the order asked, with gaps and repeats
        const std::vector<std::int64_t> pks{a % 60 + 1, b % 60 + 1, a % 60 + 1, 1000};
        return shown(repo.objects_by_pks(pks));
      }
    }
  }

  /// One random write (or a transaction of writes rolled back).
  void write(std::mt19937& rng, int writer, int n) const {
    const auto pick = [&]() -> std::optional<Author> {
      return plain.find(c(&Author::id) == static_cast<std::int64_t>(rng() % 60 + 1));
    };
    switch (rng() % 6) {
      case 0:
        if (auto a = pick()) {  // a save that moves the row between groups
          a->books_in_store = static_cast<int>(rng() % kStock);
          if (rng() % 2) a->store = rng() % 2 ? std::optional<std::string>("Kiosk") : std::nullopt;
          cached.save(*a);
        }
        break;
      case 1:
        if (auto a = pick()) {  // a rename (its unique pair may collide: then nothing is written)
          a->last_name = last_name(static_cast<std::uint32_t>(rng()));
          try {
            plain.save(*a);
          } catch (const gocp::IntegrityError&) {
          }
        }
        break;
      case 2:  // a bulk update of a group
        plain.filter(c(&Author::last_name) == last_name(static_cast<std::uint32_t>(rng())))
            .update(c(&Author::books_in_store) += 1);
        break;
      case 3:
        if (auto a = pick()) plain.remove(*a);
        break;
      case 4:  // a create (the pair may exist already)
        try {
          cached.create(Author{0, first_name(static_cast<std::uint32_t>(rng())), last_name(static_cast<std::uint32_t>(rng())),
                               static_cast<int>(rng() % kStock), {}});
        } catch (const gocp::IntegrityError&) {
        }
        break;
      default:  // writes in a transaction, rolled back: nothing of them may stay cached
        try {
          db.atomic([&] {
            plain.filter(c(&Author::books_in_store) >= 0).update(c(&Author::books_in_store) = 99);
            if (auto a = pick()) plain.remove(*a);
            throw std::runtime_error("writer " + std::to_string(writer) + " rolls back " + std::to_string(n));
          });
        } catch (const std::runtime_error&) {
        }
    }
  }
};

/// The rows both kinds of oracle start from.
void seed(gocp::Database& db, const gocp::Repository<Author>& plain) {
  db.atomic([&] {
    for (std::uint32_t i = 0; i < 40; ++i)
      plain.create(Author{0, first_name(i), last_name(i * 7 + i / kNames), static_cast<int>(i % kStock), {}});
  });
}

struct Oracle : gocp::test::CachedAuthors {
  gocp::Repository<Author> plain{db};
  gocp::Repository<Author> cached{db, caches};
  Actors here{db, plain, cached};

  Oracle() { seed(db, plain); }
};

/// One process's own Database, registry and repositories on the file and cache both
/// processes share; its writes bump the query versions from the start (CachedQueries
/// listens when built), so the other process's entries hear of them.
struct Process {
  gocp::Database db;
  gocp::CacheRegistry caches;
  gocp::Repository<Author> plain{db};
  gocp::Repository<Author> cached{db, caches};
  gocp::Repository<Author, gocp::CachedQueries> listening{db, caches};
  Actors here{db, plain, cached};

  Process(const std::string& database_url, const std::string& cache_url)
      : db(gocp::Database::open(database_url)), caches{{"default", cache_url}, {"library.author", cache_url}} {}
};

/// A lock between processes: flock on a file, through a descriptor of its own per holder
/// (flock locks belong to the open file): writers shared, the checker exclusive.
class FileGate {
 public:
  explicit FileGate(const std::string& path) : fd_(open(path.c_str(), O_RDWR | O_CREAT, 0600)) {
    if (fd_ < 0) throw std::runtime_error("cannot open the gate file " + path);
  }
  FileGate(const FileGate&) = delete;
  FileGate& operator=(const FileGate&) = delete;
  ~FileGate() { close(fd_); }
  void lock_shared() { take(LOCK_SH); }
  void unlock_shared() { take(LOCK_UN); }
  void lock() { take(LOCK_EX); }
  void unlock() { take(LOCK_UN); }

 private:
  void take(int how) {
    while (flock(fd_, how) != 0)
      if (errno != EINTR) throw std::runtime_error("flock failed");
  }
  int fd_;
};

/// A second process on the same SQLite file and the same shared cache (its own Database,
/// registry and repositories, opened after the fork), forked before this process opens
/// the file or starts a thread: it writes at random under
/// the gate, shared, and reads through the caches (its fills race the writes too) until
/// the parent closes `stop`; it reports "writes reads" on `report`.
struct WriterProcess {
  pid_t pid = -1;
  int start[2] = {-1, -1}, stop[2] = {-1, -1}, report[2] = {-1, -1};

  WriterProcess(const std::string& database_url, const std::string& cache_url, const std::string& gate_path) {
    if (pipe(start) != 0 || pipe(stop) != 0 || pipe(report) != 0) throw std::runtime_error("pipe failed");
    std::fflush(nullptr);
    pid = fork();
    if (pid != 0) {
      close(start[0]);
      close(stop[0]);
      close(report[1]);
      return;
    }
    close(start[1]);
    close(stop[1]);
    close(report[0]);
    alarm(120);
    int status = 1;
    try {
      FileGate gate(gate_path);
      char go;
      while (read(start[0], &go, 1) < 0 && errno == EINTR) {
      }
      Process self(database_url, cache_url);  // opened after the fork: SQLite's locks are per process
      Actors& there = self.here;
      std::mt19937 rng(4242);
      long writes = 0, reads = 0;
      for (int n = 0;; ++n) {
        pollfd p{stop[0], POLLIN, 0};
        if (poll(&p, 1, 0) > 0) break;  // the parent closed it: done
        gate.lock_shared();
        try {
          there.write(rng, 9, n);
        } catch (...) {
          gate.unlock_shared();
          throw;
        }
        gate.unlock_shared();
        ++writes;
        there.ask(static_cast<int>(rng() % 8), static_cast<std::uint32_t>(rng()), static_cast<std::uint32_t>(rng()), true);
        ++reads;
      }
      const std::string counts = std::to_string(writes) + " " + std::to_string(reads);
      status = write(report[1], counts.data(), counts.size()) == static_cast<ssize_t>(counts.size()) ? 0 : 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "writer process: %s\n", e.what());
    }
    std::fflush(nullptr);
    _exit(status);
  }
  void go() { close(start[1]); }
  /// Stops it; its wait status and its counts ("writes reads").
  std::pair<int, std::string> finish() {
    close(stop[1]);
    std::string counts;
    char buf[64];
    for (ssize_t got; (got = read(report[0], buf, sizeof buf)) != 0;) {
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) break;
      counts.append(buf, static_cast<std::size_t>(got));
    }
    close(report[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return {status, counts};
  }
};

/// Writers and racing readers on threads (and, with `other`, the process's too) while the
/// checker compares, at kChecks exact points, each cached answer with the database's.
void run_oracle(const Actors& here, WriterProcess* other, FileGate* gate) {
  std::shared_mutex writing;  // writers shared (a write in flight), the checker exclusive (none is)
  std::atomic<bool> done{false};
  std::atomic<int> writes{0}, racing_reads{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;  // mismatches and unexpected exceptions, asserted after join
  std::atomic<int> failed{0};
  const auto fail = [&](std::string what) {
    ++failed;
    std::lock_guard lock(failures_mutex);
    failures.push_back(std::move(what));
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w)
    threads.emplace_back([&, w] {
      std::mt19937 rng(static_cast<unsigned>(17 + w));
      try {
        for (int n = 0; !done; ++n) {
          {
            std::shared_lock lock(writing);
            here.write(rng, w, n);
          }
          ++writes;
          std::this_thread::yield();  // a gap for the checker
        }
      } catch (const std::exception& e) {
        fail(std::string("writer: ") + e.what());
      }
    });
  for (int r = 0; r < kRacers; ++r)
    threads.emplace_back([&, r] {
      std::mt19937 rng(static_cast<unsigned>(101 + r));
      try {
        while (!done) {
          here.ask(static_cast<int>(rng() % 8), static_cast<std::uint32_t>(rng()), static_cast<std::uint32_t>(rng()), true);
          ++racing_reads;
        }
      } catch (const std::exception& e) {
        fail(std::string("racing reader: ") + e.what());
      }
    });

  if (other) other->go();
  int checked = 0, mismatches = 0;
  std::mt19937 rng(7);
  try {
    for (int i = 0; i < kChecks; ++i) {
      const int q = static_cast<int>(rng() % 8);
      const auto a = static_cast<std::uint32_t>(rng()), b = static_cast<std::uint32_t>(rng());
      // at least two writes between checks (each writer's own pace otherwise: the checker
      // would starve them), then no write in flight from the lock on
      for (const int seen = writes.load(); writes.load() < seen + 2 && failed.load() == 0;) std::this_thread::yield();
      std::unique_lock lock(writing);
      std::unique_lock<FileGate> other_writers;
      if (gate) other_writers = std::unique_lock(*gate);
      for (int twice = 0; twice < 2; ++twice) {  // a miss or hit, then (most likely) a hit
        const std::string got = here.ask(q, a, b, true), expected = here.ask(q, a, b, false);
        ++checked;
        if (got != expected) {
          ++mismatches;
          std::ostringstream what;
          what << "query " << q << " (" << a << ", " << b << ") check " << i << ": cached " << got << " database "
               << expected;
          fail(what.str());
        }
      }
    }
  } catch (const std::exception& e) {
    fail(std::string("checker: ") + e.what());
  }
  done = true;
  for (auto& t : threads) t.join();
  const auto [status, counts] = other ? other->finish() : std::pair<int, std::string>{0, "0 0"};

  INFO("reads checked " << checked << ", mismatches " << mismatches << ", writes " << writes.load()
                        << ", racing reads " << racing_reads.load());
  WARN("oracle: reads checked " << checked << ", mismatches " << mismatches << ", writes " << writes.load()
                                << ", racing cached reads " << racing_reads.load() << ", cache hits "
                                << here.cached.stats().hits << "; the other process's writes and reads: " << counts);
  for (const auto& f : failures) UNSCOPED_INFO(f);
  CHECK(failures.empty());
  CHECK(mismatches == 0);
  CHECK(checked == 2 * kChecks);
  CHECK(writes.load() > 0);
  CHECK(here.cached.stats().hits > 0);
  if (other) {
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(counts.find(' ') != std::string::npos);
    CHECK(counts.rfind("0 ", 0) != 0);  // it wrote
  }
}

}  // namespace

TEST_CASE_METHOD(Oracle, "differential oracle: every cached answer is the database's while writes and fills race",
                 "[oracle][concurrency]") {
  run_oracle(here, nullptr, nullptr);
}

// A second process only where it shares the cache and the database: SQLite and Redis
// (CMake selects it for the _redis run only).
TEST_CASE("differential oracle with a second process writing the same SQLite file through the same Redis",
          "[oracle][concurrency][process]") {
  REQUIRE(gocp::test::cache_kind() == "redis");
  REQUIRE_FALSE(gocp::test::testing_postgres());
  gocp::test::TempDir dir;
  const std::string database_url = dir.sqlite_url(), cache_url = gocp::test::cache_url();  // the server starts here
  const std::string gate_path = dir.file("gate").string();
  FileGate gate(gate_path);
  WriterProcess other(database_url, cache_url, gate_path);  // before this process opens the file
  Process self(database_url, cache_url);
  self.plain.create_table();
  seed(self.db, self.plain);
  run_oracle(self.here, &other, &gate);
}
