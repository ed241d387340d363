#pragma once
// The definitions behind identity.hpp: included by it in header-only mode, compiled once
// by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp), so that compiled mode
// spares every includer <random>.

#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "identity.hpp"

namespace gocp::detail {

GOCP_INLINE std::string random_database_id() {
  static constexpr char hex[] = "0123456789abcdef";
  std::random_device rd;
  std::string id;
  id.reserve(32);
  for (int word = 0; word < 4; ++word) {
    const std::uint32_t bits = rd();
    for (int i = 0; i < 8; ++i) id += hex[(bits >> (28 - 4 * i)) & 0xf];
  }
  return id;
}

GOCP_INLINE std::string read_database_id(Connection& c, const Dialect& dialect) {
  bool exists = false;
  const Value table(std::string("gocp_database"));
  c.query(dialect.table_columns_sql, {&table, 1}, [&](const Row&) {
    exists = true;
    return false;
  });
  if (!exists) return {};
  std::string id;
  c.query("SELECT id FROM gocp_database WHERE one = 1", {}, [&](const Row& row) {
    id = std::string(row.text(0));
    return false;
  });
  return id;
}

GOCP_INLINE std::string stored_database_id(Connection& c, const Dialect& dialect, const std::string& url) {
  if (std::string id = read_database_id(c, dialect); !id.empty()) return id;
  std::string why;
  for (int attempt = 0; attempt < 3; ++attempt) {  // two first opens racing on CREATE TABLE: one may fail, then see it
    try {
      c.execute("CREATE TABLE IF NOT EXISTS gocp_database (one INTEGER PRIMARY KEY CHECK (one = 1), id TEXT NOT NULL)");
      const Value candidate(random_database_id());
      c.query(dialect.numbered_placeholders ? "INSERT INTO gocp_database (one, id) VALUES (1, $1) ON CONFLICT DO NOTHING"
                                            : "INSERT INTO gocp_database (one, id) VALUES (1, ?) ON CONFLICT DO NOTHING",
              {&candidate, 1}, [](const Row&) { return true; });
    } catch (const DatabaseError& e) {
      why = e.what();
    }
    if (std::string id = read_database_id(c, dialect); !id.empty()) return id;
  }
  throw ConfigurationError("gocp: cannot read or create the identity row (table gocp_database) of database '" + url +
                           "': " + (why.empty() ? std::string("the row is missing after it was inserted") : why));
}

GOCP_INLINE std::string renew_database_id(Connection& c, const Dialect& dialect, const std::string& url) {
  stored_database_id(c, dialect, url);
  const Value fresh(random_database_id());
  c.query(dialect.numbered_placeholders ? "UPDATE gocp_database SET id = $1 WHERE one = 1"
                                        : "UPDATE gocp_database SET id = ? WHERE one = 1",
          {&fresh, 1}, [](const Row&) { return true; });
  return std::get<std::string>(fresh);
}

GOCP_INLINE std::shared_ptr<ChangeStream> find_change_stream(std::string_view id) {
  auto& streams = ChangeStreams::instance();
  std::lock_guard lock(streams.mutex);
  auto it = streams.by_id.find(id);
  return it == streams.by_id.end() ? nullptr : it->second.lock();
}

GOCP_INLINE std::shared_ptr<ChangeStream> change_stream_for(const std::string& id) {
  auto& [mutex, streams] = ChangeStreams::instance();
  std::lock_guard lock(mutex);
  for (auto it = streams.begin(); it != streams.end();)  // a few entries: one per database this process opened
    it = it->second.expired() ? streams.erase(it) : std::next(it);
  auto& slot = streams[id];
  auto stream = slot.lock();
  if (!stream) {
    stream = std::make_shared<ChangeStream>();
    slot = stream;
  }
  return stream;
}

GOCP_INLINE ChangeStreams& ChangeStreams::instance() {
  static ChangeStreams streams;
  return streams;
}

}  // namespace gocp::detail
