#pragma once
// A small link-shortener model set for the subquery and aggregate suites: users, their
// links (a click counter, a creation time, an optional note, rating and referrer) and
// tags many-to-many, plus the data both suites load.

#include <gocp/gocp.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "database_url.hpp"
#include "temp_dir.hpp"

namespace qm {

struct User {
  std::int64_t id = 0;
  std::string email;
};

struct Link {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string url;
  std::int64_t clicks = 0;
  gocp::Timestamp created_at{};
  std::optional<std::string> note;
  std::optional<double> rating;
  std::optional<std::int64_t> referrer_id;  ///< a user who referred it, or none
};

struct Tag {
  std::int64_t id = 0;
  std::string name;
};

/// A time `days` after 2024-01-01 (whole microseconds).
inline gocp::Timestamp day(int days) {
  using namespace std::chrono;
  return gocp::Timestamp{sys_days{year{2024} / January / 1} + std::chrono::days{days}};
}

}  // namespace qm

template <>
struct gocp::model<qm::User> {
  static constexpr std::string_view name = "qm.user";
  static constexpr auto schema = gocp::table(gocp::primary_key(&qm::User::id, "id"),
                                             gocp::field(&qm::User::email, "email", gocp::unique));
};

template <>
struct gocp::model<qm::Link> {
  static constexpr std::string_view name = "qm.link";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&qm::Link::id, "id"),
      gocp::foreign_key(&qm::Link::user_id, "user_id", gocp::references<qm::User>, gocp::on_delete::cascade),
      gocp::field(&qm::Link::url, "url", gocp::unique), gocp::field(&qm::Link::clicks, "clicks"),
      gocp::field(&qm::Link::created_at, "created_at"), gocp::field(&qm::Link::note, "note"),
      gocp::field(&qm::Link::rating, "rating"), gocp::field(&qm::Link::referrer_id, "referrer_id"));
};

template <>
struct gocp::model<qm::Tag> {
  static constexpr std::string_view name = "qm.tag";
  static constexpr auto links = gocp::many_to_many<qm::Link>("links");
  static constexpr auto schema = gocp::table(gocp::primary_key(&qm::Tag::id, "id"),
                                             gocp::field(&qm::Tag::name, "name", gocp::unique), links);
};

namespace qm {

/// The tables, and users ann (1), bob (2), cy (3, no link) and dee@other.org (4):
///   ann: a (10 clicks, day 0, note "x", rating 4.5, referred by bob), b (200, day 2), c (5, day 1, rating 1.5)
///   bob: d (150, day 3, referred by ann)
///   dee: e (0, day 4, note "y", referred by bob)
struct Data {
  User ann, bob, cy, dee;
  Link a, b, c, d, e;

  explicit Data(const gocp::Database& db) {
    gocp::Repository<User> users{db};
    gocp::Repository<Link> links{db};
    gocp::Repository<Tag> tags{db};
    users.create_table();
    links.create_table();
    tags.create_table();
    ann = users.create({0, "ann@example.com"});
    bob = users.create({0, "bob@example.com"});
    cy = users.create({0, "cy@example.com"});
    dee = users.create({0, "dee@other.org"});
    a = links.create({0, ann.id, "https://a", 10, day(0), "x", 4.5, bob.id});
    b = links.create({0, ann.id, "https://b", 200, day(2), std::nullopt, std::nullopt, std::nullopt});
    c = links.create({0, ann.id, "https://c", 5, day(1), std::nullopt, 1.5, std::nullopt});
    d = links.create({0, bob.id, "https://d", 150, day(3), std::nullopt, std::nullopt, ann.id});
    e = links.create({0, dee.id, "https://e", 0, day(4), "y", std::nullopt, bob.id});
  }
};

/// The database of one test (SQLite, or PostgreSQL under GOCP_TEST_DATABASE=postgres)
/// with Data loaded, and the repositories both suites read.
struct Fixture {
  gocp::test::TempDir dir;
  gocp::Database db = gocp::Database::open(gocp::test::database_url(dir));
  Data data{db};
  gocp::Repository<User> users{db};
  gocp::Repository<Link> links{db};
};

}  // namespace qm
