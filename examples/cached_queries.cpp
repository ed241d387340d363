// Cached querysets, as django-cachebot's README shows them, in C++:
//
//     Photo.objects.cache('user').filter(user=user, status=2)
//
// is `photos.cache(&Photo::user_id).filter(c(&Photo::user_id) == user.id && c(&Photo::status) == 2)`.
// A cached result is served until a committed write could change it: here, a write of
// one of this user's photos (its old or new values); another user's photos leave it
// cached. get()/find() on a CachedQueries repository are cached too, "does not exist"
// included. Prints what happens, with the stats that show it.

#include <gocp/gocp.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

struct User {
  std::int64_t id = 0;
  std::string name;
};
struct Photo {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  int status = 0;  // 2: published
  std::string title;
};

template <>
struct gocp::model<User> {
  static constexpr std::string_view name = "gallery.user";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&User::id, "id"), gocp::field(&User::name, "name", gocp::unique));
};
template <>
struct gocp::model<Photo> {
  static constexpr std::string_view name = "gallery.photo";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Photo::id, "id"),
      gocp::foreign_key(&Photo::user_id, "user_id", gocp::references<User>, gocp::on_delete::cascade),
      gocp::field(&Photo::status, "status"), gocp::field(&Photo::title, "title"));
};

namespace {
std::uint64_t last_queries = 0;
void show(const char* what, const gocp::Stats& s) {
  std::printf("  %-46s hits %llu, misses %llu, SQL statements %llu (read now: %llu)\n", what,
              static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.misses),
              static_cast<unsigned long long>(s.db_queries),
              static_cast<unsigned long long>(s.db_queries - last_queries));
  last_queries = s.db_queries;
}
}  // namespace

int main() {
  using gocp::c;
  auto db = gocp::Database::open("sqlite::memory:");
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"gallery.user", "locmem:///"}, {"gallery.photo", "locmem:///"}};
  gocp::Repository<User, gocp::CachedQueries> users{db, caches};
  gocp::Repository<Photo, gocp::CachedQueries> photos{db, caches};
  users.create_table();
  photos.create_table();
  const User ann = users.create({0, "ann"});
  const User bob = users.create({0, "bob"});
  Photo first = photos.create({0, ann.id, 2, "sunrise"});
  photos.create({0, ann.id, 1, "draft"});
  const Photo bobs = photos.create({0, bob.id, 2, "harbour"});
  bool ok = true;
  last_queries = photos.stats().db_queries;

  std::puts("1. Photo.objects.cache('user').filter(user=user, status=2)");
  const auto published = photos.cache(&Photo::user_id).filter(c(&Photo::user_id) == ann.id && c(&Photo::status) == 2);
  ok = ok && published.all().size() == 1;
  show("first read (the database):", photos.stats());
  ok = ok && published.all().size() == 1 && published.count() == 1;
  show("all() again, and count() (cached apart):", photos.stats());
  Photo other = bobs;
  other.title = "harbour at night";
  photos.save(other);
  last_queries = photos.stats().db_queries;  // (+N) below counts the reads only
  ok = ok && published.all().size() == 1;
  show("after saving bob's photo (still a hit):", photos.stats());
  const auto before_publish = photos.stats().db_queries;
  Photo draft = photos.get(c(&Photo::title) == "draft");
  draft.status = 2;
  photos.save(draft);  // ann's photo enters the result
  last_queries = photos.stats().db_queries;
  ok = ok && published.all().size() == 2;
  show("after publishing ann's draft (a miss):", photos.stats());
  ok = ok && photos.stats().db_queries - before_publish >= 2;

  std::puts("2. get() and find() with CachedQueries, 'does not exist' included");
  for (int i = 0; i < 2; ++i) {
    try {
      photos.get(c(&Photo::title) == "sunset");
      ok = false;
    } catch (const gocp::DoesNotExist&) {
    }
  }
  show("get() of a missing photo, twice:", photos.stats());
  photos.create({0, bob.id, 2, "sunset"});
  last_queries = photos.stats().db_queries;
  ok = ok && photos.find(c(&Photo::title) == "sunset").has_value();
  show("the insert that makes it exist (a miss):", photos.stats());
  ok = ok && photos.find(c(&Photo::title) == "sunset").has_value();
  show("and again (a hit):", photos.stats());

  std::puts("3. a condition across the relation: photos of users named 'ann'");
  const auto of_ann = photos.filter(c(&Photo::user_id).in(users.filter(c(&User::name) == "ann"))).cache();
  ok = ok && of_ann.count() == 2;
  ok = ok && of_ann.count() == 2;
  show("count() twice:", photos.stats());
  User renamed = ann;
  renamed.name = "anna";
  users.save(renamed);  // the inner table's write
  ok = ok && of_ann.count() == 0;
  show("after renaming ann (a miss):", photos.stats());
  first.title = "sunrise, edited";
  photos.save(first);
  last_queries = photos.stats().db_queries;
  ok = ok && published.no_cache().count() == 2;
  show("no_cache() always asks the database:", photos.stats());

  std::puts(ok ? "all as expected" : "UNEXPECTED RESULT");
  return ok ? 0 : 1;
}
