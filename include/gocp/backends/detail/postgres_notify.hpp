#pragma once
// PostgreSQL `?watch=notify` (backends/postgres.hpp): the triggers that publish every
// statement's rows with NOTIFY, the notice they send, and the one listening connection per
// database per process that turns notices into RowChanges on the database's ChangeStream.
//
// The notice, on channel `gocp_changes` (LISTEN/NOTIFY is scoped to one database), one
// per statement that wrote at least one row, sent by PostgreSQL at commit (never for a
// rolled-back statement; identical notices of one transaction are sent once):
//
//     <op><type><n>:<table>(<n>:<pk>)+     op I (insert), U (update: its rows' old keys, then
//                                          their new keys, in the same order), D (delete);
//                                          type i (integer key) or t (text key)
//     W<n>:<table>                         any row of the table may have changed
//
// where each `<n>` counts the characters (not bytes) of the text after its colon, so a
// key may hold any character. `W` is sent for TRUNCATE, for a table whose primary key is
// not one integer or text column, and for a statement whose keys would not fit in a
// notice (1000 rows or more, or keys past 7800 bytes: a NOTIFY payload is under 8000).
// Example: `Ui10:writers_link2:171:9` (rows 17 and 9 of writers_link updated).

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "../../db/change_stream.hpp"
#include "../../errors.hpp"
#include "../../events.hpp"
#include "../../spi/connection.hpp"
#include "postgres_session.hpp"

namespace gocp::detail {

/// The channel every watched table's triggers notify and every listener listens on.
inline constexpr std::string_view postgres_notify_channel = "gocp_changes";

/// The most keys one notice names; a statement writing more sends a table-wide `W`.
inline constexpr int postgres_notice_max_rows = 1000;

/// Takes one `<n>:<text>` field of a notice at `at` (n counted in UTF-8 characters).
inline bool take_notice_field(std::string_view notice, std::size_t& at, std::string_view& field) {
  std::size_t chars = 0;
  const char* first = notice.data() + at;
  const char* last = notice.data() + notice.size();
  const auto [colon, ec] = std::from_chars(first, last, chars);
  if (ec != std::errc{} || colon == last || *colon != ':') return false;
  std::size_t end = static_cast<std::size_t>(colon - notice.data()) + 1;
  const std::size_t begin = end;
  for (std::size_t i = 0; i < chars; ++i) {
    if (end >= notice.size()) return false;
    ++end;  // a lead byte, then its continuation bytes
    while (end < notice.size() && (static_cast<unsigned char>(notice[end]) & 0xC0) == 0x80) ++end;
  }
  field = notice.substr(begin, end - begin);
  at = end;
  return true;
}

/// Appends the RowChanges of one notice (see the file comment) to `out`; false, with
/// nothing appended, if `notice` is not one. A notice whose table is readable but whose
/// keys are not becomes a table-wide change: never less invalidation than was asked for.
inline bool parse_postgres_notice(std::string_view notice, std::vector<RowChange>& out) {
  if (notice.empty()) return false;
  const char op = notice[0];
  std::size_t at = 1;
  std::string_view table;
  if (op == 'W') {
    if (!take_notice_field(notice, at, table) || table.empty()) return false;
    out.push_back(RowChange::whole(std::string(table)));
    return true;
  }
  if ((op != 'I' && op != 'U' && op != 'D') || notice.size() < 2) return false;
  const char type = notice[1];
  at = 2;
  if ((type != 'i' && type != 't') || !take_notice_field(notice, at, table) || table.empty()) return false;
  const std::size_t first = out.size();
  bool readable = at < notice.size();
  while (readable && at < notice.size()) {
    std::string_view key;
    if (!take_notice_field(notice, at, key)) {
      readable = false;
      break;
    }
    RowChange& c = out.emplace_back();
    c.table = table;
    if (type == 'i') {
      std::int64_t n = 0;
      const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), n);
      readable = ec == std::errc{} && end == key.data() + key.size();
      c.pk = Value(n);
    } else {
      c.pk = Value(std::string(key));
    }
    c.had_row = op != 'I';
    c.has_row = op != 'D';
  }
  if (!readable) {
    out.resize(first);
    out.push_back(RowChange::whole(std::string(table)));
    return true;
  }
  // an UPDATE that kept its rows' keys names each twice, old keys then new: keep one half
  const std::size_t named = out.size() - first;
  if (op == 'U' && named % 2 == 0 &&
      std::equal(out.begin() + static_cast<std::ptrdiff_t>(first), out.begin() + static_cast<std::ptrdiff_t>(first + named / 2),
                 out.begin() + static_cast<std::ptrdiff_t>(first + named / 2),
                 [](const RowChange& a, const RowChange& b) { return a.pk == b.pk; }))
    out.resize(first + named / 2);
  return true;
}

