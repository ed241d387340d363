#pragma once
/// \file
/// `gocp::Repository<Model, Policies...>`: the verbs over one model's table, with
/// Django's get_or_create / update_or_create; the host its policies hook (policy.hpp).
///
///     gocp::Repository<Author> authors{db};
///     auto [leo, created] = authors.get_or_create(
///         c(&Author::first_name) == "Leo" && c(&Author::last_name) == "Tolstoy",
///         gocp::defaults(c(&Author::books_in_store) = 0));
///     auto smiths = authors.filter(c(&Author::last_name) == "Smith").all();
///
/// The host is three parts, each about one idea: the QuerySet it holds (what it sees),
/// the Executor that runs the SQL (every write a RowChange on the Database's change
/// stream, which is how caches are invalidated), and the policies' hooks.
/// filter()/exclude()/bind() return a new repository of the same type whose verbs see
/// only the matching rows: lazy, chainable, cheap to copy.

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bulk_create.hpp"
#include "cache/coherence.hpp"
#include "cache/query_cache.hpp"
#include "cache/registry.hpp"
#include "db/database.hpp"
#include "errors.hpp"
#include "executor.hpp"
#include "from_cache.hpp"
#include "grouping.hpp"
#include "model.hpp"
#include "policy.hpp"
#include "query.hpp"
#include "queryset.hpp"
#include "stats.hpp"

namespace gocp {

namespace detail {

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

/// as_condition(), keeping the condition's value category: a temporary condition is
/// moved into the queryset, not copied.
template <class Model, class E>
decltype(auto) forward_condition(E&& condition) {
  if constexpr (std::is_same_v<std::remove_cvref_t<E>, Expr<Model>>) {
    return std::forward<E>(condition);
  } else {
    return as_condition<Model>(condition);  // its static_assert
  }
}

template <class Model, class D>
const std::vector<Assignment<Model>>& as_defaults(const D& defaults) {
  if constexpr (std::is_same_v<D, Defaults<Model>> || std::is_same_v<D, CreateDefaults<Model>>) {
    return defaults.items;
  } else {
    static_assert(always_false<D>, "gocp: these defaults are not gocp::defaults(...) on the repository's model");
    static const std::vector<Assignment<Model>> none;
    return none;
  }
}

/// A Col of Model (any member type).
template <class Model, class K>
inline constexpr bool is_column_of = false;
template <class Model, class X>
inline constexpr bool is_column_of<Model, Col<Model, X>> = true;

/// An order_by() key as the term the QuerySet keeps: an Order of the model, or a column
/// (ascending); anything else stops at one readable static_assert.
template <class Model, class K>
OrderTerm as_order(const K& key) {
  if constexpr (std::is_same_v<K, gocp::Order<Model>>) {
    return key.term();
  } else if constexpr (is_column_of<Model, K>) {
    return key.asc().term();
  } else {
    static_assert(always_false<K>,
                  "gocp: order_by(...) takes keys on the repository's model: c(&Model::field), or its .asc() / "
                  ".desc() (this key is another model's field, or not a column)");
    return {};
  }
}

/// A member for values(...) / values_list(...): of the repository's model, or one
/// readable static_assert.
template <class Model, class T>
constexpr void require_member_of() {
  static_assert(std::is_same_v<T, Model>,
                "gocp: values(...) / values_list(...) take members of the repository's model (this one is "
                "another model's)");
}

template <class... Ts>
inline constexpr bool all_distinct = true;
template <class T, class... Ts>
inline constexpr bool all_distinct<T, Ts...> = (!std::is_same_v<T, Ts> && ...) && all_distinct<Ts...>;

/// What a repository and its filtered copies share: the executor, the counters, the
/// caches, and the policies' instances.
template <class Model, class... Policies>
struct RepositoryShared {
  explicit RepositoryShared(Database db) : executor(std::move(db), std::make_shared<StatCounters>()) {}
  Executor<Model> executor;
  std::shared_ptr<const ModelCaches<Model>> caches;
  std::shared_ptr<const QueryCache> queries;  ///< the `default` alias's query cache, when configured
  std::tuple<Policies...> policies;
};

}  // namespace detail

/// The options of Repository::select_for_update: at most one of them.
struct ForUpdate {
  bool skip_locked = false;  ///< skip the rows another transaction holds locked (FOR UPDATE SKIP LOCKED)
  bool nowait = false;       ///< fail at once, instead of waiting, on a row another transaction holds locked
};

/// The verbs over one model's table, hooked by Policies; see the file comment. A cheap
/// copyable value whose verbs are const: share it between threads once built (the
/// caches and counters it holds are thread-safe). Copies, and the repositories filter()
/// and bind() return, share its policies, caches and counters.
///
/// This primary template is what a type that is not a model gets: one error that says
/// so (a constrained class template would leave the compiler recovering from an invalid
/// type, with errors of its own at every use). Models get the specialisation below.
template <class Model, class... Policies>
class Repository {
  static_assert(ModelType<Model>,
                "gocp::Repository<T>: T is not a model; specialise gocp::model<T> for it (see gocp/model.hpp) "
                "[gocp_model_is_not_specialised_for_this_type]");

 public:
  /// Accepts any arguments, so that the static_assert above is the only error.
  template <class... Args>
  explicit Repository(Args&&...) {}
};

/// The repository of a model: see the primary template's comment and the file comment.
template <class Model, class... Policies>
  requires ModelType<Model>
class Repository<Model, Policies...> {
  static_assert((RepositoryPolicy<Policies> && ...),
                "gocp::Repository: each policy must be a class deriving from gocp::Policy, default constructible "
                "and copyable (see gocp/policy.hpp)");
  static_assert(detail::all_distinct<Policies...>, "gocp::Repository: a policy is listed twice");
  static constexpr bool needs_caches = (PolicyAccess::needs_caches<Policies> || ...);
  static constexpr bool caches_any_get = ((PolicyAccess::cached_gets<Policies> == QueryCacheGets::any_lookup) || ...);
  static constexpr bool caches_unique_gets =
      ((PolicyAccess::cached_gets<Policies> == QueryCacheGets::unique_lookups) || ...);

 public:
  using model_type = Model;                ///< the model whose table this is
  using pk_type = detail::pk_type<Model>;  ///< the primary key member's type: in_bulk's keys

  /// A repository without caches. Its writes still invalidate every cache of the table
  /// that another repository on this Database uses (through the change stream).
  explicit Repository(Database db) : shared_(make_state(std::move(db))) {
    check_policies();
    static_assert(!needs_caches, "gocp::Repository: a policy here needs caches: construct with (db, CacheRegistry)");
    subscribe_policies();
  }

