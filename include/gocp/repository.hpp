#pragma once
/// \file
/// `gocp::Repository<Model, Policies...>`: the verbs over one model's table, with
/// Django's get_or_create / update_or_create, and policies mixed in over them.
///
///     gocp::Repository<Author> authors{db};
///     auto [leo, created] = authors.get_or_create(
///         c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy",
///         gocp::defaults(c(&Author::books_in_store) = 0));
///     auto smiths = authors.filter(c(&Author::last_name) == "Smith").all();
///
/// filter()/exclude() return a new repository (the same type, policies and all) whose
/// verbs see only the matching rows: lazy, chainable, cheap to copy.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cache/registry.hpp"
#include "db/database.hpp"
#include "detail/model_caches.hpp"
#include "detail/sql.hpp"
#include "detail/validation.hpp"
#include "errors.hpp"
#include "model.hpp"
#include "query.hpp"
#include "stats.hpp"

namespace gocp {

namespace detail {

/// Django's MAX_GET_RESULTS: get() reads at most this many rows to report a count.
inline constexpr std::size_t max_get_results = 21;

/// update_or_create's create_defaults when the caller gave none: use `defaults`.
struct SameAsDefaults {};

/// `condition` as the repository model's expression; anything else stops at one readable
/// static_assert (the dummy it returns keeps the rest of the caller free of follow-on errors).
template <class Model, class E>
const Expr<Model>& as_condition(const E& condition) {
  if constexpr (std::is_same_v<E, Expr<Model>>) {
    return condition;
  } else {
    static_assert(always_false<E>,
                  "gocp: this condition is not on the repository's model (it uses another model's fields, "
                  "or is not a gocp::c(...) expression)");
    static const Expr<Model> none;
    return none;
  }
}

template <class Model, class D>
const Defaults<Model>& as_defaults(const D& defaults) {
  if constexpr (std::is_same_v<D, Defaults<Model>>) {
    return defaults;
  } else {
    static_assert(always_false<D>, "gocp: these defaults are not gocp::defaults(...) on the repository's model");
    static const Defaults<Model> none;
    return none;
  }
}

/// A bit per column that a top-level `column == value` term of the expression fixes.
inline std::uint64_t equality_mask(std::span<const Node> nodes, std::size_t i = 0) {
  if (i >= nodes.size()) return 0;
  const Node& n = nodes[i];
  if (n.op == Op::and_) return equality_mask(nodes, i + 1) | equality_mask(nodes, subtree_end(nodes, i + 1));
  return n.op == Op::eq && n.column < 64 ? std::uint64_t{1} << n.column : 0;
}

/// The values a create writes: column -> value, later assignments winning.
using ColumnValues = std::vector<std::pair<std::size_t, Value>>;

inline void assign(ColumnValues& values, std::size_t column, Value v) {
  for (auto& [c, existing] : values) {
    if (c == column) {
      existing = std::move(v);
      return;
    }
  }
  values.emplace_back(column, std::move(v));
}

}  // namespace detail

template <class Derived, class Model>
class RepositoryBase {
 public:
  using model_type = Model;
  using pk_type = detail::pk_type<Model>;

  /// A repository without caches.
  explicit RepositoryBase(Database db) : db_(std::move(db)) { static_cast<void>(schema_hash<Model>); }

  /// A repository whose writes invalidate the model's cache entries: `caches` must have
  /// the alias named after the model (and `default`, for policies caching lookups).
  RepositoryBase(Database db, const CacheRegistry& caches)
      : db_(std::move(db)),
        caches_(std::make_shared<detail::ModelCaches<Model>>(caches, stats_, caches.contains("default"))) {}

  const Database& database() const noexcept { return db_; }
  const ModelInfo& info() const noexcept { return model_info<Model>(); }

  /// This repository's counters (shared with its filtered copies).
  Stats stats() const noexcept { return stats_->snapshot(); }

  /// Creates the table with its constraints if it does not exist (idempotent).
  void create_table() const { db_.execute(detail::create_table_sql(db_.dialect(), info())); }

  // ---- reading ---------------------------------------------------------------------

