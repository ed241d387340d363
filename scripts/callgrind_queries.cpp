// The queryset verbs of bench_queries / bench_cached_queries / bench_service under
// callgrind: instructions per call, which a shared machine's load does not move (the
// benchmarks' wall times do). One operation kind per run, `n` calls counted after a
// warm-up of 400; a small seeded file (200 users with 30 links each, the index a service
// adds) in `dir`. Built and run by scripts/callgrind_queries; modes:
//   recent / raw_recent   filter(user_id == u).order_by(created_at desc).limit(20).all() / raw sqlite3
//   total / raw_total     filter(user_id == u).aggregate(sum(clicks)) / raw sqlite3
//   cached                the same as recent after .cache() (locmem), by value: a hit copies the 20 links
//   cached_shared         the same with all_shared(): a hit shares the cached list (not with NO_SHARED)
//   goc / raw_goc         get_or_create hit by a unique email / raw sqlite3 (SELECT ... LIMIT 21, stepped twice)
// A side's figure includes destroying what it read (20 links: about 3,400 instructions).
#include <sqlite3.h>
#include <valgrind/callgrind.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gocp/gocp.hpp>

#include "../benchmarks/support/raw_links.hpp"
#include "../tests/support/link_models.hpp"

using gocp::c;
using links::Link;
using links::User;

constexpr int kUsers = 200;

static std::string seed(const std::string& dir) {
  std::string p = dir + "/d.db";
  if (std::filesystem::exists(p)) return p;
  auto db = gocp::Database::open("sqlite:///" + p);
  links::seed_users_with_links(db, kUsers, [](std::mt19937_64&) { return 30; });
  return p;
}

/// get_or_create's hit by hand: the SELECT gocp runs (LIMIT 21, stepped to its end).
struct RawUserLookup {
  sqlite3* db = nullptr;
  sqlite3_stmt* goc_ = nullptr;
  explicit RawUserLookup(const std::string& path) {
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    sqlite3_prepare_v3(db, "SELECT id, email FROM links_user WHERE email = ? LIMIT 21", -1, SQLITE_PREPARE_PERSISTENT,
                       &goc_, nullptr);
  }
  ~RawUserLookup() {
    sqlite3_finalize(goc_);
    sqlite3_close_v2(db);
  }
  User goc(const std::string& email) {
    sqlite3_bind_text(goc_, 1, email.data(), static_cast<int>(email.size()), SQLITE_STATIC);
    User u;
    if (sqlite3_step(goc_) == SQLITE_ROW) {
      u.id = sqlite3_column_int64(goc_, 0);
      u.email.assign(reinterpret_cast<const char*>(sqlite3_column_text(goc_, 1)),
                     static_cast<std::size_t>(sqlite3_column_bytes(goc_, 1)));
      if (sqlite3_step(goc_) != SQLITE_DONE) throw std::runtime_error("several");
    }
    sqlite3_reset(goc_);
    return u;
  }
};

volatile std::size_t sink;

int main(int argc, char** argv) {
  const std::string mode = argv[1];
  const std::string path = seed(argv[2]);
  const int n = argc > 3 ? std::atoi(argv[3]) : 1000;
  auto db = gocp::Database::open("sqlite:///" + path);
  gocp::CacheRegistry caches{{"default", "locmem:///drv?max_entries=100000"}, {"links.link", "locmem:///drv?max_entries=100000"},
                             {"links.user", "locmem:///drv?max_entries=100000"}};
  gocp::Repository<Link> plain{db};
  gocp::Repository<Link> cached{db, caches};
  gocp::Repository<User> users{db};
  gocp::bench::RawLinks raw(path);
  RawUserLookup raw_users(path);
  std::vector<std::string> emails;
  for (int u = 1; u <= kUsers; ++u) emails.push_back("user" + std::to_string(u) + "@example.com");
  static const char* const modes[] = {"recent", "raw_recent", "total", "raw_total", "cached", "goc", "raw_goc", "cached_shared"};
  int m = -1;
  for (int k = 0; k < 8; ++k)
    if (mode == modes[k]) m = k;
  auto op = [&](int i) {
    const std::int64_t u = 1 + (i * 7919) % kUsers;
#ifndef NO_SHARED
    if (m == 7)
      sink = cached.cache().filter(c(&Link::user_id) == u).order_by(c(&Link::created_at).desc()).limit(20).all_shared()->size();
    else
#endif
    if (m == 0)
      sink = plain.filter(c(&Link::user_id) == u).order_by(c(&Link::created_at).desc()).limit(20).all().size();
    else if (m == 1)
      sink = raw.recent(u).size();
    else if (m == 2)
      sink = static_cast<std::size_t>(*std::get<0>(plain.filter(c(&Link::user_id) == u).aggregate(gocp::sum(&Link::clicks))));
    else if (m == 3)
      sink = static_cast<std::size_t>(*raw.total(u));
    else if (m == 4)
      sink = cached.cache().filter(c(&Link::user_id) == u).order_by(c(&Link::created_at).desc()).limit(20).all().size();
    else if (m == 5)
      sink = static_cast<std::size_t>(users.get_or_create(c(&User::email) == emails[static_cast<std::size_t>(u - 1)]).first.id);
    else if (m == 6)
      sink = static_cast<std::size_t>(raw_users.goc(emails[static_cast<std::size_t>(u - 1)]).id);
    else
      throw std::runtime_error("mode?");
  };
  for (int i = 0; i < 2 * kUsers; ++i) op(i);
  CALLGRIND_ZERO_STATS;
  CALLGRIND_TOGGLE_COLLECT;
  for (int i = 0; i < n; ++i) op(i);
  CALLGRIND_TOGGLE_COLLECT;
  CALLGRIND_DUMP_STATS;
  return 0;
}