  /// A repository whose model is cached in `caches`: the alias named after the model
  /// holds its objects, `default` (needed by policies that cache lookups) lookup -> pk.
  Repository(Database db, const CacheRegistry& caches) : shared_(make_state(std::move(db))) {
    check_policies();
    if (needs_caches) caches.slot("default");  // throws naming the aliases configured when it is missing
    shared_->caches = std::make_shared<detail::ModelCaches<Model>>(caches, exec().counters(), caches.contains("default"),
                                                                     database().id());
    shared_->caches->subscribe(database().changes());
    if (shared_->caches->process_local()) database().note_process_local_cache();  // says once what it cannot see
    if (caches.contains("default")) {
      shared_->queries = std::make_shared<detail::QueryCache>(caches, exec().counters(), database().id());
      // CachedQueries: this process's writes of the table bump its versions from now on
      // (another process may cache them); other tables are heard from the first cached
      // read that depends on them (a save then reads its row's old values first)
      if constexpr (caches_any_get) shared_->queries->listen(database().changes(), info());
    }
    subscribe_policies();
  }

  /// The database it reads and writes (and whose change stream it listens to).
  const Database& database() const noexcept { return shared_->executor.database(); }
  /// The model's runtime description: table, columns, unique sets.
  const ModelInfo& info() const noexcept { return model_info<Model>(); }
  /// What it sees: its filters, bound values and flags.
  const QuerySet<Model>& queryset() const noexcept { return qs_; }

  /// This repository's counters (shared with its filtered copies).
  Stats stats() const noexcept { return exec().counters()->snapshot(); }

  /// The instance of policy P this repository (and its filtered copies) holds.
  template <class P>
  const P& policy() const noexcept {
    return std::get<P>(shared_->policies);
  }

  /// Creates the table with its constraints if it does not exist (idempotent).
  void create_table() const { exec().create_table(); }

  /// Adds what the model has and the table lacks: the table itself, missing columns
  /// (NOT NULL ones with the default object's value as DEFAULT), missing unique indexes.
  /// Never drops, renames or retypes; see schema.hpp. Returns what it changed.
  SchemaChanges sync_schema() const { return exec().sync_schema(); }

  /// Checks the table against the model now (it is checked anyway before the model's
  /// first statement on this Database): a ConfigurationError names the missing or
  /// mistyped columns and the unique sets without a unique index.
  void check_schema() const { exec().check_schema(); }

  // ---- narrowing -------------------------------------------------------------------

  /// A repository seeing only the rows that match `condition` as well. Each narrowing
  /// verb (filter, exclude, order_by, reverse, limit, offset, distinct, cache, no_cache)
  /// has an overload for a temporary repository, which it changes and moves out: a
  /// fluent chain `links.filter(...).order_by(...).limit(20)` copies the repository once.
  template <class E>
  Repository filter(E&& condition) const& {
    qs_.refuse_if_sliced("filter");
    return Repository(*this).filter(std::forward<E>(condition));
  }
  /// filter(), on a temporary repository.
  template <class E>
  Repository filter(E&& condition) && {
    qs_.refuse_if_sliced("filter");
    qs_.narrow_filter(detail::forward_condition<Model>(std::forward<E>(condition)));
    return std::move(*this);
  }

  /// A repository seeing only the rows for which `condition` is not true (an empty
  /// condition excludes nothing, as Django's exclude(Q())).
  template <class E>
  Repository exclude(const E& condition) const& {
    return Repository(*this).exclude(condition);
  }
  /// exclude(), on a temporary repository.
  template <class E>
  Repository exclude(const E& condition) && {
    qs_.refuse_if_sliced("exclude");
    return std::move(*this).filter(!detail::as_condition<Model>(condition));
  }

  /// A repository with each assigned field bound to its value: reads see only rows
  /// holding it, creates write it, and it counts toward the unique-coverage check (a
  /// related manager: `children.bind(c(&Child::parent_id) = parent.id)`).
  template <class... Rest>
  Repository bind(const Assignment<Model>& first, const Rest&... rest) const {
    static_assert((std::is_same_v<Rest, Assignment<Model>> && ...),
                  "gocp: bind(...) takes assignments on the repository's model: c(&Model::field) = value");
    qs_.refuse_if_sliced("bind");
    QuerySet<Model> qs = qs_;
    for (const Assignment<Model>* a : {&first, &rest...}) {
      if (a->increment)
        throw ConfigurationError("gocp: bind(...) on '" + std::string(info().name) +
                                 "' takes `c(&Model::field) = value`, not += or -=");
      qs = qs.bound_to(a->column, a->resolve());
    }
    return with(std::move(qs));
  }

  /// A repository whose get_or_create / update_or_create accept lookups that no unique
  /// constraint covers. Without a unique constraint two concurrent callers can both
  /// create: use it only where that race is acceptable or impossible. Such lookups are
  /// never answered from a cache (a second matching row must still raise).
  Repository allow_non_unique_lookups() const { return with(qs_.allowing_non_unique()); }

  // ---- the query cache (cache/query_cache.hpp) -----------------------------------------

  /// A repository whose reads (all, first, last, count, exists, values, values_list,
  /// aggregate, get, find) are answered from the query cache of the registry's `default`
  /// alias when a current entry holds them, else from the database, the result then
  /// cached. A result is invalidated by the committed writes that can change it: a write
  /// of a row that, before or after it, holds the value of an equality term of one of the
  /// query's OR-groups; any write of the table for a group with no equality (a range, a
  /// negation, a LIKE, an in() of more than 16 values); writes of a subquery's table as
  /// its own query's. Never cached: select_for_update() reads, and queries of the
  /// registry's never_cache_queries_of() tables. Inside a transaction that wrote a table
  /// the query reads, the database answers. ConfigurationError without a `default` alias.
  ///
  ///     auto recent = links.filter(c(&Link::user_id) == u).order_by(c(&Link::created_at).desc()).limit(20).cache().all();
  Repository cache() const& { return Repository(*this).cache(); }
  /// cache(), on a temporary repository.
  Repository cache() && {
    require_query_cache();
    qs_.narrow_caching(detail::QueryCaching::on, std::nullopt);
    return std::move(*this);
  }

  /// cache(), the result depending on `field`'s versions only (cachebot's cache('user')):
  /// writes that change no row holding the query's value of `field` leave it cached.
  /// Sound only when `field` is fixed by an equality (or an in() of at most 16 values)
  /// joined by && in every OR-group of the query (filters, bound values and a get's
  /// lookup): otherwise the read is a ConfigurationError naming the field.
  template <class T, class A>
  Repository cache(A T::*field) const& {
    return Repository(*this).cache(field);
  }
  /// cache(field), on a temporary repository.
  template <class T, class A>
  Repository cache(A T::*field) && {
    detail::require_member_of<Model, T>();
    require_query_cache();
    qs_.narrow_caching(detail::QueryCaching::on, static_cast<std::uint32_t>(Col<Model, A>(field).index()));
    return std::move(*this);
  }