  /// The one row matching `lookup` (and the repository's filters). Throws DoesNotExist
  /// when none does and MultipleObjectsReturned when several do.
  template <class E>
  Model get(const E& lookup) const {
    if (auto found = find_one(detail::as_condition<Model>(lookup))) return std::move(*found);
    throw_does_not_exist();
  }

  /// Like get(), but a missing row is std::nullopt. Several rows still throw.
  template <class E>
  std::optional<Model> find(const E& lookup) const {
    return find_one(detail::as_condition<Model>(lookup));
  }

  /// A repository seeing only the rows that match `condition` as well.
  template <class E>
  Derived filter(const E& condition) const {
    Derived copy = self();
    copy.filters_ = filters_ && detail::as_condition<Model>(condition);
    return copy;
  }

  /// A repository seeing only the rows for which `condition` is not true.
  template <class E>
  Derived exclude(const E& condition) const {
    return filter(!detail::as_condition<Model>(condition));
  }

  /// A repository whose get_or_create / update_or_create accept lookups that no unique
  /// constraint covers. Without a unique constraint two concurrent callers can both
  /// create: use it only where that race is acceptable or impossible.
  Derived allow_non_unique_lookups() const {
    Derived copy = self();
    copy.allow_non_unique_ = true;
    return copy;
  }

  /// Every matching row, by primary key.
  std::vector<Model> all() const {
    auto w = writer();
    w.select_all_columns().where({&filters_}).text(" ORDER BY ").column(info().pk);
    std::vector<Model> out;
    run(w, [&](const Row& row) {
      out.push_back(detail::read_object<Model>(row));
      return true;
    });
    return out;
  }

  std::size_t count() const {
    auto w = writer();
    w.text("SELECT COUNT(*) FROM ").table().where({&filters_});
    std::size_t n = 0;
    run(w, [&](const Row& row) {
      n = static_cast<std::size_t>(row.integer(0));
      return false;
    });
    return n;
  }

  bool exists() const {
    auto w = writer();
    w.text("SELECT 1 FROM ").table().where({&filters_}).text(" LIMIT 1");
    bool found = false;
    run(w, [&](const Row&) { return !(found = true); });
    return found;
  }

  /// The matching rows whose primary key is in `pks`, keyed by primary key.
  template <class R>
  std::unordered_map<pk_type, Model> in_bulk(const R& pks) const {
    std::unordered_map<pk_type, Model> out;
    std::vector<pk_type> chunk;
    auto flush = [&] {
      if (chunk.empty()) return;
      auto w = writer();
      const Expr<Model> in = Col<Model, pk_type>(pk_member()).in(chunk);
      w.select_all_columns().where({&filters_, &in});
      run(w, [&](const Row& row) {
        Model obj = detail::read_object<Model>(row);
        out.emplace(detail::pk_of(obj), std::move(obj));
        return true;
      });
      chunk.clear();
    };
    for (const auto& pk : pks) {
      chunk.push_back(pk);
      if (chunk.size() == kInBulkChunk) flush();
    }
    flush();
    return out;
  }
  std::unordered_map<pk_type, Model> in_bulk(std::initializer_list<pk_type> pks) const {
    return in_bulk(std::vector<pk_type>(pks));
  }

  // ---- writing ---------------------------------------------------------------------

  /// Inserts `obj` and returns it as stored (with its new primary key). The
  /// repository's filters do not apply, as in Django.
  Model create(const Model& obj) const { return insert(all_values(obj, /*with_auto_pk=*/false)); }

  /// Inserts a new object (auto primary key 0), else updates the row with its primary
  /// key, inserting it if there is none. Sets the key of an inserted object.
  void save(Model& obj) const {
    const ColumnInfo& pk = info().columns[info().pk];
    if (pk.auto_increment && detail::pk_of(obj) == pk_type{}) {
      obj = insert(all_values(obj, false));
      return;
    }
    db_.atomic([&] {
      if (update_by_pk(obj, all_values(obj, true)) == 0) obj = insert(all_values(obj, true));
    });
  }

  /// Deletes obj's row; false if there was none.
  bool remove(const Model& obj) const {
    const Value pk = detail::get_column(obj, info().pk);
    auto w = writer();
    w.text("DELETE FROM ").table().where_pk(pk);
    const bool removed = run(w, [](const Row&) { return true; }) > 0;
    invalidate(pk);
    return removed;
  }

