// Multi-process correctness at scale on PostgreSQL: 8 processes x 4 threads run 20,000
// get_or_create calls over 500 hot keys against one database. Exactly 500 rows must
// exist, every caller must get the same primary key for a key, and exactly one call per
// key may report created == true (the one whose thread the row names). Prints throughput.

#include <catch2/catch.hpp>

#include <gocp/backends/postgres.hpp>
#include <gocp/gocp.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/postgres_server.hpp"

namespace {

struct HotKey {
  std::int64_t id = 0;
  std::string name;
  std::int64_t creator = -1;  // the worker thread whose create won
};

}  // namespace

template <>
struct gocp::model<HotKey> {
  static constexpr std::string_view name = "stress.hot_key";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&HotKey::id, "id"), gocp::field(&HotKey::name, "name", gocp::max_length(32), gocp::unique),
                  gocp::field(&HotKey::creator, "creator"));
};

using gocp::c;

namespace {

constexpr int kProcesses = 8;
constexpr int kThreads = 4;
constexpr int kCalls = 20'000;
constexpr int kKeys = 500;
constexpr int kCallsPerThread = kCalls / (kProcesses * kThreads);
static_assert(kCalls % (kProcesses * kThreads) == 0);
constexpr int kRacedKeys = 50;  // every worker starts on these, in the same order: creates collide

std::string key_name(int k) { return "key-" + std::to_string(k); }

/// What one key looked like to one process.
struct KeyReport {
  std::int32_t key = 0;
  std::int32_t calls = 0;
  std::int32_t created = 0;
  std::int32_t disagreements = 0;  // calls that saw another pk than the first call did
  std::int64_t pk = 0;
  std::int64_t created_by = -1;  // worker that saw created == true (last one, if several)
};

/// A child process: runs its threads, writes a report per key to `fd`, exits with _exit
/// (never returning into Catch, never running the parent's static destructors).
[[noreturn]] void run_child(int process, const std::string& url, int fd) {
  int status = 0;
  std::vector<KeyReport> reports(kKeys);
  std::string error;
  try {
    auto db = gocp::Database::open(url);
    const gocp::Repository<HotKey> keys{db};
    std::mutex m;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const std::int64_t worker = process * kThreads + t;
        std::vector<int> order;
        for (int k = 0; k < kRacedKeys; ++k) order.push_back(k);  // the same start for all
        std::vector<int> rest;
        for (int k = kRacedKeys; k < kKeys; ++k) rest.push_back(k);
        std::mt19937 rng(static_cast<unsigned>(worker) * 7919u + 1u);
        std::shuffle(rest.begin(), rest.end(), rng);
        order.insert(order.end(), rest.begin(), rest.end());
        while (static_cast<int>(order.size()) < kCallsPerThread) order.push_back(static_cast<int>(rng() % kKeys));
        order.resize(kCallsPerThread);
        try {
          for (int k : order) {
            auto [row, created] =
                keys.get_or_create(c(&HotKey::name) == key_name(k), gocp::defaults(c(&HotKey::creator) = worker));
            std::lock_guard lock(m);
            KeyReport& r = reports[k];
            r.key = k;
            if (r.calls++ == 0) r.pk = row.id;
            if (row.id != r.pk) ++r.disagreements;
            if (created) {
              ++r.created;
              r.created_by = worker;
            }
          }
        } catch (const std::exception& e) {
          std::lock_guard lock(m);
          error += "worker " + std::to_string(worker) + ": " + e.what() + "\n";
        }
      });
    }
    for (auto& th : threads) th.join();
  } catch (const std::exception& e) {
    error += std::string("process: ") + e.what() + "\n";
  }
  if (!error.empty()) status = 1;
  auto write_all = [&](const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w <= 0) _exit(3);
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  };
  const std::uint32_t error_size = static_cast<std::uint32_t>(error.size());
  write_all(&error_size, sizeof error_size);
  write_all(error.data(), error.size());
  write_all(reports.data(), reports.size() * sizeof(KeyReport));
  ::close(fd);
  _exit(status);
}

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

