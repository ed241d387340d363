#pragma once
// A benchmark side's own database, copied from one seeded file.

#include <filesystem>
#include <string>

#include <gocp/gocp.hpp>

namespace gocp::bench {

/// Copies the SQLite file `seeded` to `path` and gives the copy an identity of its own. A
/// copy keeps the original's `gocp_database` row, and to gocp two files with one identity
/// are one database with one change stream: each side's writes would invalidate every
/// other side's cached entries.
inline void copy_database(const std::string& seeded, const std::string& path) {
  std::filesystem::copy_file(seeded, path);
  gocp::Database::renew_identity("sqlite:///" + path);
}

}  // namespace gocp::bench