  /// A repository whose reads never use the query cache (get and find included, on a
  /// CachedQueries repository).
  Repository no_cache() const& { return Repository(*this).no_cache(); }
  /// no_cache(), on a temporary repository.
  Repository no_cache() && {
    qs_.narrow_caching(detail::QueryCaching::off, std::nullopt);
    return std::move(*this);
  }

  // ---- the cached manager (from_cache.hpp) --------------------------------------------

  /// The one row matching `lookup` (and the repository's filters and `options.filters`),
  /// through the query cache under the key `key_template` filled with the lookup's
  /// values (`"article:{slug}"` with `slug == "war"` is `article:war`): a current entry
  /// answers with no query, else one query whose answer is cached — "does not exist"
  /// too (negative caching). Invalidated as every cached read (cache()): by the
  /// committed writes of rows that hold, before or after, the lookup's values. A missing
  /// row is DoesNotExist, or with `options.none_on_error` std::nullopt; several are
  /// MultipleObjectsReturned. A template naming a field the lookup does not fix with an
  /// ==-term is a ConfigurationError naming the field and the template, as is a
  /// repository without a query cache (no `default` alias). The entry's key also holds
  /// every condition exactly, so two calls that fill the template alike but differ in
  /// other terms never share an entry.
  ///
  ///     std::optional<Article> a = articles.from_cache("article:{slug}", c(&Article::slug) == slug,
  ///                                                    {.filters = c(&Article::published) == true});
  template <class E>
  std::optional<Model> from_cache(std::string_view key_template, const E& lookup,
                                  const FromCache<Model>& options = {}) const {
    return from_cache_one(key_template, detail::as_condition<Model>(lookup), options);
  }
  /// from_cache with the lookup's values as text (`{{"id", "42"}}`, gocp::TextLookup): a
  /// value that cannot be its field's type is a ValidationError, or with
  /// `options.none_on_error` std::nullopt (no query, nothing cached).
  std::optional<Model> from_cache(std::string_view key_template, const TextLookup& lookup,
                                  const FromCache<Model>& options = {}) const {
    std::optional<Expr<Model>> expr = detail::text_lookup_expr<Model>(lookup, options.none_on_error);
    if (!expr) return std::nullopt;
    return from_cache_one(key_template, *expr, options);
  }

  /// Every row matching `lookup` (and the filters), in the repository's order and slice,
  /// through the query cache under the filled template, as from_cache; no row is an
  /// empty list (cached too).
  ///
  ///     std::vector<Link> theirs = links.from_cache_list("links:{user_id}", c(&Link::user_id) == u);
  template <class E>
  std::vector<Model> from_cache_list(std::string_view key_template, const E& lookup,
                                     const FromCache<Model>& options = {}) const {
    return from_cache_many(key_template, detail::as_condition<Model>(lookup), options);
  }
  /// from_cache_list with the lookup's values as text; a value that cannot be its
  /// field's type is a ValidationError, or with `options.none_on_error` an empty list.
  std::vector<Model> from_cache_list(std::string_view key_template, const TextLookup& lookup,
                                     const FromCache<Model>& options = {}) const {
    std::optional<Expr<Model>> expr = detail::text_lookup_expr<Model>(lookup, options.none_on_error);
    if (!expr) return {};
    return from_cache_many(key_template, *expr, options);
  }

  // ---- ordering, slicing, distinct, row locks (Django's QuerySet) ----------------------

  /// A repository whose reads come in the order of `keys`, replacing any earlier
  /// ordering (Django's order_by): each key `c(&M::f)` (ascending), `c(&M::f).asc()` or
  /// `c(&M::f).desc()`, optionally `.nulls_first()` / `.nulls_last()`. NULLs sort as the
  /// largest value by default, on every backend (ASC NULLS LAST, DESC NULLS FIRST, as
  /// PostgreSQL). The order is total: when the keys do not include the primary key, it
  /// breaks ties, in the direction of the last key (`created_at DESC, id DESC`: an index
  /// on (user_id, created_at) then serves the whole ORDER BY, as it ends in the key).
  /// No keys: back to the default order, by primary key.
  /// A key on another model's field does not compile; on a sliced repository,
  /// ConfigurationError.
  ///
  ///     auto recent = links.filter(c(&Link::user_id) == u).order_by(c(&Link::created_at).desc()).limit(20).all();
  template <class... Keys>
  Repository order_by(const Keys&... keys) const& {
    return Repository(*this).order_by(keys...);
  }
  /// order_by(), on a temporary repository.
  template <class... Keys>
  Repository order_by(const Keys&... keys) && {
    qs_.narrow_order(std::array<detail::OrderTerm, sizeof...(Keys)>{detail::as_order<Model>(keys)...});
    return std::move(*this);
  }

  /// A repository reading in the opposite order: every key and its NULLs' place flipped,
  /// the primary-key tie-break too (by primary key descending when unordered). Django's
  /// reverse(): an order_by() after it is read reversed as well. ConfigurationError on a
  /// sliced repository.
  Repository reverse() const& { return Repository(*this).reverse(); }
  /// reverse(), on a temporary repository.
  Repository reverse() && {
    qs_.narrow_reverse();
    return std::move(*this);
  }

  /// A repository seeing at most the first `n` rows of this one's result (Django's
  /// qs[:n]); slices compose as Django's slices of a slice. The bound is a bound
  /// parameter (the statement stays prepared whatever `n` is). ValidationError naming
  /// the bound when it is negative or the slice would end past the largest int64.
  /// A sliced repository refuses filter, exclude, bind, order_by, reverse, distinct,
  /// update, remove_all, get, find, get_or_create, update_or_create, in_bulk and last.
  Repository limit(std::int64_t n) const& { return Repository(*this).limit(n); }
  /// limit(), on a temporary repository.
  Repository limit(std::int64_t n) && {
    qs_.narrow_limit(n);
    return std::move(*this);
  }

  /// A repository skipping the first `m` rows of this one's result (Django's qs[m:]);
  /// errors and refusals as limit().
  Repository offset(std::int64_t m) const& { return Repository(*this).offset(m); }
  /// offset(), on a temporary repository.
  Repository offset(std::int64_t m) && {
    qs_.narrow_offset(m);
    return std::move(*this);
  }

  /// A repository whose reads are SELECT DISTINCT: with values(...), each distinct
  /// combination of the selected fields once. Such a read may be ordered only by the
  /// fields it selects (ConfigurationError naming the field otherwise), and its ties are
  /// broken by the selected fields instead of the primary key.
  Repository distinct() const& { return Repository(*this).distinct(); }
  /// distinct(), on a temporary repository.
  Repository distinct() && {
    qs_.narrow_distinct();
    return std::move(*this);
  }