TEST_CASE("8 processes x 4 threads: 20,000 get_or_create calls over 500 hot keys", "[postgres][concurrency]") {
  auto& server = gocp::test::PostgresServer::instance();  // started here, before any fork
  const std::string url = server.create_database("pool=" + std::to_string(kThreads));
  {
    auto db = gocp::Database::open(url);
    gocp::Repository<HotKey>{db}.create_table();
  }  // closed: the children must not share the parent's connections

  std::fflush(nullptr);  // nothing buffered is written twice by the children
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::pair<pid_t, int>> children;
  for (int p = 0; p < kProcesses; ++p) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      for (const auto& [other, other_fd] : children) ::close(other_fd);
      run_child(p, url, fds[1]);
    }
    ::close(fds[1]);
    children.emplace_back(pid, fds[0]);
  }

  std::vector<std::vector<KeyReport>> reports;
  std::string errors;
  for (const auto& [pid, fd] : children) {
    const std::string data = read_all(fd);
    ::close(fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    INFO("child " << pid << " exit status " << status);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    std::uint32_t error_size = 0;
    REQUIRE(data.size() >= sizeof error_size);
    std::memcpy(&error_size, data.data(), sizeof error_size);
    REQUIRE(data.size() == sizeof error_size + error_size + kKeys * sizeof(KeyReport));
    errors += data.substr(sizeof error_size, error_size);
    std::vector<KeyReport> r(kKeys);
    std::memcpy(r.data(), data.data() + sizeof error_size + error_size, kKeys * sizeof(KeyReport));
    reports.push_back(std::move(r));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(errors == "");

  // every caller agrees on each key's pk; created exactly once per key, by the row's creator
  auto db = gocp::Database::open(url);
  const gocp::Repository<HotKey> keys{db};
  std::map<std::string, HotKey> rows;
  for (HotKey& k : keys.all()) rows.emplace(k.name, std::move(k));
  CHECK(rows.size() == static_cast<std::size_t>(kKeys));
  CHECK(keys.count() == static_cast<std::size_t>(kKeys));

  long total_calls = 0;
  int bad_keys = 0;
  for (int k = 0; k < kKeys; ++k) {
    std::int64_t pk = 0;
    int created = 0, calls = 0, disagreements = 0;
    std::int64_t created_by = -1;
    for (const auto& process : reports) {
      const KeyReport& r = process[k];
      calls += r.calls;
      created += r.created;
      disagreements += r.disagreements;
      if (r.created) created_by = r.created_by;
      if (r.calls == 0) continue;
      if (pk == 0) pk = r.pk;
      if (r.pk != pk) ++disagreements;
    }
    total_calls += calls;
    const auto row = rows.find(key_name(k));
    const bool ok = calls > 0 && disagreements == 0 && created == 1 && row != rows.end() && row->second.id == pk &&
                    row->second.creator == created_by;
    if (!ok && ++bad_keys <= 5) {
      UNSCOPED_INFO("key " << k << ": calls " << calls << ", created " << created << ", disagreements "
                           << disagreements << ", pk " << pk << ", row "
                           << (row == rows.end() ? std::string("missing")
                                                 : std::to_string(row->second.id) + " by " +
                                                       std::to_string(row->second.creator))
                           << ", created_by " << created_by);
    }
  }
  CHECK(bad_keys == 0);
  CHECK(total_calls == kCalls);

  // Each lost race is a rolled-back create (its INSERT hit the winner's row): prove the
  // race path ran. The children's server processes publish their counts as they exit.
  std::int64_t rollbacks = 0;
  for (int i = 0; i < 200 && rollbacks == 0; ++i) {
    db.with_connection([&](gocp::Connection& conn) {
      conn.query("SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()", {},
                 [&](const gocp::Row& row) {
                   rollbacks = row.integer(0);
                   return false;
                 });
    });
    if (rollbacks == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(rollbacks > 0);

  std::printf("pg stress: %d get_or_create calls by %d processes x %d threads over %d keys in %.2f s = %.0f calls/s "
              "(%lld lost create races resolved by re-get)\n",
              kCalls, kProcesses, kThreads, kKeys, seconds, kCalls / seconds, static_cast<long long>(rollbacks));
  std::fflush(stdout);
  CHECK(seconds < 60);
}
