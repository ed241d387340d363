#pragma once
// Models with relations, shared by the relations and concurrency tests: Django's
// tests/get_or_create models (Publisher, Book with authors, Author; Thing and Tag), a
// parent with children (cascade), pets (set_null), guards (protect), and Django's
// tests/delete RESTRICT case (Artist, Album, Song).

#include <gocp/gocp.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace rel {

struct Publisher {
  std::int64_t id = 0;
  std::string name;
};
struct Author {
  std::int64_t id = 0;
  std::string name;
};
struct Book {
  std::int64_t id = 0;
  std::string name;
  std::int64_t publisher_id = 0;
};
struct Tag {
  std::int64_t id = 0;
  std::string text;
};
struct Thing {
  std::int64_t id = 0;
  std::string name;
};

struct Parent {
  std::int64_t id = 0;
  std::string name;
};
struct Child {
  std::int64_t id = 0;
  std::int64_t parent_id = 0;
  std::string name;
};
struct Pet {  // on_delete::set_null
  std::int64_t id = 0;
  std::optional<std::int64_t> owner_id;
  std::string name;
};
struct Guard {  // on_delete::protect
  std::int64_t id = 0;
  std::int64_t parent_id = 0;
};
struct Toy {  // a grandchild: cascades through Child
  std::int64_t id = 0;
  std::int64_t child_id = 0;
  std::string name;
};

// Django tests/delete: Song.album CASCADE, Song.artist RESTRICT, Album.artist CASCADE
struct Artist {
  std::int64_t id = 0;
  std::string name;
};
struct Album {
  std::int64_t id = 0;
  std::int64_t artist_id = 0;
};
struct Song {
  std::int64_t id = 0;
  std::int64_t album_id = 0;
  std::int64_t artist_id = 0;
};

// Django tests/m2m_through: a group's members through an explicit Membership model
struct Person {
  std::int64_t id = 0;
  std::string name;
};
struct Group {
  std::int64_t id = 0;
  std::string name;
};
struct Membership {
  std::int64_t id = 0;
  std::int64_t group_id = 0;
  std::int64_t person_id = 0;
  std::string role = "member";  // what a link made by add() / get_or_create holds
  int invites = 0;
};

}  // namespace rel

template <>
struct gocp::model<rel::Publisher> {
  static constexpr std::string_view name = "gc.publisher";
  static constexpr auto schema = gocp::table(gocp::primary_key(&rel::Publisher::id, "id"),
                                             gocp::field(&rel::Publisher::name, "name", gocp::unique));
};
template <>
struct gocp::model<rel::Author> {
  static constexpr std::string_view name = "gc.author";
  static constexpr auto schema = gocp::table(gocp::primary_key(&rel::Author::id, "id"),
                                             gocp::field(&rel::Author::name, "name", gocp::unique));
};
template <>
struct gocp::model<rel::Book> {
  static constexpr std::string_view name = "gc.book";
  static constexpr auto authors = gocp::many_to_many<rel::Author>("authors");
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&rel::Book::id, "id"), gocp::field(&rel::Book::name, "name"),
      gocp::foreign_key(&rel::Book::publisher_id, "publisher_id", gocp::references<rel::Publisher>,
                        gocp::on_delete::cascade),
      gocp::unique_together(&rel::Book::publisher_id, &rel::Book::name), authors);
};
template <>
struct gocp::model<rel::Tag> {
  static constexpr std::string_view name = "gc.tag";
  static constexpr auto schema = gocp::table(gocp::primary_key(&rel::Tag::id, "id"),
                                             gocp::field(&rel::Tag::text, "text", gocp::unique));
};
template <>
struct gocp::model<rel::Thing> {
  static constexpr std::string_view name = "gc.thing";
  static constexpr auto tags = gocp::many_to_many<rel::Tag>("tags");
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&rel::Thing::id, "id"), gocp::field(&rel::Thing::name, "name", gocp::unique), tags);
};

