#pragma once
/// \file
/// The definitions behind <gocp/db/database.hpp>'s Database::open and its other
/// non-template members: included by it in header-only mode, compiled once by src/gocp.cpp
/// for gocp::gocp_compiled (detail/config.hpp).

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "../errors.hpp"
#include "database.hpp"

namespace gocp {

GOCP_INLINE Database Database::open(std::string_view url_text, OpenOptions options) {
  Url url(url_text);
  const auto factory = SchemeRegistry::global().database(url.scheme());
  if (!factory) {
    const std::string known = SchemeRegistry::global().database_schemes();
    throw ConfigurationError("gocp: unknown database scheme '" + url.scheme() + "' in URL '" + url.redacted() +
                             "' (known: " + (known.empty() ? "none" : known) +
                             "; sqlite needs <gocp/backends/sqlite.hpp> or <gocp/gocp.hpp>, postgresql "
                             "<gocp/backends/postgres.hpp>)");
  }
  DatabaseBackend backend = factory(url);
  const auto pool_size = static_cast<std::size_t>(
      url.take_int("pool", static_cast<std::int64_t>(backend.default_pool_size), 1, 100'000,
                   "the most connections open at once: a pool of 0 could never lend one"));
  const auto wait = std::chrono::milliseconds(url.take_int("wait_timeout_ms", 0, 0, detail::max_timeout_ms));
  url.require_all_taken();
  auto connect = std::move(backend.connect);
  if (options.on_connect) {
    connect = [connect = std::move(connect),
               setup = std::make_shared<const ConnectHook>(std::move(options.on_connect))] {
      auto c = connect();
      c->install_setup(setup);
      return c;
    };
  }
  std::shared_ptr<const EventSink> events;
  if (options.on_event) {
    events = std::make_shared<const EventSink>(std::move(options.on_event));
    connect = [connect = std::move(connect), sink = events,
               source = std::make_shared<const std::string>(url.redacted())]() -> std::unique_ptr<Connection> {
      return std::make_unique<detail::TracedConnection>(connect(), sink, source);
    };
  }
  Database db(std::make_shared<detail::DatabaseState>(url.redacted(), backend.dialect, std::move(connect), pool_size,
                                                      wait));
  {  // fail now, not at first use, if it cannot connect; and learn which database this is
    auto probe = db.state_->pool.acquire();
    db.state_->id = !backend.identity.empty() ? backend.identity
                                              : detail::stored_database_id(*probe, backend.dialect, db.state_->url);
  }
  db.state_->changes = detail::change_stream_for(db.state_->id);
  db.state_->watch_table = std::move(backend.watch_table);
  db.state_->unseen_writes = std::move(backend.unseen_writes);
  db.state_->events = std::move(events);
  if (backend.watch) db.state_->catch_up = backend.watch(db.state_->id, db.state_->events);
  return db;
}

GOCP_INLINE std::string Database::renew_identity(std::string_view url_text) {
  const Database db = open(url_text);
  auto lease = db.state_->pool.acquire();
  if (detail::read_database_id(*lease, db.dialect()).empty())
    throw ConfigurationError("gocp: database '" + db.url() + "' is in memory: it has no stored identity to renew");
  return detail::renew_database_id(*lease, db.dialect(), db.url());
}

GOCP_INLINE void Database::note_process_local_cache() const {
  if (state_->unseen_writes.empty() || state_->unseen_writes_reported.load(std::memory_order_relaxed) ||
      state_->unseen_writes_reported.exchange(true))
    return;
  const Event e{.kind = Event::Kind::writes_unseen, .source = state_->url, .detail = state_->unseen_writes};
  std::string line = describe(e) + '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  detail::report(state_->events.get(), e);
}

}  // namespace gocp
