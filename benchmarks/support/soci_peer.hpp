#pragma once
// bench_get_or_create's SOCI peer: get_or_create on library_author written as a SOCI user
// would (prepared soci::statement members with into/use), issuing the floor's statements.
// Compiled in its own translation unit (soci_peer.cpp): <soci/sqlite3/soci-sqlite3.h>
// includes <sqlite3.h> inside a namespace, which breaks any TU that also uses it plainly.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace gocp::bench {

/// The fields of gocp::test::Author (tests/support/library_models.hpp), without gocp.
struct SociAuthor {
  std::int64_t id = 0;
  std::string first_name;
  std::string last_name;
  int books_in_store = 0;
  std::optional<std::string> store;
};

class SociPeer {
 public:
  SociPeer(const std::string& path, int busy_timeout_ms);
  ~SociPeer();
  SociPeer(const SociPeer&) = delete;
  SociPeer& operator=(const SociPeer&) = delete;

  /// The SELECT by (first_name, last_name), LIMIT 21, stepped to its end.
  std::optional<SociAuthor> find(const std::string& first, const std::string& last);
  /// find(), else BEGIN IMMEDIATE; INSERT ... RETURNING; COMMIT (a unique violation
  /// rolls back and re-reads).
  std::pair<SociAuthor, bool> get_or_create(const std::string& first, const std::string& last);
  void begin();   ///< BEGIN IMMEDIATE
  void commit();  ///< COMMIT

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gocp::bench
