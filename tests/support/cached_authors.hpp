#pragma once
// The fixture the cache tests share: a fresh database (SQLite file, or PostgreSQL in a
// *_pg build), both cache aliases (locmem, or redis / memcached in a *_redis /
// *_memcached build: support/cache_url.hpp; one store for both), and a cached author
// repository whose table exists.

#include <gocp/gocp.hpp>

#include "cache_url.hpp"
#include "database_url.hpp"
#include "library_models.hpp"
#include "temp_dir.hpp"

namespace gocp::test {

struct CachedAuthors {
  TempDir dir;
  Database db = Database::open(database_url(dir));
  // one URL for both aliases, as a service configures them: on a shared cache a hit is
  // one get_following call (the lookup, its object and generation)
  std::string url = cache_url();
  CacheRegistry caches{{"default", url}, {"library.author", url}};
  Repository<Author, CachedGetOrCreate> authors{db, caches};

  CachedAuthors() { authors.create_table(); }
};

}  // namespace gocp::test
