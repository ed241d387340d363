#pragma once
// The link-shortener models of issue 23 (a user's links, with a click counter, a creation
// time and an optional note), shared by the query tests: ordering, slicing, values,
// aggregates and conditions across the foreign key all read them.

#include <gocp/gocp.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace links {

struct User {
  std::int64_t id = 0;
  std::string email;
};

struct Link {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string url;
  int clicks = 0;
  gocp::Timestamp created_at{};
  std::optional<std::string> note;
};

}  // namespace links

template <>
struct gocp::model<links::User> {
  static constexpr std::string_view name = "links.user";
  static constexpr auto schema = gocp::table(gocp::primary_key(&links::User::id, "id"),
                                             gocp::field(&links::User::email, "email", gocp::max_length(254), gocp::unique));
};

template <>
struct gocp::model<links::Link> {
  static constexpr std::string_view name = "links.link";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&links::Link::id, "id"),
      gocp::foreign_key(&links::Link::user_id, "user_id", gocp::references<links::User>, gocp::on_delete::cascade),
      gocp::field(&links::Link::url, "url", gocp::max_length(2000)), gocp::field(&links::Link::clicks, "clicks"),
      gocp::field(&links::Link::created_at, "created_at"), gocp::field(&links::Link::note, "note"));
};

namespace links {

/// The users and links tables (gocp's own DDL) and the index a service adds for a user's
/// newest links, (user_id, created_at): the benchmarks' schema.
inline void create_tables_with_index(gocp::Database& db) {
  gocp::Repository<User>{db}.create_table();
  gocp::Repository<Link>{db}.create_table();
  db.execute("CREATE INDEX IF NOT EXISTS links_link_user_created ON links_link (user_id, created_at)");
}

/// create_tables_with_index(), then users 1..`users` ("user<N>@example.com"), each with
/// `links_of(rng)` links (https://example.com/<user>/<i>, random clicks and creation
/// times from one generator seeded 7), in two bulk_creates: the benchmarks' data.
template <class LinksOf>
void seed_users_with_links(gocp::Database& db, std::int64_t users, LinksOf&& links_of) {
  create_tables_with_index(db);
  std::mt19937_64 rng(7);
  std::vector<User> user_rows;
  std::vector<Link> link_rows;
  for (std::int64_t u = 1; u <= users; ++u) {
    user_rows.push_back(User{u, "user" + std::to_string(u) + "@example.com"});
    const int n = links_of(rng);
    for (int i = 0; i < n; ++i)
      link_rows.push_back(Link{0, u, "https://example.com/" + std::to_string(u) + "/" + std::to_string(i),
                               static_cast<int>(rng() % 1000),
                               gocp::Timestamp{std::chrono::microseconds{static_cast<std::int64_t>(rng() % 1'000'000'000)}},
                               std::nullopt});
  }
  gocp::Repository<User>{db}.bulk_create(user_rows);
  gocp::Repository<Link>{db}.bulk_create(link_rows);
}

}  // namespace links