  /// A repository whose reads (all, first, last, values, values_list, get, find,
  /// get_or_create, in_bulk) lock the rows they return until the transaction ends:
  /// SELECT ... FOR UPDATE [SKIP LOCKED | NOWAIT] on PostgreSQL. Reading outside a
  /// transaction is a TransactionManagementError (as Django). On SQLite, which has no
  /// row locks, a plain select_for_update() adds nothing to the SQL and is still exact:
  /// gocp's SQLite transactions begin IMMEDIATE, so the transaction already holds the
  /// database's write lock and no other writer can change the rows it read until it
  /// ends; `skip_locked` / `nowait` are NotSupportedError there. Both at once is a
  /// ConfigurationError. count() and exists() lock nothing; a read with distinct() is
  /// refused (PostgreSQL has no FOR UPDATE with DISTINCT).
  Repository select_for_update(ForUpdate options = {}) const {
    if (options.skip_locked && options.nowait)
      throw ConfigurationError("gocp: select_for_update on '" + std::string(info().name) +
                               "': skip_locked and nowait cannot both be set");
    return with(qs_.locking(options.skip_locked ? detail::LockMode::skip_locked
                            : options.nowait    ? detail::LockMode::nowait
                                                : detail::LockMode::plain));
  }

  // ---- reading ---------------------------------------------------------------------

  /// The one row matching `lookup` (and the repository's filters). Throws DoesNotExist
  /// when none does and MultipleObjectsReturned when several do.
  template <class E>
  Model get(const E& lookup_) const {
    qs_.refuse_if_sliced("get");
    const Expr<Model>& lookup = detail::as_condition<Model>(lookup_);
    if (auto found = get_one(lookup)) return std::move(*found);
    std::optional<Model> instead;
    for_each_policy([&](const auto& p) {
      if (!instead) instead = PolicyAccess::missing(p, *this, lookup);
    });
    if (instead) return std::move(*instead);
    throw DoesNotExist(std::string(info().name) + " matching query does not exist.");
  }

  /// Like get(), but a missing row is std::nullopt. Several rows still throw.
  template <class E>
  std::optional<Model> find(const E& lookup) const {
    qs_.refuse_if_sliced("find");
    return get_one(detail::as_condition<Model>(lookup));
  }

  /// Every matching row, in the repository's order (by primary key when it has none),
  /// within its slice.
  std::vector<Model> all() const {
    if (caches_reads()) return cached_read<std::vector<Model>>(qs_, 'a', nullptr, {}, [&] { return exec().all(qs_); });
    return exec().all(qs_);
  }
  /// all(), as one immutable list shared rather than copied: after cache(), a hit hands
  /// out the cached result itself (no row is copied, whatever its size), and a miss the
  /// database's rows, which the cache then shares. The list stays valid, and unchanged,
  /// for as long as the pointer is held, even after a write invalidates it (the next
  /// read then gets a new list). Without cache(), all() in a new shared list.
  ///
  ///     std::shared_ptr<const std::vector<Link>> recent =
  ///         links.filter(c(&Link::user_id) == u).order_by(c(&Link::created_at).desc()).limit(20).cache().all_shared();
  std::shared_ptr<const std::vector<Model>> all_shared() const {
    if (caches_reads())
      return cached_read<std::vector<Model>, std::shared_ptr<const std::vector<Model>>>(
          qs_, 'a', nullptr, {}, [&] { return exec().all(qs_); });
    return std::make_shared<const std::vector<Model>>(exec().all(qs_));
  }
  /// The matching rows, as all() reads them, one at a time: a single-pass range over an
  /// open cursor that holds one connection until the loop ends, breaks or the range is
  /// destroyed (inside a transaction, the transaction's connection; see object_cursor.hpp
  /// for what that allows). Never answered from a cache.
  ///
  ///     for (const Link& link : links.filter(c(&Link::clicks) > 0).iterate()) export_row(link);
  ObjectCursor<Model> iterate() const { return exec().iterate(qs_); }
  /// How many rows match (SELECT COUNT(*); no row is read); of a sliced repository, how
  /// many its slice holds.
  std::size_t count() const {
    if (caches_reads()) return cached_read<std::size_t>(qs_, 'c', nullptr, {}, [&] { return exec().count(qs_); });
    return exec().count(qs_);
  }
  /// Whether any row matches (reads at most one); of a sliced repository, whether its
  /// slice holds one.
  bool exists() const {
    if (caches_reads()) return cached_read<bool>(qs_, 'e', nullptr, {}, [&] { return exec().exists(qs_); });
    return exec().exists(qs_);
  }

  /// The first matching row in the repository's order (by primary key when it has none)
  /// and slice, or std::nullopt when there is none (Django's first()): one query.
  std::optional<Model> first() const { return first_of(qs_); }

  /// The last matching row in the repository's order (by primary key when it has none),
  /// or std::nullopt: first() of reverse(). ConfigurationError on a sliced repository
  /// (as Django's, which cannot reverse a slice).
  std::optional<Model> last() const {
    qs_.refuse_if_sliced("last");
    return first_of(qs_.reversed());
  }

  /// The listed fields of every matching row (filters, order, slice, distinct()) as
  /// tuples of the members' own types, reading only those columns (Django's values_list):
  ///
  ///     std::vector<std::tuple<std::int64_t, std::string>> rows = links.values(&Link::id, &Link::url);
  ///
  /// A std::optional member stays optional (NULL is nullopt). A member of another model
  /// does not compile.
  template <class... Ts, class... As>
  std::vector<std::tuple<As...>> values(As Ts::*... members) const {
    static_assert(sizeof...(As) > 0, "gocp: values(...) needs at least one member");
    (detail::require_member_of<Model, Ts>(), ...);
    if constexpr ((std::is_same_v<Ts, Model> && ...)) {
      const std::array<std::uint32_t, sizeof...(As)> columns{static_cast<std::uint32_t>(Col<Model, As>(members).index())...};
      const auto read = [&] { return exec().template values<As...>(qs_, columns); };
      if (caches_reads()) return cached_read<std::vector<std::tuple<As...>>>(qs_, 'v', nullptr, columns, read);
      return read();
    } else {
      return {};
    }
  }

  /// One field of every matching row, flat (Django's values_list(field, flat=True)):
  /// `std::vector<std::string> urls = links.values_list(&Link::url);`. As values().
  template <class T, class A>
  std::vector<A> values_list(A T::*member) const {
    detail::require_member_of<Model, T>();
    if constexpr (std::is_same_v<T, Model>) {
      const std::uint32_t column[] = {static_cast<std::uint32_t>(Col<Model, A>(member).index())};
      const auto read = [&] { return exec().template values_list<A>(qs_, column[0]); };
      if (caches_reads()) return cached_read<std::vector<A>>(qs_, 'V', nullptr, column, read);
      return read();
    } else {
      return {};
    }
  }