/// The trigger function's body for a table keyed by `key` (a quoted column name; empty:
/// no single integer or text key, so every statement is a table-wide notice) of notice
/// type `type` ('i' or 't'). A writing statement costs one query of its transition table,
/// which also sends the notice (one SPI call: the trigger's fixed cost is most of its cost).
inline std::string postgres_notify_function_body(const std::string& key, char type) {
  const std::string channel = "'" + std::string(postgres_notify_channel) + "'";
  const std::string whole = "'W' || char_length(TG_TABLE_NAME) || ':' || TG_TABLE_NAME";
  const std::string limit = std::to_string(postgres_notice_max_rows);
  std::string body = "BEGIN IF TG_OP = 'TRUNCATE' THEN PERFORM pg_notify(" + channel + ", " + whole +
                     "); RETURN NULL; END IF; ";
  if (key.empty()) {  // which rows is unknown: only whether the statement wrote any
    body += "IF TG_OP = 'INSERT' THEN PERFORM pg_notify(" + channel + ", " + whole +
            ") WHERE EXISTS (SELECT FROM gocp_new); ELSE PERFORM pg_notify(" + channel + ", " + whole +
            ") WHERE EXISTS (SELECT FROM gocp_old); END IF; RETURN NULL; END";
    return body;
  }
  // keys: "<n>:<key>" each; a statement past `limit` rows or 7800 bytes names the table instead
  const auto notify_from = [&](const std::string& rows, int most) {
    return "PERFORM pg_notify(" + channel + ", CASE WHEN s.n >= " + std::to_string(most) +
           " OR octet_length(s.keys) > 7800 THEN " +
           whole + " ELSE left(TG_OP, 1) || '" + std::string(1, type) +
           "' || char_length(TG_TABLE_NAME) || ':' || TG_TABLE_NAME || s.keys END) FROM (SELECT string_agg(char_length(k) "
           "|| ':' || k, '') AS keys, count(*) AS n FROM (" + rows + ") r) s WHERE s.n > 0;";
  };
  const std::string k = key + "::text";
  const auto rows_of = [&](const char* table) { return "(SELECT " + k + " AS k FROM " + table + " LIMIT " + limit + ")"; };
  // an UPDATE names its rows' old keys, then their new ones (UNION ALL: a UNION's hashing
  // costs more than the listener's dropping of the repeated half, parse_postgres_notice)
  body += "IF TG_OP = 'INSERT' THEN " + notify_from(rows_of("gocp_new"), postgres_notice_max_rows) +
          " ELSIF TG_OP = 'DELETE' THEN " + notify_from(rows_of("gocp_old"), postgres_notice_max_rows) + " ELSE " +
          notify_from(rows_of("gocp_old") + " UNION ALL " + rows_of("gocp_new"), 2 * postgres_notice_max_rows) +
          " END IF; RETURN NULL; END";
  return body;
}

