#pragma once
// What a user writes by hand for the link queries of bench_queries (and
// scripts/callgrind_queries): raw sqlite3 with prepared statements on a file of
// tests/support/link_models.hpp's tables, opened as gocp opens its own.

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gocp/gocp.hpp>

#include "sqlite_fail.hpp"
#include "../../tests/support/link_models.hpp"

namespace gocp::bench {

/// The floor: what a user writes by hand, on the file at `path`.
class RawLinks {
 public:
  explicit RawLinks(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK)
      sqlite_fail(db_, "open");
    sqlite3_busy_timeout(db_, 5000);
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"})
      if (sqlite3_exec(db_, pragma, nullptr, nullptr, nullptr) != SQLITE_OK) sqlite_fail(db_, pragma);
    recent_ = prepare(
        "SELECT id, user_id, url, clicks, created_at, note FROM links_link WHERE user_id = ? "
        "ORDER BY created_at DESC, id DESC LIMIT 20");
    total_ = prepare("SELECT SUM(clicks) FROM links_link WHERE user_id = ?");
    click_ = prepare(
        "UPDATE links_link SET clicks = clicks + 1 WHERE id = (SELECT MIN(id) FROM links_link WHERE user_id = ?)");
  }
  RawLinks(const RawLinks&) = delete;
  RawLinks& operator=(const RawLinks&) = delete;
  ~RawLinks() {
    for (sqlite3_stmt* st : {recent_, total_, click_}) sqlite3_finalize(st);
    sqlite3_close_v2(db_);
  }

  std::vector<links::Link> recent(std::int64_t user) {
    sqlite3_bind_int64(recent_, 1, user);
    std::vector<links::Link> out;
    while (sqlite3_step(recent_) == SQLITE_ROW) {
      links::Link l;
      l.id = sqlite3_column_int64(recent_, 0);
      l.user_id = sqlite3_column_int64(recent_, 1);
      l.url.assign(reinterpret_cast<const char*>(sqlite3_column_text(recent_, 2)),
                   static_cast<std::size_t>(sqlite3_column_bytes(recent_, 2)));
      l.clicks = sqlite3_column_int(recent_, 3);
      l.created_at = gocp::Timestamp{std::chrono::microseconds{sqlite3_column_int64(recent_, 4)}};
      if (sqlite3_column_type(recent_, 5) != SQLITE_NULL)
        l.note.emplace(reinterpret_cast<const char*>(sqlite3_column_text(recent_, 5)),
                       static_cast<std::size_t>(sqlite3_column_bytes(recent_, 5)));
      out.push_back(std::move(l));
    }
    sqlite3_reset(recent_);
    return out;
  }

  std::optional<std::int64_t> total(std::int64_t user) {
    sqlite3_bind_int64(total_, 1, user);
    std::optional<std::int64_t> out;
    if (sqlite3_step(total_) == SQLITE_ROW && sqlite3_column_type(total_, 0) != SQLITE_NULL)
      out = sqlite3_column_int64(total_, 0);
    sqlite3_reset(total_);
    return out;
  }

  void click(std::int64_t user) {
    sqlite3_bind_int64(click_, 1, user);
    const int rc = sqlite3_step(click_);
    sqlite3_reset(click_);
    if (rc != SQLITE_DONE) sqlite_fail(db_, "click");
  }

 private:
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) sqlite_fail(db_, sql);
    return st;
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* recent_ = nullptr;
  sqlite3_stmt* total_ = nullptr;
  sqlite3_stmt* click_ = nullptr;
};

}  // namespace gocp::bench