  /// The matching rows whose primary key is in `pks`, keyed by primary key. On a
  /// repository with caches, the objects alias answers what it holds current (every
  /// entry and generation in one read; the repository's filters checked on each) and
  /// the database the rest, in one query, whose rows are then cached (outside a
  /// transaction); inside a transaction that wrote the table, only the database. A
  /// repository filtered by a subquery asks only the database, in one query: whether a
  /// cached object still matches depends on another table, which memory cannot read.
  /// A sliced repository refuses it (ConfigurationError); one with select_for_update
  /// reads and locks the rows in the database, past the caches.
  template <class R>
  std::unordered_map<pk_type, Model> in_bulk(const R& pks) const {
    qs_.refuse_if_sliced("in_bulk");
    if (!shared_->caches || qs_.lock() != detail::LockMode::none || detail::DatabaseAccess::wrote(database(), &info()) ||
        detail::reads_other_tables(qs_.scope().nodes()))
      return exec().in_bulk(qs_, pks);
    database().catch_up();  // other processes' writes invalidate first (SQLite ?watch=)
    std::vector<pk_type> distinct;
    std::vector<Value> values;
    {
      std::unordered_set<pk_type> seen;
      for (const auto& pk : pks)
        if (seen.insert(pk).second) {
          distinct.push_back(pk);
          values.push_back(column_traits<pk_type>::to_value(distinct.back()));
        }
    }
    std::unordered_map<pk_type, Model> out;
    out.reserve(distinct.size());
    shared_->caches->in_bulk(
        values, qs_.scope(), database().dialect(), !database().in_transaction(),
        [&](std::span<const std::size_t> missing, auto&& each) {
          if (missing.empty()) return;
          std::vector<pk_type> ask;
          ask.reserve(missing.size());
          for (std::size_t i : missing) ask.push_back(distinct[i]);
          for (auto& [pk, obj] : exec().in_bulk(qs_, ask)) each(std::move(obj));
        },
        [&](Model&& obj) {
          auto pk = detail::pk_of(obj);
          out.emplace(std::move(pk), std::move(obj));
        });
    return out;
  }
  /// `in_bulk({1, 2, 3})`: the same, for a braced list (through the caches too).
  std::unordered_map<pk_type, Model> in_bulk(std::initializer_list<pk_type> pks) const {
    return in_bulk(std::vector<pk_type>(pks));
  }

  /// The cached manager's objects_by_pks: the matching rows whose primary keys are
  /// `pks`, in the order given — an empty slot for a pk with no such row, a pk given
  /// twice answered twice. Read as in_bulk() reads: on a repository with caches, one read
  /// of the objects alias for every distinct pk (one MGET on Redis, one multi-get on
  /// memcached), then one `IN` query for all the pks it could not answer, whose rows are
  /// cached; without caches, one `IN` query. (A statement binds at most the connection's
  /// parameter limit: past it, one query per slice of pks that fits.)
  ///
  ///     std::vector<std::optional<Link>> feed = links.objects_by_pks(std::vector<std::int64_t>{7, 3, 7, 99});
  ///     // feed[0] and feed[2] are link 7, feed[1] link 3, feed[3] empty (no link 99)
  template <class R>
  std::vector<std::optional<Model>> objects_by_pks(const R& pks) const {
    std::unordered_map<pk_type, Model> found = in_bulk(pks);
    std::vector<std::optional<Model>> out;
    for (const auto& pk : pks) {
      const auto it = found.find(pk);
      out.push_back(it == found.end() ? std::optional<Model>{} : std::optional<Model>{it->second});
    }
    return out;
  }
  /// `objects_by_pks({7, 3, 7})`: the same, for a braced list.
  std::vector<std::optional<Model>> objects_by_pks(std::initializer_list<pk_type> pks) const {
    return objects_by_pks(std::vector<pk_type>(pks));
  }

  // ---- aggregates (grouping.hpp, aggregates.hpp) -------------------------------------

  /// One row of aggregates over the matching rows, computed in the database in one
  /// statement: `auto [n, total] = links.aggregate(gocp::count(), gocp::sum(&Link::clicks));`.
  /// Each element is typed from its aggregate (see gocp/aggregates.hpp): over no row a sum,
  /// avg, min or max is std::nullopt and a count 0. Answered from the query cache after cache().
  template <class A, class... More>
  std::tuple<typename A::result_type, typename More::result_type...> aggregate(const A& first, const More&... more) const {
    static_assert(detail::aggregates_of<Model, A, More...>,
                  "gocp: aggregate(...): an aggregate over a field of another model than the repository's");
    const auto read = [&] { return detail::aggregate_row(exec(), qs_, std::tuple<A, More...>(first, more...)); };
    if (!caches_reads()) return read();
    std::vector<std::uint32_t> specs;  // what the key says of each aggregate
    for (const detail::AggregateSpec* s : {&first.spec(), &more.spec()...})
      specs.insert(specs.end(), {static_cast<std::uint32_t>(s->function), s->column, s->rows, s->distinct, s->integer});
    return cached_read<std::tuple<typename A::result_type, typename More::result_type...>>(qs_, 'A', nullptr, specs, read);
  }

  /// The matching rows grouped by the values of `keys` (members of the model), as a lazy
  /// GroupedQuery: `links.group_by(&Link::user_id).aggregate(gocp::count()).all()` is one
  /// row per user, ordered by the keys. The repository's filters apply before grouping.
  template <class... P>
  detail::grouped_by<Model, P...> group_by(P... keys) const {
    return detail::group_rows_by(exec(), qs_, keys...);
  }

  // ---- writing ---------------------------------------------------------------------

  /// Inserts `obj` (with its primary key, when it sets one — as Django's create(id=42))
  /// and returns it as stored. The repository's bound values are written; its filters
  /// do not apply, as in Django.
  Model create(const Model& obj) const { return counted(exec().insert(with_bound(obj))); }