/// Installs the NOTIFY triggers on `table` (unquoted, in the current schema) unless it
/// has them: one statement-level trigger per INSERT, UPDATE and DELETE, with transition
/// tables, and one for TRUNCATE, all calling `gocp_notify_<table oid>()`. Runs on `c`, in
/// its transaction if one is open; concurrent installers queue on gocp's DDL lock.
inline void postgres_watch_table(Connection& c, std::string_view table, const Dialect& dialect, const std::string& url) {
  const Value name{std::string(table)};
  bool found = false, installed = false;
  std::int64_t oid = 0;
  std::string key, key_type;
  c.query("SELECT c.oid::bigint, (EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = "
          "'gocp_notify_t'))::int, k.name, k.type FROM pg_class c LEFT JOIN LATERAL (SELECT max(a.attname::text) AS "
          "name, max(format_type(a.atttypid, NULL)) AS type, count(*) AS n FROM pg_index i JOIN pg_attribute a ON "
          "a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid = c.oid AND i.indisprimary) k ON "
          "k.n = 1 WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace AND c.relkind IN "
          "('r', 'p')",
          {&name, 1}, [&](const Row& row) {
            found = true;
            oid = row.integer(0);
            installed = row.integer(1) != 0;
            if (!row.is_null(2)) {
              key = row.text(2);
              key_type = row.text(3);
            }
            return false;
          });
  if (!found)
    throw OperationalError("gocp: PostgreSQL: cannot watch table '" + std::string(table) + "' (?watch=notify) on '" +
                           url + "': no such table in the current schema");
  if (installed) return;
  char type = 0;
  if (key_type == "bigint" || key_type == "integer" || key_type == "smallint") type = 'i';
  else if (key_type == "text" || key_type == "character varying") type = 't';
  const auto quoted = [](std::string_view id) {
    std::string out = "\"";
    for (char ch : id) (ch == '"' ? out += "\"\"" : out += ch);
    return out + '"';
  };
  const std::string quoted_key = type ? quoted(key) : std::string();
  if (quoted_key.find("$gocp$") != std::string::npos)
    throw ConfigurationError("gocp: PostgreSQL: cannot watch table '" + std::string(table) + "' on '" + url +
                             "': its key column's name holds '$gocp$'");
  const std::string function = "gocp_notify_" + std::to_string(oid);
  const std::string on = " ON " + quoted(table);
  std::string sql = std::string(dialect.ddl_lock_sql) + "; CREATE OR REPLACE FUNCTION " + function +
                    "() RETURNS trigger LANGUAGE plpgsql AS $gocp$" + postgres_notify_function_body(quoted_key, type) +
                    "$gocp$;";
  const auto trigger = [&](const char* suffix, const char* event, const char* referencing) {
    sql += std::string(" DROP TRIGGER IF EXISTS gocp_notify_") + suffix + on + "; CREATE TRIGGER gocp_notify_" + suffix +
           " AFTER " + event + on + referencing + " FOR EACH STATEMENT EXECUTE FUNCTION " + function + "();";
  };
  trigger("i", "INSERT", " REFERENCING NEW TABLE AS gocp_new");
  trigger("u", "UPDATE", " REFERENCING OLD TABLE AS gocp_old NEW TABLE AS gocp_new");
  trigger("d", "DELETE", " REFERENCING OLD TABLE AS gocp_old");
  trigger("t", "TRUNCATE", "");  // last: its presence says the others are there
  c.execute(sql);
}

/// The process's one listening connection to a database (see the file comment and
/// backends/postgres.hpp): its own thread waits on the socket (poll on PQsocket and a
/// pipe that wakes it to stop), turns each notice into RowChanges and publishes them on
/// the database's ChangeStream. A lost connection is reopened (at once, then backing off
/// to one attempt a second), LISTENs again, and then every table with a subscriber is
/// invalidated whole, since a notice sent meanwhile is lost; until then every catch_up()
/// does the same, so no cached read trusts an entry while nothing is heard.
class PostgresListener {
 public:
  /// Counters, for PostgresListener::status().
  struct Counters {
    bool listening = false;
    std::uint64_t connections = 0, notices = 0;
  };

  /// Connects and LISTENs before returning (throws OperationalError naming `url` if it
  /// cannot), then starts the thread.
  PostgresListener(PostgresConnectParams params, std::string url, std::weak_ptr<ChangeStream> stream)
      : core_(std::make_shared<Core>(std::move(params), std::move(url), std::move(stream))) {
    core_->connect_and_listen();
    thread_ = std::thread([core = core_] { core->run(); });
  }
  PostgresListener(const PostgresListener&) = delete;
  PostgresListener& operator=(const PostgresListener&) = delete;

