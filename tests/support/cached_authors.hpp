#pragma once
// The fixture the cache tests share: a fresh database (SQLite file, or PostgreSQL in a
// *_pg build), both in-process cache aliases, and a cached author repository whose
// table exists.

#include <gocp/gocp.hpp>

#include "database_url.hpp"
#include "library_models.hpp"
#include "temp_dir.hpp"

namespace gocp::test {

struct CachedAuthors {
  TempDir dir;
  Database db = Database::open(database_url(dir));
  CacheRegistry caches{{"default", "locmem:///"}, {"library.author", "locmem:///"}};
  Repository<Author, CachedGetOrCreate> authors{db, caches};

  CachedAuthors() { authors.create_table(); }
};

}  // namespace gocp::test
