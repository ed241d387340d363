#pragma once
// libpq plumbing shared by the pool's connections (backends/postgres-inl.hpp) and the
// change listener (postgres_notify.hpp): connection parameters, owners of libpq's
// handles, opening a session, and libpq's messages without their trailing newline.

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace gocp::detail {

/// libpq keyword/value pairs, passed to PQconnectdbParams as arrays: a value is never
/// spliced into a conninfo string, so a password with spaces or quotes is just a value.
using PostgresConnectParams = std::vector<std::pair<std::string, std::string>>;

/// Closes a PGconn.
struct PostgresConnCloser {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
/// Frees a PGresult.
struct PostgresResultClearer {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};

/// A new session with `params` (null only when out of memory; check PQstatus), its
/// NOTICEs ("relation ... already exists, skipping") silenced instead of printed on stderr.
inline std::unique_ptr<PGconn, PostgresConnCloser> postgres_connect(const PostgresConnectParams& params) {
  std::vector<const char*> keywords, values;
  for (const auto& [k, v] : params) {
    keywords.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  std::unique_ptr<PGconn, PostgresConnCloser> conn(PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/0));
  if (conn) PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  return conn;
}

/// libpq's `message` without its trailing newline and blanks ("" for null).
inline std::string postgres_trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace gocp::detail