  /// Deletes every matching row (all rows of an unfiltered repository); returns how many.
  std::size_t remove_all() const {
    auto w = writer();
    w.text("DELETE FROM ").table().where({&filters_});
    return run_returning_pks(w);
  }

  /// Sets the assigned columns on every matching row; returns how many rows changed.
  template <class... Rest>
  std::size_t update(const Assignment<Model>& first, const Rest&... rest) const {
    static_assert((std::is_same_v<Rest, Assignment<Model>> && ...),
                  "gocp: update(...) takes assignments on the repository's model: c(&Model::field) = value");
    detail::ColumnValues values;
    for (const Assignment<Model>* a : {&first, &rest...}) detail::assign(values, a->column, a->resolve());
    validate(values);
    auto w = writer();
    w.text("UPDATE ").table().text(" SET ");
    set_list(w, values);
    w.where({&filters_});
    return run_returning_pks(w);
  }

  // ---- get_or_create / update_or_create ----------------------------------------------

  /// Django's get_or_create: the object matching `lookup` (on top of the repository's
  /// filters) and false; else a new object, made of the lookup's `field == value` terms
  /// overlaid by `defaults` (whose callables run only now), and true. The create runs in
  /// a savepoint; if it violates a unique constraint because a concurrent caller won,
  /// the winner's row is read back and returned with false.
  template <class E, class D = Defaults<Model>>
  std::pair<Model, bool> get_or_create(const E& lookup, const D& defaults = {}) const {
    return get_or_create_locked(detail::as_condition<Model>(lookup), detail::as_defaults<Model>(defaults),
                                /*for_update=*/false);
  }

  /// Django's update_or_create: in one transaction, get_or_create with the row locked
  /// (FOR UPDATE where the backend has it) using `create_defaults` (or `defaults` when
  /// none are given) to create; on a hit, set only the fields `defaults` names and save
  /// them. Returns the object as stored, and whether it was created.
  template <class E, class D = Defaults<Model>, class C = detail::SameAsDefaults>
  std::pair<Model, bool> update_or_create(const E& lookup_, const D& defaults_ = {}, const C& create_defaults = {}) const {
    const Expr<Model>& lookup = detail::as_condition<Model>(lookup_);
    const Defaults<Model>& defaults = detail::as_defaults<Model>(defaults_);
    static_assert(std::is_same_v<C, detail::SameAsDefaults> || std::is_same_v<C, CreateDefaults<Model>>,
                  "gocp: update_or_create's third argument is gocp::create_defaults(...) on the repository's model");
    return db_.atomic([&]() -> std::pair<Model, bool> {
      auto result = [&] {
        if constexpr (std::is_same_v<C, detail::SameAsDefaults>) return get_or_create_locked(lookup, defaults, true);
        else return get_or_create_locked(lookup, Defaults<Model>{create_defaults.items}, true);
      }();
      if (result.second || defaults.items.empty()) return result;
      detail::ColumnValues values;
      for (const auto& a : defaults.items) detail::assign(values, a.column, a.resolve());
      validate(values);
      update_by_pk(result.first, values, &result.first);
      return result;
    });
  }

  // ---- policy hooks: public so the host can reach a policy's override ----------------

  /// The create step of get_or_create, inside a savepoint as Django's atomic(); a
  /// policy may override it (NonAtomicGetOrCreate drops the savepoint).
  Model create_for_get_or_create(const detail::ColumnValues& values) const {
    return db_.atomic([&] { return insert(values); });
  }

