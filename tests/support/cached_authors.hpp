#pragma once
// The fixture the cache tests share: a fresh database (SQLite file, or PostgreSQL in a
// *_pg build), both cache aliases (locmem, or redis / memcached in a *_redis /
// *_memcached build: support/cache_url.hpp), and a cached author repository whose
// table exists.

#include <gocp/gocp.hpp>

#include "cache_url.hpp"
#include "database_url.hpp"
#include "library_models.hpp"
#include "temp_dir.hpp"

namespace gocp::test {

struct CachedAuthors {
  TempDir dir;
  Database db = Database::open(database_url(dir));
  CacheRegistry caches{{"default", cache_url()}, {"library.author", cache_url()}};
  Repository<Author, CachedGetOrCreate> authors{db, caches};

  CachedAuthors() { authors.create_table(); }
};

}  // namespace gocp::test
