#pragma once
/// \file
/// `CachedQueries`: get() and find() answered from the query cache for any lookup
/// (django-cachebot's `cache_get`), a missing row ("does not exist") included:
///
///     gocp::Repository<Link, gocp::CachedQueries> links{db, caches};   // caches has a `default` alias
///     auto link = links.find(c(&Link::code) == code);   // a 404 is cached too, until an insert makes it exist
///     auto recent = links.filter(c(&Link::user_id) == u).order_by(c(&Link::created_at).desc()).limit(20).cache().all();
///
/// The entries and their versions live in the `default` alias (cache/query_cache.hpp):
/// a result is served only while every version it was filled under is current, and each
/// committed write bumps the versions of its row's old and new values (the change
/// stream), so a cached answer is the database's. `no_cache()` turns it off for one
/// repository (and its copies); `cache()` turns it on for the other reads of any
/// repository with a `default` alias. A repository with this policy also makes this
/// process's writes of its table bump the versions from its construction on, which
/// other processes sharing a Redis or memcached alias rely on: construct one (or any
/// cached read of the table) in every process that writes it.

#include "../policy.hpp"

namespace gocp {

/// get() / find() through the query cache for every lookup; see the file comment.
struct CachedQueries : Policy {
  static constexpr bool needs_caches = true;  ///< construct its Repository with (db, CacheRegistry)
  /// Every get() and find() is answered by the query cache.
  static constexpr QueryCacheGets cached_gets = QueryCacheGets::any_lookup;
};

}  // namespace gocp