 protected:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }
  const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }

  /// get() without policies: what the verbs use internally, so a policy that reroutes
  /// get() (AlwaysGetOrCreate) never recurses into itself.
  std::optional<Model> find_one(const Expr<Model>& lookup, bool for_update = false) const {
    auto w = writer();
    w.select_all_columns().where({&filters_, &lookup});
    static const std::string limit = " LIMIT " + std::to_string(detail::max_get_results);
    w.text(limit);
    if (for_update && db_.dialect().supports_for_update) w.text(" FOR UPDATE");
    std::optional<Model> first;
    std::size_t rows = 0;
    run(w, [&](const Row& row) {
      if (rows++ == 0) first = detail::read_object<Model>(row);
      return true;
    });
    if (rows > 1) {
      const std::string count = rows < detail::max_get_results
                                    ? std::to_string(rows)
                                    : "more than " + std::to_string(detail::max_get_results - 1);
      throw MultipleObjectsReturned(
          "get() returned more than one " + std::string(info().name) + " -- it returned " + count + "!", rows);
    }
    return first;
  }

  [[noreturn]] void throw_does_not_exist() const {
    throw DoesNotExist(std::string(info().name) + " matching query does not exist.");
  }

  /// INSERT ... RETURNING every column: the object exactly as the database stored it.
  Model insert(const detail::ColumnValues& given) const {
    detail::ColumnValues values;
    for (std::size_t i = 0; i < info().columns.size(); ++i) {
      if (info().columns[i].default_value.index() != 0)
        values.emplace_back(i, detail::to_value(info().columns[i].default_value));
    }
    for (const auto& [column, v] : given) detail::assign(values, column, v);
    validate(values);
    auto w = writer();
    w.text("INSERT INTO ").table();
    if (values.empty()) {
      w.text(" DEFAULT VALUES");
    } else {
      w.text(" (");
      for (std::size_t k = 0; k < values.size(); ++k) (k ? w.text(", ") : w).column(values[k].first);
      w.text(") VALUES (");
      for (std::size_t k = 0; k < values.size(); ++k) (k ? w.text(", ") : w).param(values[k].second);
      w.text(")");
    }
    returning(w);
    std::optional<Model> stored;
    run(w, [&](const Row& row) {
      stored = detail::read_object<Model>(row);
      return true;
    });
    if (!stored) throw DatabaseError("gocp: INSERT into '" + info().table + "' returned no row");
    invalidate(detail::get_column(*stored, info().pk));  // a manual key may be reused after a delete
    return std::move(*stored);
  }

  /// UPDATE of `values` on obj's row; with `stored`, reads the row back into it.
  std::size_t update_by_pk(const Model& obj, const detail::ColumnValues& values, Model* stored = nullptr) const {
    auto w = writer();
    w.text("UPDATE ").table().text(" SET ");
    if (!set_list(w, values)) w.column(info().pk).text(" = ").column(info().pk);  // a key-only model
    const Value pk = detail::get_column(obj, info().pk);
    w.where_pk(pk);
    if (stored) returning(w);
    const std::size_t changed = run(w, [&](const Row& row) {
      if (stored) *stored = detail::read_object<Model>(row);
      return true;
    });
    if (changed) invalidate(pk);
    return changed;
  }

  /// Makes the cache entries of `pk` stale now and, inside a transaction, again when it
  /// commits: a reader that refilled from the not-yet-committed past in between is
  /// invalidated too. Marks the model written, so the transaction bypasses its cache.
  void invalidate(const Value& pk) const {
    if (!caches_) return;
    caches_->invalidate(pk);
    if (db_.in_transaction()) {
      detail::DatabaseAccess::note_write(db_, &info());
      db_.on_commit([caches = caches_, pk] { caches->invalidate(pk, /*counted=*/false); });
    }
  }

  detail::SqlWriter writer() const { return detail::SqlWriter(db_.dialect(), info()); }

  template <class OnRow>
  std::size_t run(detail::SqlWriter& w, OnRow&& on_row) const {
    detail::StatCounters::bump(stats_->db_queries);
    return db_.with_connection([&](Connection& c) { return c.query(w.sql(), w.params(), on_row); });
  }

  /// Runs a bulk UPDATE / DELETE with `RETURNING pk`, invalidating each row it changed.
  std::size_t run_returning_pks(detail::SqlWriter& w) const {
    w.text(" RETURNING ").column(info().pk);
    std::vector<Value> pks;
    run(w, [&](const Row& row) {
      pks.push_back(detail::read_value(row, 0, info().columns[info().pk].type));
      return true;
    });
    if (caches_)
      for (const Value& pk : pks) invalidate(pk);
    return pks.size();
  }

  Database db_;
  Expr<Model> filters_;
  bool allow_non_unique_ = false;
  std::shared_ptr<detail::StatCounters> stats_ = std::make_shared<detail::StatCounters>();
  std::shared_ptr<const detail::ModelCaches<Model>> caches_;

 private:
  template <class, class>
  friend class RepositoryBase;
  static constexpr std::size_t kInBulkChunk = 500;

  template <class D>
  std::pair<Model, bool> get_or_create_locked(const Expr<Model>& lookup, const D& defaults, bool for_update) const {
    require_unique_lookup(lookup);
    if (auto found = find_one(lookup, for_update)) return {std::move(*found), false};
    detail::ColumnValues values;
    std::vector<std::pair<std::size_t, Value>> terms;
    detail::equality_terms(lookup.nodes(), 0, terms);
    for (auto& [column, v] : terms) detail::assign(values, column, std::move(v));
    for (const auto& a : defaults.items) detail::assign(values, a.column, a.resolve());
    try {
      return {self().create_for_get_or_create(values), true};
    } catch (const IntegrityError&) {
      if (auto found = find_one(lookup, for_update)) return {std::move(*found), false};
      throw;
    }
  }

  /// get_or_create is race-free only when a unique constraint makes the loser's insert
  /// fail: refuse lookups whose `==` terms cover no unique set, unless allowed.
  void require_unique_lookup(const Expr<Model>& lookup) const {
    if (allow_non_unique_) return;
    const std::uint64_t fixed = detail::equality_mask(lookup.nodes());
    for (const auto& set : info().unique_sets) {
      bool covered = true;
      for (std::size_t column : set) covered = covered && column < 64 && (fixed >> column & 1u);
      if (covered) return;
    }
    std::string fields;
    for (std::size_t i = 0; i < info().columns.size() && i < 64; ++i)
      if (fixed >> i & 1u) fields += (fields.empty() ? "" : ", ") + std::string(info().columns[i].name);
    throw ConfigurationError("gocp: get_or_create on '" + std::string(info().name) + "' looks up (" + fields +
                             ") but no unique constraint covers those fields, so two concurrent calls could both "
                             "create. Declare gocp::unique or gocp::unique_together over them, or call "
                             "allow_non_unique_lookups() to accept the race.");
  }

  static auto pk_member() { return std::get<detail::pk_index<Model>>(model<Model>::schema.fields).member; }

  detail::ColumnValues all_values(const Model& obj, bool with_auto_pk) const {
    detail::ColumnValues values;
    for (std::size_t i = 0; i < info().columns.size(); ++i) {
      if (i == info().pk && info().columns[i].auto_increment && !with_auto_pk) continue;
      values.emplace_back(i, detail::get_column(obj, i));
    }
    return values;
  }

  void validate(const detail::ColumnValues& values) const {
    for (const auto& [column, v] : values) detail::validate_value(info(), db_.dialect(), column, v);
  }

  /// ` "a" = ?, "b" = ?` (the primary key is never set); false when nothing was written.
  bool set_list(detail::SqlWriter& w, const detail::ColumnValues& values) const {
    bool any = false;
    for (const auto& [column, v] : values) {
      if (column == info().pk) continue;
      (any ? w.text(", ") : w).column(column).text(" = ").param(v);
      any = true;
    }
    return any;
  }

  void returning(detail::SqlWriter& w) const {
    w.text(" RETURNING ");
    for (std::size_t i = 0; i < info().columns.size(); ++i) (i ? w.text(", ") : w).column(i);
  }
};

namespace detail {

template <class Derived, class Model, class... Policies>
struct policy_chain {
  using type = RepositoryBase<Derived, Model>;
};
template <class Derived, class Model, class P, class... Rest>
struct policy_chain<Derived, Model, P, Rest...> {
  using type = typename P::template mixin<typename policy_chain<Derived, Model, Rest...>::type>;
};

template <class... Ts>
inline constexpr bool all_distinct = true;
template <class T, class... Ts>
inline constexpr bool all_distinct<T, Ts...> = (!std::is_same_v<T, Ts> && ...) && all_distinct<Ts...>;

}  // namespace detail

/// The repository of Model, with Policies mixed in: the first listed is outermost.
template <class Model, class... Policies>
class Repository : public detail::policy_chain<Repository<Model, Policies...>, Model, Policies...>::type {
  static_assert(detail::all_distinct<Policies...>, "gocp::Repository: a policy is listed twice");
  using Base = typename detail::policy_chain<Repository<Model, Policies...>, Model, Policies...>::type;

 public:
  using Base::Base;
};

}  // namespace gocp
