#pragma once
// Which statements report their own writes. A repository publishes a RowChange for every
// row it writes, with the row's values (executor.hpp); a backend that also sees writes
// in the database itself (SQLite's hooks, backends/sqlite.hpp) must not publish those
// rows a second time, and must publish every other statement's: raw SQL through
// Database::execute or a borrowed connection, a migration, DDL. The ORM runs each of its
// statements inside a ReportedWrites scope; the backend's hooks, which run on the thread
// that steps the statement, skip what they see while one is open.

namespace gocp::detail {

/// How many ReportedWrites scopes are open on this thread.
inline int& reported_writes_depth() noexcept {
  thread_local int depth = 0;
  return depth;
}

/// While alive, this thread's statements publish their own row changes.
struct ReportedWrites {
  ReportedWrites() noexcept { ++reported_writes_depth(); }
  ~ReportedWrites() { --reported_writes_depth(); }
  ReportedWrites(const ReportedWrites&) = delete;
  ReportedWrites& operator=(const ReportedWrites&) = delete;
};

}  // namespace gocp::detail