  /// Django's bulk_create: inserts `objs` and returns them as stored, with their
  /// primary keys, in the order given. A row whose auto primary key is 0 gets one from
  /// the database; a row that sets its key keeps it. The repository's bound values are
  /// written into every row and the auto_now fields stamped (one time for the call), as
  /// create() does. Every value of every row is validated first: a ValidationError
  /// names the row's index in `objs` and the field, and nothing is written.
  ///
  /// The rows are written by one multi-row `INSERT ... RETURNING` per batch
  /// (`options.batch_size` rows; by default as many as one statement can bind), the rows
  /// that set their key in batches of their own, all in one transaction (a savepoint
  /// inside the caller's): a constraint violation anywhere is an IntegrityError and
  /// nothing of the call is written. `options.ignore_conflicts` skips a row that
  /// conflicts with a unique constraint instead (it comes back exactly as given, its
  /// key unset); `options.update_conflicts` updates the row it conflicts with (Django
  /// 4.1's upsert; two rows of one call with the same unique key are a ValidationError).
  /// Every row written is a RowChange, so every cache of the table hears of it.
  ///
  ///     auto stored = links.bulk_create(new_links);
  ///     tags.bulk_create(rows, {.update_conflicts = gocp::update_conflicts(
  ///                                 gocp::unique_fields(&Tag::name), gocp::update_fields(&Tag::uses))});
  std::vector<Model> bulk_create(std::span<const Model> objs, const BulkCreate<Model>& options = {}) const {
    std::size_t written = 0;
    std::vector<Model> stored = exec().bulk_insert(objs, qs_.bound(), options, written);
    count_invalidations(written);
    return stored;
  }
  /// `bulk_create({a, b, c})`: the same, for a braced list.
  std::vector<Model> bulk_create(std::initializer_list<Model> objs, const BulkCreate<Model>& options = {}) const {
    return bulk_create(std::span<const Model>(objs.begin(), objs.size()), options);
  }

  /// Inserts a new object (auto primary key 0), else updates the row with its primary
  /// key, inserting it if there is none. `obj` becomes the row as stored (its key, when
  /// inserted; its auto_now fields' time).
  void save(Model& obj) const {
    const ColumnInfo& pk = info().columns[info().pk];
    if (pk.auto_increment && detail::pk_of(obj) == pk_type{}) {
      obj = counted(exec().insert(obj));
      return;
    }
    // An existing row (the usual case): one UPDATE, which needs no transaction of its
    // own (its change is emitted once it has run). obj becomes the row as stored (an
    // auto_now field's new time included).
    if (exec().update_object(obj)) {
      count_invalidations(1);
      return;
    }
    // No row had the key: the update and the insert in one transaction, so that a
    // concurrent save of the same new key updates the row the other inserted.
    database().atomic([&] {
      if (!exec().update_object(obj)) obj = exec().insert(obj);
      count_invalidations(1);
    });
  }

  /// Deletes obj's row; false if there was none.
  bool remove(const Model& obj) const {
    const bool removed = exec().delete_row(detail::get_column(obj, info().pk));
    count_invalidations(removed);
    return removed;
  }

  /// Deletes every matching row (all rows of an unfiltered repository); returns how many.
  /// ConfigurationError on a sliced repository (Django refuses a delete with limit/offset).
  std::size_t remove_all() const {
    qs_.refuse_if_sliced("remove_all");
    return count_invalidations(exec().delete_where(qs_));
  }

  /// Sets the assigned columns on every matching row; returns how many rows changed.
  /// Assigning the primary key moves the row, as Django's update(id=...).
  /// ConfigurationError on a sliced repository (as Django's "cannot update a query once
  /// a slice has been taken").
  template <class... Rest>
  std::size_t update(const Assignment<Model>& first, const Rest&... rest) const {
    static_assert((std::is_same_v<Rest, Assignment<Model>> && ...),
                  "gocp: update(...) takes assignments on the repository's model: c(&Model::field) = value");
    qs_.refuse_if_sliced("update");
    detail::ColumnValues values;
    for (const Assignment<Model>* a : {&first, &rest...}) detail::assign(values, a->column, a->resolve(), a->increment);
    return count_invalidations(exec().update_where(qs_, values));
  }

  // ---- get_or_create / update_or_create ----------------------------------------------

  /// Django's get_or_create: the object matching `lookup` (on top of the repository's
  /// filters and bound values) and false; else a new object — the model's default
  /// object, the bound values, the lookup's `field == value` terms, then `defaults`
  /// (whose callables run only now: before the create's transaction begins, or, in the
  /// caller's transaction, inside the create's savepoint) — and true. If the
  /// create violates a unique constraint because a concurrent caller won, the winner's
  /// row is read back and returned with false.
  template <class E, class D = Defaults<Model>>
  std::pair<Model, bool> get_or_create(const E& lookup_, const D& defaults = {}) const {
    qs_.refuse_if_sliced("get_or_create");
    const Expr<Model>& lookup = detail::as_condition<Model>(lookup_);
    const bool covered = require_unique_lookup(lookup);
    CallStates states;
    // One named result, returned once: a policy's answer and the database's row are both
    // written where the caller wants them, and nothing is moved.
    std::pair<Model, bool> result{};
    bool answered = false;
    // a read that must lock its row goes to the database: a cached answer locks nothing
    if (covered && qs_.lock() == detail::LockMode::none) {
      for_each_policy_with_state(states, [&](const auto& p, auto& state) {
        if (!answered) answered = PolicyAccess::lookup(p, *this, lookup, result.first, state);
      });
    }
    if (answered) return result;
    get_or_create_from_database(result, lookup, detail::as_defaults<Model>(defaults), /*for_update=*/false);
    if (covered) after_read(lookup, result, states);
    return result;
  }

  /// Django's update_or_create: in one transaction, get_or_create with the row locked
  /// (FOR UPDATE where the backend has it) using `create_defaults` (or `defaults` when
  /// none are given) to create; on a hit, set only the fields `defaults` names and save
  /// them. Returns the object as stored, and whether it was created.
  template <class E, class D = Defaults<Model>, class C = detail::SameAsDefaults>
  std::pair<Model, bool> update_or_create(const E& lookup_, const D& defaults_ = {}, const C& create_defaults = {}) const {
    static_assert(std::is_same_v<C, detail::SameAsDefaults> || std::is_same_v<C, CreateDefaults<Model>>,
                  "gocp: update_or_create's third argument is gocp::create_defaults(...) on the repository's model");
    qs_.refuse_if_sliced("update_or_create");
    const Expr<Model>& lookup = detail::as_condition<Model>(lookup_);
    const auto& defaults = detail::as_defaults<Model>(defaults_);
    const bool covered = require_unique_lookup(lookup);
    auto result = database().atomic([&]() -> std::pair<Model, bool> {
      std::pair<Model, bool> got{};
      if constexpr (std::is_same_v<C, detail::SameAsDefaults>) get_or_create_from_database(got, lookup, defaults, true);
      else get_or_create_from_database(got, lookup, create_defaults.items, true);
      if (got.second || defaults.empty()) return got;
      detail::ColumnValues values;
      for (const auto& a : defaults) detail::assign(values, a.column, a.resolve(), a.increment);
      exec().update_row(detail::get_column(got.first, info().pk), values, &got.first);
      count_invalidations(1);
      return got;
    });
    CallStates states;
    if (covered) after_read(lookup, result, states);
    return result;
  }

