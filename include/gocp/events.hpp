#pragma once
/// \file
/// What happens inside, for a log or a tracer: a plain callback, no logging library
/// imposed. A Database reports each statement it runs (with its duration) and each that
/// fails; a CacheRegistry reports what its shared caches (Redis, memcached) meet: an
/// error, the circuit opening and closing, invalidations delivered late or flushed.
///
///     auto db = gocp::Database::open("sqlite:///app.db", {.on_event = gocp::stderr_events()});
///     gocp::CacheRegistry caches{{"default", "redis://127.0.0.1:6379/0"}};
///     caches.on_event(gocp::stderr_events());
///
/// prints lines such as
///
///     gocp: statement 0.041 ms on sqlite:///app.db: SELECT "id", "code" FROM "short_link" WHERE "code" = ?
///     gocp: cache error on redis://127.0.0.1:6379/0: gocp: redis '127.0.0.1:6379': timed out after 250 ms
///     gocp: circuit opened on redis://127.0.0.1:6379/0: calls skipped for 100 ms, then one probes
///     gocp: circuit closed on redis://127.0.0.1:6379/0: 3 remembered invalidations delivered
///
/// A sink runs on the thread that met the event, synchronously: it must be thread-safe
/// and should be quick (hand the event to a queue if it is not). An exception it throws
/// is swallowed: reporting never changes what the call does. Statements are reported
/// only while a sink is installed; without one nothing is timed.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gocp {

/// One thing that happened; see the file comment.
struct Event {
  /// What happened.
  enum class Kind : std::uint8_t {
    statement,          ///< a statement ran: `text` its SQL, `duration` how long it took
    statement_failed,   ///< a statement failed: `text` its SQL, `detail` the error
    cache_error,        ///< a call to a shared cache failed: `detail` the error (it degraded to the database)
    circuit_opened,     ///< after a failure, calls to the cache are skipped until a probe
    circuit_closed,     ///< a probe reached the cache again: calls go through; `count` invalidations delivered
    invalidations_flushed,  ///< too many invalidations were remembered: every key of the alias was deleted
    /// A cache in this process's memory (locmem) is used on a database whose other writers
    /// it cannot see (PostgreSQL without `?watch=notify`): `detail` says which writes and
    /// what to do. Reported once per database per process.
    writes_unseen,
    /// The watch of other writers (`?watch=notify`) lost its source (the listener's
    /// connection): until it is back, every cached read of the database is a miss.
    /// `detail` says why and what it does next.
    watch_lost,
    /// The watch is back after it may have missed changes (the listener reconnected, or a
    /// SQLite reader fell behind the change log's trimming): every cached table of the
    /// database was invalidated. `count`: the reconnection attempts it took (PostgreSQL).
    watch_resumed,
    /// The watch met something it could not use (a notice gocp did not write) or a cache
    /// that failed to take an invalidation it delivered: `detail` says which.
    watch_error,
  };

  Kind kind = Kind::statement;  ///< what happened
  std::string_view source{};    ///< the database's or the cache's URL, password redacted
  std::string_view text{};      ///< the statement's SQL (statement kinds), else empty
  std::string_view detail{};    ///< the error's message, or what the cache does next
  std::chrono::nanoseconds duration{0};  ///< how long the statement ran (statement kinds)
  std::size_t count = 0;       ///< how many (circuit_closed: invalidations delivered)
};

/// Receives events; see the file comment.
using EventSink = std::function<void(const Event&)>;

/// The kind's name, as stderr_events() prints it ("statement", "circuit opened", ...).
inline std::string_view to_string(Event::Kind kind) noexcept {
  switch (kind) {
    case Event::Kind::statement: return "statement";
    case Event::Kind::statement_failed: return "statement failed";
    case Event::Kind::cache_error: return "cache error";
    case Event::Kind::circuit_opened: return "circuit opened";
    case Event::Kind::circuit_closed: return "circuit closed";
    case Event::Kind::invalidations_flushed: return "invalidations flushed";
    case Event::Kind::writes_unseen: return "writes unseen";
    case Event::Kind::watch_lost: return "watch lost";
    case Event::Kind::watch_resumed: return "watch resumed";
    case Event::Kind::watch_error: return "watch error";
  }
  return "event";
}

/// One line describing `e`, as stderr_events() prints it (without the newline).
inline std::string describe(const Event& e) {
  std::string out = "gocp: ";
  out += to_string(e.kind);
  if (e.kind == Event::Kind::statement || e.kind == Event::Kind::statement_failed) {
    char ms[32];
    std::snprintf(ms, sizeof ms, " %.3f ms", std::chrono::duration<double, std::milli>(e.duration).count());
    out += ms;
  }
  out += " on ";
  out += e.source;
  std::string_view sep = ": ";
  for (std::string_view part : {e.text, e.detail}) {
    if (part.empty()) continue;
    out += sep;
    out += part;
    sep = ": ";
  }
  return out;
}

namespace detail {
/// Prints describe(e) on stderr, as one write (threads do not interleave within a line).
inline void print_event(const Event& e) {
  std::string line = describe(e);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}
}  // namespace detail

/// A sink that prints describe(e) on stderr, one line per event (each line written
/// whole, so threads do not interleave within one). With `statements` false it leaves
/// out the statements that succeeded: errors and cache events only.
inline EventSink stderr_events(bool statements = true) {
  return [statements](const Event& e) {
    if (!statements && e.kind == Event::Kind::statement) return;
    detail::print_event(e);
  };
}

namespace detail {
/// Calls `sink` with `e` if there is one; what it throws is swallowed (see the file comment).
inline void report(const EventSink* sink, const Event& e) noexcept {
  if (!sink || !*sink) return;
  try {
    (*sink)(e);
  } catch (...) {
  }
}

/// The sinks of the Databases that share one watcher of other writers (a PostgreSQL
/// listener, a SQLite change log): each Database::open adds its OpenOptions::on_event,
/// held weakly. An event goes to the sinks of those still open; when none has one, to
/// stderr, so what a watcher meets is never said to no one.
class EventSinks {
 public:
  /// Adds `sink` (null: nothing), while its owner holds it.
  void add(const std::shared_ptr<const EventSink>& sink) {
    if (!sink) return;
    std::lock_guard lock(mutex_);
    std::erase_if(sinks_, [](const auto& s) { return s.expired(); });
    sinks_.push_back(sink);
  }
  /// Reports `e` to every live sink, or prints it on stderr if there is none.
  void report(const Event& e) const noexcept {
    std::vector<std::shared_ptr<const EventSink>> live;
    try {
      std::lock_guard lock(mutex_);
      for (const auto& s : sinks_)
        if (auto sink = s.lock()) live.push_back(std::move(sink));
      if (live.empty()) print_event(e);
    } catch (...) {  // reporting never changes what the caller does
    }
    for (const auto& sink : live) detail::report(sink.get(), e);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::weak_ptr<const EventSink>> sinks_;
};
}  // namespace detail

}  // namespace gocp