  /// Stops the thread and joins it (closing the connection). Dropped by the thread itself
  /// (a subscriber it called held the last Database), it is left to finish on its own. In
  /// a child forked from the process that started it, and never respawned there, nothing
  /// of it is touched: the thread, connection and pipe are the parent's.
  ~PostgresListener() {
    if (core_->forked.load(std::memory_order_acquire)) {
      static_cast<void>(core_->conn.release());                // the parent's session: never closed from here
      static_cast<void>(new std::thread(std::move(thread_)));  // names the parent's thread: neither joined nor dropped
      return;
    }
    core_->stop();
    if (thread_.get_id() == std::this_thread::get_id()) thread_.detach();
    else thread_.join();
  }

  /// Before a cached read: while the listener is not listening, invalidates every table
  /// with a subscriber (one atomic load otherwise). In a child forked after it started,
  /// the first call starts the child's own (see forked_in_child).
  void catch_up() {
    if (core_->listening.load(std::memory_order_acquire)) return;
    if (core_->forked.load(std::memory_order_acquire)) respawn();
    core_->flush();
  }

  /// Called in a child process right after fork() (PostgresListeners' atfork handler):
  /// the thread did not come along, so nothing is heard until the child's own listener
  /// runs; until then every cached read invalidates first, and the first starts it.
  void forked_in_child() noexcept {
    core_->forked.store(true, std::memory_order_release);
    core_->listening.store(false, std::memory_order_release);
  }

  /// Reports what it meets (Event::Kind::watch_*) to `sink` too, while its owner holds it.
  void report_to(const std::shared_ptr<const EventSink>& sink) { core_->sinks.add(sink); }

  /// Whether it listens now, how many times it connected, how many notices it received.
  Counters status() const noexcept {
    Counters c;
    c.connections = core_->connections.load(std::memory_order_acquire);  // first: a count seen, its listening is too
    c.listening = core_->listening.load(std::memory_order_acquire);
    c.notices = core_->notices.load(std::memory_order_acquire);
    return c;
  }

 private:
  /// In a forked child: a connection, a pipe and a thread of the child's own, in place of
  /// the parent's (left untouched: the session is the parent's); if it cannot connect,
  /// cached reads keep invalidating first and the next one tries again.
  void respawn() {
    std::lock_guard lock(respawn_mutex_);
    if (!core_->forked.load(std::memory_order_acquire)) return;  // another thread did
    try {
      core_->adopt_after_fork();
      core_->connect_and_listen();
    } catch (const std::exception& e) {
      core_->say(Event::Kind::watch_lost, std::string("cannot start this forked process's own listener yet (") +
                                              e.what() + "); its cached reads miss until it can");
      return;
    }
    static_cast<void>(new std::thread(std::move(thread_)));  // the parent's thread: see ~PostgresListener
    thread_ = std::thread([core = core_] { core->run(); });
    core_->forked.store(false, std::memory_order_release);
  }

  struct Core {
    Core(PostgresConnectParams p, std::string u, std::weak_ptr<ChangeStream> s)
        : params(std::move(p)), url(std::move(u)), stream(std::move(s)) {
      if (::pipe(wake) != 0)
        throw OperationalError("gocp: PostgreSQL listener (?watch=notify) on '" + url + "': cannot create a pipe");
    }
    ~Core() {
      ::close(wake[0]);
      ::close(wake[1]);
    }

    /// In a forked child: drops the parent's connection and pipe without closing the
    /// session (closing it would end the parent's), and makes a pipe of its own.
    void adopt_after_fork() {
      static_cast<void>(conn.release());
      ::close(wake[0]);
      ::close(wake[1]);
      wake[0] = wake[1] = -1;
      stopping.store(false, std::memory_order_release);
      if (::pipe(wake) != 0)
        throw OperationalError("gocp: PostgreSQL listener (?watch=notify) on '" + url + "': cannot create a pipe");
    }

    void stop() noexcept {
      stopping.store(true, std::memory_order_release);
      const char byte = 0;
      [[maybe_unused]] const auto n = ::write(wake[1], &byte, 1);  // a full pipe already wakes it
    }