template <>
struct gocp::model<rel::Parent> {
  static constexpr std::string_view name = "rel.parent";
  static constexpr auto schema = gocp::table(gocp::primary_key(&rel::Parent::id, "id"),
                                             gocp::field(&rel::Parent::name, "name", gocp::unique));
};
template <>
struct gocp::model<rel::Child> {
  static constexpr std::string_view name = "rel.child";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&rel::Child::id, "id"),
      gocp::foreign_key(&rel::Child::parent_id, "parent_id", gocp::references<rel::Parent>, gocp::on_delete::cascade),
      gocp::field(&rel::Child::name, "name"), gocp::unique_together(&rel::Child::parent_id, &rel::Child::name));
};
template <>
struct gocp::model<rel::Pet> {
  static constexpr std::string_view name = "rel.pet";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&rel::Pet::id, "id"),
      gocp::foreign_key(&rel::Pet::owner_id, "owner_id", gocp::references<rel::Parent>, gocp::on_delete::set_null),
      gocp::field(&rel::Pet::name, "name", gocp::unique));
};
template <>
struct gocp::model<rel::Guard> {
  static constexpr std::string_view name = "rel.guard";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&rel::Guard::id, "id"),
      gocp::foreign_key(&rel::Guard::parent_id, "parent_id", gocp::references<rel::Parent>, gocp::on_delete::protect));
};
template <>
struct gocp::model<rel::Toy> {
  static constexpr std::string_view name = "rel.toy";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&rel::Toy::id, "id"),
      gocp::foreign_key(&rel::Toy::child_id, "child_id", gocp::references<rel::Child>, gocp::on_delete::cascade),
      gocp::field(&rel::Toy::name, "name"), gocp::unique_together(&rel::Toy::child_id, &rel::Toy::name));
};

template <>
struct gocp::model<rel::Artist> {
  static constexpr std::string_view name = "del.artist";
  static constexpr auto schema = gocp::table(gocp::primary_key(&rel::Artist::id, "id"),
                                             gocp::field(&rel::Artist::name, "name", gocp::unique));
};
template <>
struct gocp::model<rel::Album> {
  static constexpr std::string_view name = "del.album";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&rel::Album::id, "id"),
      gocp::foreign_key(&rel::Album::artist_id, "artist_id", gocp::references<rel::Artist>, gocp::on_delete::cascade));
};
template <>
struct gocp::model<rel::Song> {
  static constexpr std::string_view name = "del.song";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&rel::Song::id, "id"),
      gocp::foreign_key(&rel::Song::album_id, "album_id", gocp::references<rel::Album>, gocp::on_delete::cascade),
      gocp::foreign_key(&rel::Song::artist_id, "artist_id", gocp::references<rel::Artist>, gocp::on_delete::restrict));
};

template <>
struct gocp::model<rel::Person> {
  static constexpr std::string_view name = "m2m.person";
  static constexpr auto schema = gocp::table(gocp::primary_key(&rel::Person::id, "id"),
                                             gocp::field(&rel::Person::name, "name", gocp::unique));
};
template <>
struct gocp::model<rel::Membership>;  // declared below: Group names it first
template <>
struct gocp::model<rel::Group> {
  static constexpr std::string_view name = "m2m.group";
  static constexpr auto members = gocp::many_to_many<rel::Person>("members", gocp::through<rel::Membership>);
  static constexpr auto schema = gocp::table(gocp::primary_key(&rel::Group::id, "id"),
                                             gocp::field(&rel::Group::name, "name", gocp::unique), members);
};
template <>
struct gocp::model<rel::Membership> {
  static constexpr std::string_view name = "m2m.membership";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&rel::Membership::id, "id"),
      gocp::foreign_key(&rel::Membership::group_id, "group_id", gocp::references<rel::Group>, gocp::on_delete::cascade),
      gocp::foreign_key(&rel::Membership::person_id, "person_id", gocp::references<rel::Person>,
                        gocp::on_delete::cascade),
      gocp::field(&rel::Membership::role, "role", gocp::default_value("member")),
      gocp::field(&rel::Membership::invites, "invites", gocp::default_value(2)),
      gocp::unique_together(&rel::Membership::group_id, &rel::Membership::person_id));
};