 private:
  friend class PolicyAccess;
  using Shared = detail::RepositoryShared<Model, Policies...>;
  using CallStates = std::tuple<typename detail::call_state_of<Policies>::type...>;

  /// What must hold across the policies, checked where Repository is complete.
  static constexpr void check_policies() {
    static_assert((0 + ... + PolicyAccess::has_create<Policies, Repository, Model>) <= 1,
                  "gocp::Repository: two policies both claim the create step (e.g. NonAtomicGetOrCreate and another "
                  "create hook); keep one");
  }

  static std::shared_ptr<Shared> make_state(Database db) {
    static_cast<void>(schema_hash<Model>);  // the schema's static_asserts, at the first use
    return std::make_shared<Shared>(std::move(db));
  }

  /// This repository seeing `qs`: the queryset is moved in, never copied and then
  /// overwritten (bind, select_for_update and allow_non_unique_lookups make one per call;
  /// the other narrowing verbs narrow a temporary in place).
  Repository with(QuerySet<Model> qs) const { return Repository(std::move(qs), shared_); }
  Repository(QuerySet<Model> qs, std::shared_ptr<Shared> shared) : qs_(std::move(qs)), shared_(std::move(shared)) {}

  const Executor<Model>& exec() const noexcept { return shared_->executor; }

  /// Policies with an on_change hook see every change of the table, from any
  /// repository, for as long as this repository or one of its copies lives.
  void subscribe_policies() {
    if constexpr ((PolicyAccess::has_on_change<Policies> || ...)) {
      const Shared* shared = shared_.get();
      database().changes().subscribe_keyed(info().table, shared, shared_, [shared](const RowChange& change) {
        std::apply(
            [&](const auto&... p) {
              auto deliver = [&](const auto& policy) {
                if constexpr (PolicyAccess::has_on_change<std::remove_cvref_t<decltype(policy)>>)
                  PolicyAccess::on_change(policy, change);
              };
              (deliver(p), ...);
            },
            shared->policies);
      });
    }
  }

  template <class F>
  void for_each_policy(F&& fn) const {
    std::apply([&](const auto&... p) { (fn(p), ...); }, shared_->policies);
  }

  template <class F>
  void for_each_policy_with_state(CallStates& states, F&& fn) const {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (fn(std::get<I>(shared_->policies), std::get<I>(states)), ...);
    }(std::index_sequence_for<Policies...>{});
  }

  void after_read(const Expr<Model>& lookup, const std::pair<Model, bool>& result, CallStates& states) const {
    for_each_policy_with_state(states, [&](const auto& p, auto& state) {
      PolicyAccess::after_read(p, *this, lookup, result.first, result.second, state);
    });
  }

  /// The database's get_or_create, into `result` (read in place: a found row moves no
  /// object; whatever `result` held is overwritten).
  void get_or_create_from_database(std::pair<Model, bool>& result, const Expr<Model>& lookup,
                                   const std::vector<Assignment<Model>>& defaults, bool for_update) const {
    result.second = false;
    if (exec().find_into(result.first, qs_, lookup, for_update)) return;
    std::vector<Assignment<Model>> resolved;
    const PendingCreate<Model> pending(qs_, lookup, callables_called_outside_transaction(defaults, resolved));
    try {
      create_step(pending, result.first);
      count_invalidations(1);
      result.second = true;
    } catch (const IntegrityError&) {
      if (!exec().find_into(result.first, qs_, lookup, for_update)) throw;
    }
  }

  /// `defaults`, or, when they hold callables and the caller is in no transaction, a copy
  /// in `resolved` with each callable called now: before the create's transaction
  /// begins, as under Django's deferred BEGIN. SQLite's BEGIN IMMEDIATE takes the
  /// database's one write lock; user code run under it would make a concurrent creator
  /// wait, and fail after its busy timeout instead of reading the winner's row. The cost:
  /// a callable's own writes are not undone when the create then fails. In the caller's
  /// transaction the callables run inside the create's savepoint, as before.
  const std::vector<Assignment<Model>>& callables_called_outside_transaction(
      const std::vector<Assignment<Model>>& defaults, std::vector<Assignment<Model>>& resolved) const {
    const bool callables = std::any_of(defaults.begin(), defaults.end(), [](const auto& a) { return bool(a.lazy); });
    if (!callables || database().in_transaction()) return defaults;
    resolved = defaults;
    for (auto& a : resolved)
      if (a.lazy) {
        a.value = a.lazy();
        a.lazy = nullptr;
      }
    return resolved;
  }

  /// The create step into `out`: the policy's that claims it, else `pending` inserted
  /// in its own savepoint and read straight into `out`.
  void create_step(const PendingCreate<Model>& pending, Model& out) const {
    if constexpr ((PolicyAccess::has_create<Policies, Repository, Model> || ...)) {
      for_each_policy([&](const auto& p) {
        if constexpr (PolicyAccess::has_create<std::remove_cvref_t<decltype(p)>, Repository, Model>)
          out = PolicyAccess::create(p, *this, pending);
      });
    } else {
      database().atomic([&] {
        detail::CreateRow row;
        pending.row(row);
        exec().insert_row_into(out, row.values);
      });
    }
  }

  /// get_or_create is race-free only when a unique constraint makes the loser's insert
  /// fail: refuse lookups whose `==` terms (with the bound values) cover no unique set,
  /// unless allowed. Returns whether the lookup is covered.
  bool require_unique_lookup(const Expr<Model>& lookup) const {
    if (qs_.fixes_a_unique_set(lookup)) return true;
    if (qs_.allows_non_unique()) return false;
    const std::uint64_t fixed = qs_.fixed_columns(lookup);
    std::string fields;
    for (std::size_t i = 0; i < info().columns.size() && i < 64; ++i)
      if (fixed >> i & 1u) fields += (fields.empty() ? "" : ", ") + std::string(info().columns[i].name);
    const bool has_or = std::any_of(lookup.nodes().begin(), lookup.nodes().end(),
                                    [](const detail::Node& n) { return n.op == detail::Op::or_; });
    throw ConfigurationError(
        "gocp: get_or_create on '" + std::string(info().name) + "' looks up (" + fields +
        ") but no unique constraint covers those fields, so two concurrent calls could both create" +
        (has_or ? " (a term under || fixes no field: look up one alternative at a time)" : "") +
        ". `field == value` terms joined by && fix fields (`== std::nullopt` fixes none: a UNIQUE constraint "
        "admits many NULLs). Declare gocp::unique or gocp::unique_together over them, or call "
        "allow_non_unique_lookups() to accept the race.");
  }