    /// Opens the connection, LISTENs, invalidates what may have been missed, and only
    /// then counts as listening.
    void connect_and_listen() {
      auto c = postgres_connect(params);
      if (!c || PQstatus(c.get()) != CONNECTION_OK)
        throw OperationalError("gocp: PostgreSQL listener (?watch=notify) cannot connect to '" + url +
                               "': " + (c ? postgres_trimmed(PQerrorMessage(c.get())) : std::string("out of memory")));
      const std::unique_ptr<PGresult, PostgresResultClearer> res(
          PQexec(c.get(), ("LISTEN " + std::string(postgres_notify_channel)).c_str()));
      if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK)
        throw OperationalError("gocp: PostgreSQL listener (?watch=notify) cannot LISTEN on '" + url +
                               "': " + postgres_trimmed(PQerrorMessage(c.get())));
      conn = std::move(c);
      flush();
      listening.store(true, std::memory_order_release);
      connections.fetch_add(1, std::memory_order_acq_rel);  // last: whoever sees the count sees it listening
    }

    /// A whole-table change for every table with a subscriber.
    void flush() const {
      const auto target = stream.lock();
      if (!target) return;
      std::vector<RowChange> changes;
      for (std::string& table : target->subscribed_tables()) changes.push_back(RowChange::whole(std::move(table)));
      target->publish_many(changes);
    }

