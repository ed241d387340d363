#pragma once
/// \file
/// `CachedGetOrCreate`: get_or_create answered from the cache when it can.
///   lookup key -> pk       in the `default` alias (key: model, schema hash, the
///                          repository's filters and bound values, the canonical lookup)
///   pk -> object           in the alias named after the model, generation-tagged
/// When both aliases are one byte store (the same Redis or memcached URL), a hit is one
/// Cache::get_following call: one round trip on Redis (a script follows the lookup's
/// reference to the object and its generation server side).
/// A mapped object is served only if its entry is current and it still matches the
/// filters and the lookup; anything else falls back to the real get_or_create, whose
/// result is then cached (after the transaction commits; never if it rolls back).
/// update_or_create results are cached too, after the update is applied.
/// Only lookups a unique constraint covers are cached (the host asks this policy about
/// no other), so a cached answer can never hide a second matching row. A lookup or
/// repository filter with a subquery (`c(&Link::user_id).in(users...)`) is never cached
/// either: its answer depends on another table, whose writes this model's entries never
/// hear of, so such a get_or_create always asks the database and fills nothing. Inside a
/// transaction that wrote this table, reads bypass the cache: the transaction sees its
/// own writes. Invalidation is not this policy's: every write reaches the cache through
/// the change stream (cache/coherence.hpp).
/// Hooks: `lookup`, `after_read`.

#include <optional>
#include <utility>

#include "../cache/coherence.hpp"
#include "../db/database.hpp"
#include "../cache/detail/match.hpp"
#include "../policy.hpp"

namespace gocp {

/// get_or_create answered from the caches when a current entry matches, and the
/// database's answers cached after commit; see the file comment. Needs a CacheRegistry
/// (its `default` alias maps lookups to primary keys).
struct CachedGetOrCreate : Policy {
  static constexpr bool needs_caches = true;  ///< construct its Repository with (db, CacheRegistry)
  /// get() and find() by a lookup a unique constraint covers are answered by the query
  /// cache too (cache/query_cache.hpp), a missing row included.
  static constexpr QueryCacheGets cached_gets = QueryCacheGets::unique_lookups;

  /// What a get_or_create's cache read found, for the fill after the database read.
  struct call_state {
    detail::Hash128 lookup;  ///< the lookup's key, once computed
    detail::LookupWords words;  ///< the typed tier's exact key
    bool hashed = false;                     ///< `lookup` and `words` are computed
    std::optional<std::int64_t> generation;  ///< the object entry's generation, read before the database
    std::optional<Value> cached_pk;          ///< the pk the lookup key mapped to, if any
    std::optional<std::uint64_t> epoch;  ///< the typed tier's invalidation count, read first
  };

 private:
  friend class PolicyAccess;

  /// The cached answer into `out` (the host's result): true when a current entry
  /// matches; false, `out` as given, when the database must answer.
  template <class Repo, class M>
  bool lookup(const Repo& repo, const Expr<M>& lookup, M& out, call_state& state) const {
    const auto& caches = *PolicyAccess::caches(repo);
    using Served = typename detail::ModelCaches<M>::Served;  // typename: clang 14
    const Expr<M>& scope = PolicyAccess::queryset(repo).scope();
    if (detail::DatabaseAccess::wrote(repo.database(), &repo.info()) || reads_other_tables(scope, lookup)) {
      caches.count(Served{});  // the database answers past the caches: no alias was asked
      return false;
    }
    repo.database().catch_up();  // other processes' writes invalidate first (SQLite ?watch=)
    state.lookup = caches.lookup_key(scope, lookup, state.words);
    state.hashed = true;
    state.epoch = caches.write_epoch();  // before the caches and the database are read
    detail::SeenGeneration seen;
    bool current = false;
    if (caches.follows()) {  // one store: the lookup, its object and generation in one call
      if (auto followed = caches.follow(state.lookup, state.cached_pk, state.generation)) {
        out = std::move(*followed);
        current = true;
      }
    } else {
      // the typed tier's answer kept with the mapping, while its row is unwritten
      if (caches.lookup(state.lookup, state.words, out, state.cached_pk)) {
        caches.count(Served{.hit = true, .lookup_hit = true, .object_hit = std::nullopt});  // kept with the lookup
        return true;
      }
      if (state.cached_pk) current = caches.get_into(*state.cached_pk, out, state.generation, &seen);
    }
    if (!state.cached_pk) {
      if (current) out = M{};  // as the host gave it
      caches.count(Served{.hit = false, .lookup_hit = false, .object_hit = std::nullopt});
      return false;
    }
    const Dialect& dialect = repo.database().dialect();
    if (current && detail::matches(scope, out, dialect) && detail::matches(lookup, out, dialect)) {
      caches.count(Served{.hit = true, .lookup_hit = true, .object_hit = true});
      caches.remember_hit(state.lookup, state.words, out, std::move(seen));
      return true;
    }
    if (current) out = M{};  // as the host gave it
    caches.count(Served{.hit = false, .lookup_hit = true, .object_hit = current});
    return false;
  }

  template <class Repo, class M>
  void after_read(const Repo& repo, const Expr<M>& lookup, const M& obj, bool, call_state& state) const {
    const auto& caches = *PolicyAccess::caches(repo);
    if (reads_other_tables(PolicyAccess::queryset(repo).scope(), lookup)) return;  // never cached: see lookup()
    if (!state.hashed) state.lookup = caches.lookup_key(PolicyAccess::queryset(repo).scope(), lookup, state.words);
    Value pk = detail::get_column(obj, detail::pk_index<M>);
    if (!repo.database().in_transaction()) {
      // the typed tier keeps what it stored with the mapping: the next hit is one lookup
      detail::SeenGeneration seen;
      if (state.generation && state.cached_pk == pk) {
        caches.store(obj, *state.generation, &seen);  // the generation was read before the row
        caches.remember_hit(state.lookup, state.words, obj, std::move(seen));
        return;
      }
      // no write since the epoch was read, before the row was: a create's own insert
      // under a new key is none, so a created row is stored as the insert returned it
      if (state.epoch && caches.store_unless_written(obj, *state.epoch, &seen)) {
        caches.remember_fill(state.lookup, state.words, obj, std::move(seen));
        return;
      }
    }
    refill_after_commit(repo, state.lookup, std::move(pk));
  }

  /// Whether the filters or the lookup test a subquery: an answer no cache entry can keep.
  template <class M>
  static bool reads_other_tables(const Expr<M>& scope, const Expr<M>& lookup) noexcept {
    return detail::reads_other_tables(scope.nodes()) || detail::reads_other_tables(lookup.nodes());
  }

  /// Once the data is committed (at once outside a transaction): read the generation,
  /// then the row, and cache both mappings. Reading the row again after the generation
  /// is what keeps a concurrent writer's invalidation from being overwritten.
  template <class Repo>
  static void refill_after_commit(const Repo& repo, const detail::Hash128& key, Value pk) {
    repo.database().on_commit([exec = PolicyAccess::executor(repo), caches = PolicyAccess::shared_caches(repo), key,
                               pk = std::move(pk)] {
      try {
        const auto generation = caches->generation(pk);
        if (!generation) return;
        auto row = exec.get_by_pk(pk);
        if (!row) return;
        caches->store(*row, *generation);
        caches->remember_lookup(key, pk);
      } catch (const std::exception&) {  // a fill is an optimisation; the answer was already given
        caches->count(detail::StatCounters::cache_errors);
      }
    });
  }
};

}  // namespace gocp
