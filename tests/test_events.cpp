// The event hook (events.hpp): a Database reports each statement and each failure; a
// CacheRegistry reports its shared caches' errors, circuits opening and closing, and
// invalidations delivered late or flushed. One case per event kind. The cache cases
// ([shared]) run on the throwaway Redis and memcached servers (test_events_redis.*,
// test_events_memcached.*), which they pause and resume.

#include <catch2/catch.hpp>

#include <gocp/cache/shared.hpp>  // SharedCache::url(), whichever client is compiled in
#include <gocp/gocp.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/cache_url.hpp"
#include "support/library_models.hpp"
#include "support/temp_dir.hpp"

using gocp::c;
using gocp::Event;
using gocp::test::Author;
using namespace std::chrono_literals;

namespace {

/// What a sink received, copied out of the events (their views live only during the call).
struct Seen {
  Event::Kind kind;
  std::string source, text, detail;
  std::chrono::nanoseconds duration;
  std::size_t count;
};

/// A thread-safe sink that keeps every event.
class Recorder {
 public:
  gocp::EventSink sink() {
    return [this](const Event& e) {
      std::lock_guard lock(mutex_);
      seen_.push_back({e.kind, std::string(e.source), std::string(e.text), std::string(e.detail), e.duration, e.count});
    };
  }
  std::vector<Seen> of(Event::Kind kind) const {
    std::lock_guard lock(mutex_);
    std::vector<Seen> out;
    for (const Seen& s : seen_)
      if (s.kind == kind) out.push_back(s);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
};

bool any_text_starts(const std::vector<Seen>& seen, const std::string& head) {
  for (const Seen& s : seen)
    if (s.text.rfind(head, 0) == 0) return true;
  return false;
}

/// What `fn` writes on stderr (file descriptor 2), captured through a temporary file.
template <class F>
std::string stderr_of(F&& fn) {
  gocp::test::TempDir dir;
  const std::string path = (dir.path() / "stderr").string();
  std::fflush(stderr);
  const int saved = ::dup(2);
  if (!std::freopen(path.c_str(), "w", stderr)) throw std::runtime_error("cannot redirect stderr");
  fn();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("a traced database reports each statement with its SQL, its source and its duration", "[events]") {
  gocp::test::TempDir dir;
  Recorder recorder;
  auto db = gocp::Database::open(dir.sqlite_url(), {.on_event = recorder.sink()});
  gocp::Repository<Author> authors{db};
  authors.create_table();
  authors.create({.first_name = "Leo", .last_name = "Tolstoy", .store = {}});
  CHECK(authors.get(c(&Author::last_name) == "Tolstoy").first_name == "Leo");
  const auto statements = recorder.of(Event::Kind::statement);
  REQUIRE(statements.size() >= 3);
  CHECK(any_text_starts(statements, "CREATE TABLE"));
  CHECK(any_text_starts(statements, "INSERT INTO \"library_author\""));
  CHECK(any_text_starts(statements, "SELECT "));
  for (const Seen& s : statements) {
    CHECK(s.source == db.url());
    CHECK(s.duration > 0ns);
  }
  CHECK(recorder.of(Event::Kind::statement_failed).empty());
}

TEST_CASE("a statement that fails is reported with its error, and the error still reaches the caller", "[events]") {
  gocp::test::TempDir dir;
  Recorder recorder;
  auto db = gocp::Database::open(dir.sqlite_url(), {.on_event = recorder.sink()});
  CHECK_THROWS_AS(db.execute("SELECT * FROM no_such_table"), gocp::DatabaseError);
  const auto failed = recorder.of(Event::Kind::statement_failed);
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].text == "SELECT * FROM no_such_table");
  CHECK(failed[0].detail.find("no such table") != std::string::npos);
}

TEST_CASE("a sink that throws changes nothing the call does", "[events]") {
  gocp::test::TempDir dir;
  int calls = 0;
  auto db = gocp::Database::open(dir.sqlite_url(), {.on_event = [&](const Event&) {
                                                      ++calls;
                                                      throw std::runtime_error("a broken logger");
                                                    }});
  gocp::Repository<Author> authors{db};
  authors.create_table();
  const Author leo = authors.create({.first_name = "Leo", .last_name = "Tolstoy", .store = {}});
  CHECK(authors.get(c(&Author::id) == leo.id).last_name == "Tolstoy");
  CHECK(calls >= 3);
}

TEST_CASE("stderr_events prints one line per event, and without statements only the rest", "[events]") {
  const Event statement{.kind = Event::Kind::statement, .source = "sqlite:///app.db", .text = "SELECT 1",
                        .duration = 1500us};
  CHECK(gocp::describe(statement) == "gocp: statement 1.500 ms on sqlite:///app.db: SELECT 1");
  const Event opened{.kind = Event::Kind::circuit_opened, .source = "redis://127.0.0.1:6379/0",
                     .detail = "calls skipped for 100 ms, then one probes"};
  CHECK(gocp::describe(opened) ==
        "gocp: circuit opened on redis://127.0.0.1:6379/0: calls skipped for 100 ms, then one probes");
  CHECK(stderr_of([&] {
          const auto sink = gocp::stderr_events();
          sink(statement);
          sink(opened);
        }) == gocp::describe(statement) + "\n" + gocp::describe(opened) + "\n");
  CHECK(stderr_of([&] {
          const auto sink = gocp::stderr_events(false);
          sink(statement);
          sink(opened);
        }) == gocp::describe(opened) + "\n");
}

TEST_CASE("a watcher's events go to the sinks of the Databases using it, and to stderr when none has one",
          "[events]") {
  // what a PostgreSQL listener or a SQLite change log reports with (Event::Kind::watch_*)
  gocp::detail::EventSinks sinks;
  const Event lost{.kind = Event::Kind::watch_lost, .source = "postgresql://db/app", .detail = "lost its connection"};
  CHECK(stderr_of([&] { sinks.report(lost); }) == gocp::describe(lost) + "\n");  // no sink: stderr
  std::vector<std::string> first, second;
  auto one = std::make_shared<const gocp::EventSink>([&](const Event& e) { first.emplace_back(e.detail); });
  auto two = std::make_shared<const gocp::EventSink>([&](const Event& e) { second.emplace_back(e.detail); });
  sinks.add(one);
  sinks.add(two);
  sinks.add(nullptr);  // a Database opened without on_event
  CHECK(stderr_of([&] { sinks.report(lost); }).empty());
  CHECK(first == std::vector<std::string>{"lost its connection"});
  CHECK(second == first);
  one.reset();  // its Database is gone: only the other hears it
  sinks.report(lost);
  CHECK(first.size() == 1);
  CHECK(second.size() == 2);
  two.reset();  // none left: stderr again
  CHECK(stderr_of([&] { sinks.report(lost); }) == gocp::describe(lost) + "\n");
  CHECK(gocp::describe(lost) == "gocp: watch lost on postgresql://db/app: lost its connection");
}

namespace {

/// This run's shared cache server, to pause and resume.
gocp::test::ServerProcess& shared_server() {
#ifdef GOCP_TEST_HAVE_REDIS
  if (gocp::test::cache_kind() == "redis") return gocp::test::redis_server();
#endif
#ifdef GOCP_TEST_HAVE_MEMCACHED
  if (gocp::test::cache_kind() == "memcached") return gocp::test::memcached_server();
#endif
  throw std::logic_error("this case needs a shared cache (GOCP_TEST_CACHE=redis or memcached)");
}

/// Short timeouts and backoffs, so an outage is quick to sit through.
std::string quick_url(const std::string& prefix, const std::string& more = "") {
  return gocp::test::shared_cache_url("timeout_ms=100&connect_timeout_ms=100&retry_ms=50&max_retry_ms=200&key_prefix=" +
                                      prefix + more);
}

/// Calls `read` until the circuit lets it through (a probe ran and closed it), for 3 s at most.
template <class F>
void until_closed(F&& read) {
  for (auto until = std::chrono::steady_clock::now() + 3s; std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(60ms);
    try {
      read();
      return;
    } catch (const gocp::CacheUnavailable&) {
    }
  }
}

}  // namespace

TEST_CASE("a cache that fails reports the error and the circuit opening, then, back, the circuit closing with the "
          "invalidations it delivered",
          "[events][shared]") {
  Recorder recorder;
  gocp::CacheRegistry caches{{"c", quick_url("events_circuit")}};
  caches.on_event(recorder.sink());
  gocp::Cache& cache = caches.cache("c");
  cache.set("k", "v");
  shared_server().pause();
  CHECK_THROWS_AS(cache.get("k"), gocp::CacheTimeout);
  CHECK_THROWS_AS(cache.remove("k"), gocp::CacheUnavailable);  // skipped, remembered
  shared_server().resume();
  until_closed([&] { cache.get("k"); });

  const auto errors = recorder.of(Event::Kind::cache_error);
  REQUIRE(errors.size() == 1);  // the timeout; the skipped call is no new error
  CHECK(errors[0].source == dynamic_cast<gocp::SharedCache&>(cache).url());
  INFO(errors[0].detail);
  CHECK(errors[0].detail.find("127.0.0.1") != std::string::npos);  // the error names the server
  const auto opened = recorder.of(Event::Kind::circuit_opened);
  REQUIRE(opened.size() == 1);
  CHECK(opened[0].detail.find("then one probes") != std::string::npos);
  const auto closed = recorder.of(Event::Kind::circuit_closed);
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].count == 1);  // the remove the open circuit skipped
  CHECK(closed[0].detail == "1 remembered invalidation delivered");
  CHECK_FALSE(cache.get("k").has_value());
}