    void run() noexcept {
      int attempts = 0;  // reconnections tried since the connection was lost
      std::string last_error;
      while (!stopping.load(std::memory_order_acquire)) {
        if (!conn) {
          const auto delay = attempts == 0 ? std::chrono::milliseconds(0)
                                           : std::min(std::chrono::milliseconds(10 << std::min(attempts - 1, 7)),
                                                      std::chrono::milliseconds(1000));
          if (delay.count() > 0 && !sleep_unless_woken(delay)) return;
          ++attempts;
          try {
            connect_and_listen();
            say(Event::Kind::watch_resumed,
                "listening again after " + std::to_string(attempts) +
                    " attempt(s); every cached table of the database was invalidated, as notices sent meanwhile are lost",
                static_cast<std::size_t>(attempts));
            attempts = 0;
          } catch (const std::exception& e) {
            last_error = e.what();  // said once the attempts succeed or stop: one line per outage, not per try
            if (attempts == 1)
              say(Event::Kind::watch_lost,
                  "cannot reconnect yet (" + last_error + "); retrying, backing off to once a second");
          }
          continue;
        }
        pollfd fds[2] = {{PQsocket(conn.get()), POLLIN, 0}, {wake[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
          if (errno != EINTR) lose("poll failed: " + std::string(std::strerror(errno)));
          continue;
        }
        if (fds[1].revents) return;  // stop()
        if (!fds[0].revents) continue;
        if (!PQconsumeInput(conn.get())) {
          lose(postgres_trimmed(PQerrorMessage(conn.get())));
          continue;
        }
        publish_notices();
        if (PQstatus(conn.get()) == CONNECTION_BAD) lose(postgres_trimmed(PQerrorMessage(conn.get())));
      }
    }

    /// Publishes the notices libpq has read, in one call per table run.
    void publish_notices() {
      std::vector<RowChange> changes;
      std::uint64_t received = 0;
      while (PGnotify* n = PQnotifies(conn.get())) {
        const std::string_view payload = n->extra ? n->extra : "";
        const bool ours = n->relname && postgres_notify_channel == n->relname;
        if (ours && !parse_postgres_notice(payload, changes))
          say(Event::Kind::watch_error, "ignored a notice on channel " + std::string(postgres_notify_channel) +
                                            " that gocp did not write: '" +
              std::string(payload.substr(0, 200)) + "'");
        PQfreemem(n);
        ++received;
      }
      publish(changes);
      // counted only once published: a reader that saw the count grow finds its cache
      // already invalidated (tests wait on the count, then read)
      notices.fetch_add(received, std::memory_order_release);
    }

    /// Publishes `changes` on the stream, if it still has one.
    void publish(std::vector<RowChange>& changes) const {
      if (changes.empty()) return;
      std::stable_sort(changes.begin(), changes.end(),
                       [](const RowChange& x, const RowChange& y) { return x.table < y.table; });
      const auto target = stream.lock();
      if (!target) return;
      try {
        target->publish_many(changes);
      } catch (const std::exception& e) {  // a subscriber's own failure: the others were still called
        say(Event::Kind::watch_error, std::string("a cache failed to take an invalidation: ") + e.what());
      }
    }

    void lose(const std::string& why) {
      listening.store(false, std::memory_order_release);
      conn.reset();
      say(Event::Kind::watch_lost,
          "lost its connection (" + why + "); reconnecting; meanwhile every cached read of the database is a miss");
    }

    /// Waits `delay`; false if stop() woke it first.
    bool sleep_unless_woken(std::chrono::milliseconds delay) const {
      pollfd fd{wake[0], POLLIN, 0};
      return ::poll(&fd, 1, static_cast<int>(delay.count())) <= 0 || !fd.revents;
    }

    /// Reports to the sinks of the Databases using it (events.hpp), else on stderr.
    void say(Event::Kind kind, const std::string& what, std::size_t count = 0) const {
      const std::string detail = "PostgreSQL listener (?watch=notify): " + what;
      sinks.report(Event{.kind = kind, .source = url, .detail = detail, .count = count});
    }

    const PostgresConnectParams params;
    const std::string url;
    const std::weak_ptr<ChangeStream> stream;
    int wake[2] = {-1, -1};  ///< a byte written to [1] wakes the thread to stop
    std::unique_ptr<PGconn, PostgresConnCloser> conn;  ///< the thread's alone once it runs
    std::atomic<bool> stopping{false}, listening{false};
    std::atomic<bool> forked{false};  ///< in a child forked after this started: the thread is the parent's
    std::atomic<std::uint64_t> connections{0}, notices{0};
    EventSinks sinks;  ///< the on_event of each Database using it
  };

  std::shared_ptr<Core> core_;
  std::thread thread_;
  std::mutex respawn_mutex_;
};

/// The process's listeners, by database identity: one per database, shared by every
/// Database opened on it with `?watch=notify`, alive while one of them is.
/// A child forked from a process with listeners has none running (threads do not come
/// along), so each is told (PostgresListener::forked_in_child) by a fork handler installed
/// with the first listener; the registry's lock is held across fork(), so the child finds
/// it consistent.
struct PostgresListeners {
  std::mutex mutex;
  std::map<std::string, std::weak_ptr<PostgresListener>, std::less<>> by_id;
  /// Never destroyed: a fork() during static destruction (a test's server stopping at
  /// exit) still runs the fork handlers, which read it.
  static PostgresListeners& instance() {
    static auto* listeners = new PostgresListeners;
    return *listeners;
  }
  /// Installs the fork handlers, once per process.
  static void watch_forks() {
    static std::once_flag installed;
    std::call_once(installed, [] {
      ::pthread_atfork([] { instance().mutex.lock(); }, [] { instance().mutex.unlock(); },
                       [] {
                         auto& self = instance();
                         self.mutex.unlock();
                         for (auto& [id, weak] : self.by_id)
                           if (auto listener = weak.lock()) listener->forked_in_child();
                       });
    });
  }
};

/// The listener of the database `identity`, started (connected and listening) if none
/// runs; it reports to `events` too (an OpenOptions::on_event, or null).
inline std::shared_ptr<PostgresListener> postgres_listener_for(const std::string& identity, PostgresConnectParams params,
                                                               const std::string& url, std::weak_ptr<ChangeStream> stream,
                                                               const std::shared_ptr<const EventSink>& events) {
  PostgresListeners::watch_forks();
  auto& [mutex, listeners] = PostgresListeners::instance();
  std::lock_guard lock(mutex);
  for (auto it = listeners.begin(); it != listeners.end();)
    it = it->second.expired() ? listeners.erase(it) : std::next(it);
  auto& slot = listeners[identity];
  auto listener = slot.lock();
  if (!listener) {
    listener = std::make_shared<PostgresListener>(std::move(params), url, std::move(stream));
    slot = listener;
  }
  listener->report_to(events);
  return listener;
}

/// The running listener of the database `identity`, or null.
inline std::shared_ptr<PostgresListener> find_postgres_listener(std::string_view identity) {
  auto& listeners = PostgresListeners::instance();
  std::lock_guard lock(listeners.mutex);
  const auto it = listeners.by_id.find(identity);
  return it == listeners.by_id.end() ? nullptr : it->second.lock();
}

}  // namespace gocp::detail
