#pragma once
/// \file
/// `CachedGetOrCreate`: get_or_create answered from the cache when it can.
///   lookup key -> pk       in the `default` alias (key: model, schema hash, the
///                          repository's filters and the canonical lookup)
///   pk -> object           in the alias named after the model, generation-tagged
/// A mapped object is served only if its entry is current and it still matches the
/// filters and the lookup; anything else falls back to the real get_or_create, whose
/// result is then cached (after the transaction commits; never if it rolls back).
/// update_or_create results are cached too, after the update is applied.
/// Inside a transaction that wrote this model, reads bypass the cache: the transaction
/// sees its own writes.

#include <optional>
#include <string>
#include <utility>

#include "../cache/registry.hpp"
#include "../detail/match.hpp"
#include "../repository.hpp"

namespace gocp {

struct CachedGetOrCreate {
  template <class Base>
  class mixin : public Base {
    using Model = typename Base::model_type;

   public:
    using Base::Base;
    /// CachedGetOrCreate needs caches: construct with (db, CacheRegistry).
    explicit mixin(Database) = delete;

    mixin(Database db, const CacheRegistry& caches) : Base(std::move(db), caches) {
      caches.slot("default");  // throws naming the aliases configured when it is missing
    }

    template <class E, class D = Defaults<Model>>
    std::pair<Model, bool> get_or_create(const E& lookup_, const D& defaults = {}) const {
      const Expr<Model>& lookup = detail::as_condition<Model>(lookup_);
      const auto& caches = *this->caches_;
      const Expr<Model>& filters = this->filters_;
      std::optional<std::int64_t> generation;
      std::optional<Value> cached_pk;
      thread_local std::string key;  // per thread: the hit path allocates nothing once warm
      const bool read_cache = !detail::DatabaseAccess::wrote(this->db_, &this->info());
      if (read_cache) {
        const auto versions = caches.versions();  // read before the caches: see HitMemo
        if (versions) {
          if (const Model* memo = detail::HitMemo<Model>::find(filters, lookup, *versions)) {
            caches.count(&detail::StatCounters::hits);
            return {*memo, false};
          }
        }
        caches.lookup_key(key, detail::lookup_hash(filters, lookup));
        cached_pk = caches.lookup(key);
        if (cached_pk) {
          auto obj = caches.get(*cached_pk, generation);
          if (obj && detail::matches(filters, *obj, this->db_.dialect()) &&
              detail::matches(lookup, *obj, this->db_.dialect())) {
            caches.count(&detail::StatCounters::hits);
            if (versions) detail::HitMemo<Model>::remember(filters, lookup, *versions, *obj);
            return {std::move(*obj), false};
          }
        }
      }
      caches.count(&detail::StatCounters::misses);
      std::string owned_key;  // `key` is per thread: a defaults callable may reuse it
      if (read_cache) owned_key = key;
      else caches.lookup_key(owned_key, detail::lookup_hash(filters, lookup));
      auto result = Base::get_or_create(lookup, detail::as_defaults<Model>(defaults));
      const Value pk = detail::get_column(result.first, detail::pk_index<Model>);
      if (generation && cached_pk == pk && !this->db_.in_transaction()) {
        caches.store(result.first, *generation);  // the generation was read before the row
      } else {
        refill_after_commit(std::move(owned_key), pk);
      }
      return result;
    }

    template <class E, class D = Defaults<Model>, class C = detail::SameAsDefaults>
    std::pair<Model, bool> update_or_create(const E& lookup, const D& defaults = {},
                                            const C& create_defaults = {}) const {
      auto result = Base::update_or_create(lookup, defaults, create_defaults);
      std::string key;
      this->caches_->lookup_key(key, detail::lookup_hash(this->filters_, detail::as_condition<Model>(lookup)));
      refill_after_commit(std::move(key), detail::get_column(result.first, detail::pk_index<Model>));
      return result;
    }

   private:
    /// Once the data is committed (at once outside a transaction): read the generation,
    /// then the row, and cache both mappings. Reading the row again after the generation
    /// is what keeps a concurrent writer's invalidation from being overwritten.
    void refill_after_commit(std::string key, Value pk) const {
      auto unfiltered = this->self();
      unfiltered.filters_ = {};
      this->db_.on_commit([repo = std::move(unfiltered), key = std::move(key), pk = std::move(pk)] {
        const auto& caches = *repo.caches_;
        try {
          const auto generation = caches.generation(pk);
          if (!generation) return;
          detail::Node by_pk{detail::Op::eq, static_cast<std::uint32_t>(detail::pk_index<Model>), pk};
          auto row = repo.find_one(Expr<Model>(std::move(by_pk)));
          if (!row) return;
          caches.store(*row, *generation);
          caches.remember_lookup(key, pk);
        } catch (const std::exception&) {  // a fill is an optimisation; the answer was already given
          caches.count(&detail::StatCounters::cache_errors);
        }
      });
    }
  };
};

}  // namespace gocp
