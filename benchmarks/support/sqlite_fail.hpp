#pragma once
// The hand-written sqlite3 floors' one error path: a failed call of the floor is a bug in
// the benchmark, thrown with SQLite's message so the run stops saying where.

#include <sqlite3.h>

#include <stdexcept>
#include <string>

namespace gocp::bench {

/// Throws std::runtime_error "floor: <what>: <SQLite's message for db>".
[[noreturn]] inline void sqlite_fail(sqlite3* db, const char* what) {
  throw std::runtime_error(std::string("floor: ") + what + ": " + sqlite3_errmsg(db));
}

}  // namespace gocp::bench