TEST_CASE("more invalidations remembered than max_pending are reported as flushed", "[events][shared]") {
  Recorder recorder;
  gocp::CacheRegistry caches{{"c", quick_url("events_flush", "&max_pending=2")}};
  caches.on_event(recorder.sink());
  gocp::Cache& cache = caches.cache("c");
  shared_server().pause();
  CHECK_THROWS_AS(cache.get("x"), gocp::CacheTimeout);
  for (int i = 0; i < 4; ++i) CHECK_THROWS_AS(cache.remove("k" + std::to_string(i)), gocp::CacheUnavailable);
  shared_server().resume();
  until_closed([&] { cache.get("x"); });
  CHECK(recorder.of(Event::Kind::invalidations_flushed).size() == 1);
  const auto closed = recorder.of(Event::Kind::circuit_closed);
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].count == 0);  // flushed, not delivered one by one
}

TEST_CASE("on_event with an empty sink stops the reports", "[events][shared]") {
  Recorder recorder;
  gocp::CacheRegistry caches{{"c", quick_url("events_off")}};
  caches.on_event(recorder.sink());
  caches.on_event(nullptr);
  shared_server().pause();
  CHECK_THROWS_AS(caches.cache("c").get("k"), gocp::CacheTimeout);
  shared_server().resume();
  CHECK(recorder.of(Event::Kind::cache_error).empty());
  CHECK(recorder.of(Event::Kind::circuit_opened).empty());
}