  std::optional<Model> from_cache_one(std::string_view key_template, const Expr<Model>& lookup,
                                      const FromCache<Model>& options) const {
    qs_.refuse_if_sliced("from_cache");
    const std::string name = detail::fill_key_template(key_template, info(), lookup.nodes());
    require_query_cache("from_cache");
    const QuerySet<Model> qs = options.filters.empty() ? qs_ : qs_.filtered(options.filters);
    const auto read = [&] { return exec().get_one(qs, lookup); };
    std::optional<Model> found = qs.lock() == detail::LockMode::none
                                     ? cached_read<std::optional<Model>>(qs, 'k', &lookup, {}, read, name)
                                     : read();
    if (!found && !options.none_on_error)
      throw DoesNotExist(std::string(info().name) + " matching query does not exist (from_cache \"" + name + "\").");
    return found;
  }

  std::vector<Model> from_cache_many(std::string_view key_template, const Expr<Model>& lookup,
                                     const FromCache<Model>& options) const {
    const std::string name = detail::fill_key_template(key_template, info(), lookup.nodes());
    require_query_cache("from_cache_list");
    const QuerySet<Model> qs = qs_.filtered(options.filters.empty() ? lookup : lookup && options.filters);
    const auto read = [&] { return exec().all(qs); };
    if (qs.lock() != detail::LockMode::none) return read();
    return cached_read<std::vector<Model>>(qs, 'K', nullptr, {}, read, name);
  }

  /// ConfigurationError when the repository has no query cache (no `default` alias).
  void require_query_cache(std::string_view verb = "cache()") const {
    if (!shared_->queries)
      throw ConfigurationError("gocp: " + std::string(verb) + " on '" + std::string(info().name) +
                               "' needs a repository built with a CacheRegistry that has a 'default' alias (it holds "
                               "the query cache)");
  }

  /// Whether all/first/count/... use the query cache: after cache(), unless rows are locked.
  bool caches_reads() const noexcept {
    return qs_.caching() == detail::QueryCaching::on && qs_.lock() == detail::LockMode::none;
  }

  /// Whether get/find of `lookup` use the query cache: as cache() / no_cache() say, else
  /// as the policies' cached_gets do while the registry caches gets (cache_gets()).
  bool caches_get(const Expr<Model>& lookup) const {
    if (!shared_->queries || qs_.lock() != detail::LockMode::none || qs_.caching() == detail::QueryCaching::off)
      return false;
    if (qs_.caching() == detail::QueryCaching::on) return true;
    if (!shared_->queries->caches_gets()) return false;
    if (caches_any_get) return true;
    if constexpr (caches_unique_gets) return qs_.fixes_a_unique_set(lookup);
    return false;
  }

  /// The one row matching `lookup`, from the query cache when caches_get() says so.
  std::optional<Model> get_one(const Expr<Model>& lookup) const {
    if constexpr (caches_any_get || caches_unique_gets) {
      if (caches_get(lookup))
        return cached_read<std::optional<Model>>(qs_, 'g', &lookup, {}, [&] { return exec().get_one(qs_, lookup); });
    } else if (qs_.caching() == detail::QueryCaching::on && caches_get(lookup)) {
      return cached_read<std::optional<Model>>(qs_, 'g', &lookup, {}, [&] { return exec().get_one(qs_, lookup); });
    }
    return exec().get_one(qs_, lookup);
  }

  std::optional<Model> first_of(const QuerySet<Model>& qs) const {
    if (caches_reads()) return cached_read<std::optional<Model>>(qs, 'f', nullptr, {}, [&] { return exec().first(qs); });
    return exec().first(qs);
  }

  /// `read()`'s result for the query `qs` (and a get's `lookup`) with verb `verb` and
  /// `extra` (its selected columns, its aggregates), through the query cache: its exact
  /// key, and the versions it depends on (cache/detail/query_dependencies.hpp).
  /// `Out` is R, or std::shared_ptr<const R> (all_shared()).
  template <class R, class Out = R, class Read>
  Out cached_read(const QuerySet<Model>& qs, char verb, const Expr<Model>* lookup, std::span<const std::uint32_t> extra,
                  const Read& read, std::string_view name = {}) const {
    namespace qb = detail::query_bytes;
    thread_local std::string key;
    key.assign(detail::table_prefix(info(), database().id()));  // the database, model and schema
    qb::Appender out(key);
    out += verb;
    if (!name.empty()) {  // from_cache's filled template, readable at the head of the key
      qb::put_varint(out, name.size());
      out += name;
    }
    qb::put_nodes(out, qs.scope().nodes());
    qb::put_nodes(out, lookup ? lookup->nodes() : std::span<const detail::Node>{});
    qb::put_varint(out, qs.ordering().size());
    for (const detail::OrderTerm& t : qs.ordering())
      qb::put_varint(out, std::uint64_t{t.column} << 2 | std::uint64_t{t.descending} << 1 | std::uint64_t{t.nulls_first});
    qb::put_varint(out, std::uint64_t{qs.order_reversed()} | std::uint64_t{qs.is_distinct()} << 1 |
                         std::uint64_t{qs.slice().high.has_value()} << 2);
    qb::put_varint(out, static_cast<std::uint64_t>(qs.slice().low));
    qb::put_varint(out, static_cast<std::uint64_t>(qs.slice().high.value_or(0)));
    qb::put_varint(out, qs.cache_field() ? std::uint64_t{*qs.cache_field()} + 1 : 0);  // its versions differ
    qb::put_varint(out, extra.size());
    for (std::uint32_t x : extra) qb::put_varint(out, x);
    out.flush();
    // a get's dependencies are those of the filters && the lookup together
    Expr<Model> combined;
    const auto dependencies = [&]() -> const detail::Dependencies& {
      std::span<const detail::Node> nodes = qs.scope().nodes();
      if (lookup && !lookup->empty()) {
        combined = qs.scope() && *lookup;
        nodes = combined.nodes();
      }
      thread_local detail::Dependencies deps;  // its buffers stay warm; read() runs no other cached read
      detail::query_dependencies_of(info(), nodes, qs.cache_field(), deps);
      return deps;
    };
    if constexpr (std::is_same_v<Out, R>)
      return shared_->queries->template read<R>(database(), info(), key, dependencies, read);
    else
      return shared_->queries->template read_shared<R>(database(), info(), key, dependencies, read);
  }

  Model with_bound(Model obj) const {
    for (const auto& [column, v] : qs_.bound()) detail::set_column(obj, column, v);
    return obj;
  }

  Model counted(Model obj) const {
    count_invalidations(1);
    return obj;
  }
  std::size_t count_invalidations(std::size_t n) const {
    if (shared_->caches) shared_->caches->count_invalidations(n);
    return n;
  }

  QuerySet<Model> qs_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace gocp
