#pragma once
/// \file
/// How a policy hooks a `Repository<Model, Policies...>`: a closed set of named hooks,
/// each optional, called by the host through `gocp::PolicyAccess` (as Boost's
/// `iterator_core_access`), so a policy may keep its hooks private and befriend it.
///
/// | hook | called | a policy may |
/// |---|---|---|
/// | `lookup(repo, lookup, out[, state])` -> `bool`, or `lookup(repo, lookup[, state])` -> `std::optional<Model>` | before get_or_create reads the database, for a lookup a unique constraint covers | answer it (the first policy that does wins): the first form writes the answer into `out`, the host's result (nothing moved), and returns true; on false it leaves `out` as it was given (a value-initialised `Model{}`) |
/// | `create(repo, pending)` -> `Model` | for get_or_create's create, inside the caller's transaction | make the row its own way; **exclusive**: two policies claiming it do not compile |
/// | `after_read(repo, lookup, object, created[, state])` | after get_or_create / update_or_create produced `object` from the database, for a covered lookup | remember it (a cache fill) |
/// | `missing(repo, lookup)` -> `std::optional<Model>` | when get() matched no row | return an object instead of DoesNotExist |
/// | `cached_gets` (a static constant, not a hook) | by get() and find() | have them answered by the query cache (cache/query_cache.hpp): `QueryCacheGets::any_lookup`, or `unique_lookups` only (a lookup a unique constraint covers) |
/// | `on_change(change)` | for every committed change of the model's table, whichever repository wrote it | see every write (an audit log, a query cache) |
///
/// `repo` is the host; `state` is a `typename P::call_state` the host makes fresh for
/// each get_or_create call when the policy declares one (to carry what `lookup` read
/// to `after_read`). A policy is a class deriving from `gocp::Policy`, default
/// constructible and copyable; each repository (and its filtered copies) holds one
/// instance, and `on_change` may be called from any thread. A policy that needs caches
/// declares `static constexpr bool needs_caches = true;`.
///
///     struct AuditLog : gocp::Policy {
///       std::shared_ptr<std::atomic<int>> writes = std::make_shared<std::atomic<int>>(0);
///       void on_change(const gocp::RowChange&) const { writes->fetch_add(1); }
///     };

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "db/change_stream.hpp"
#include "orm/detail/statement_shape.hpp"
#include "queryset.hpp"

namespace gocp {

/// The base every policy derives from (it marks the class as one).
struct Policy {};

/// Which get() / find() calls a policy has answered by the query cache (its
/// `static constexpr QueryCacheGets cached_gets`).
enum class QueryCacheGets : std::uint8_t {
  none,            ///< none (the default)
  unique_lookups,  ///< those whose lookup, with the bound values, fixes a unique set
  any_lookup,      ///< every one (cachebot's cache_get)
};

/// A class a Repository accepts among its Policies.
template <class P>
concept RepositoryPolicy = std::derived_from<P, Policy> && std::default_initializable<P> && std::copy_constructible<P>;

namespace detail {
/// A row to insert as the values of its columns, in column order: `values[c]` points at
/// column c's value, which is `owned[c]` or a value that outlives the insert (a lookup's).
struct CreateRow {
  SmallVector<Value, 8> owned;
  BoundValues values;
};
}  // namespace detail

/// What get_or_create's create step inserts, built on demand so that the defaults'
/// callables run only then — inside the create's savepoint, as Django's do, unless the
/// host already called them before the create's transaction began (outside a caller's
/// transaction, see Repository::get_or_create).
template <class M>
class PendingCreate {
 public:
  /// Refers to its arguments, does not copy them: a PendingCreate lives only for the one
  /// get_or_create call that made it.
  PendingCreate(const QuerySet<M>& qs, const Expr<M>& lookup, const std::vector<Assignment<M>>& defaults)
      : qs_(qs), lookup_(lookup), defaults_(defaults) {}

  /// The model's default object (`M{}` and each `default_value`), then the bound values,
  /// then the lookup's top-level `==` terms, then the defaults (callables called now).
  M build() const {
    require_given();
    M obj = detail::default_object<M>();
    const auto set = [&](std::size_t column, const Value& v) { detail::set_column(obj, column, v); };
    assign_each(set, set, [&](std::size_t column) { return detail::get_column(obj, column); });
    return obj;
  }

  /// build()'s object as its columns' values, for the host's own create step: a bound
  /// or lookup value is pointed at where it is, not copied into a member and out again.
  void row(detail::CreateRow& row) const {
    require_given();
    std::uint64_t assigned = 0;  // the columns set below: their default is not converted
    const auto mark = [&](std::size_t column, const Value&) {
      if (column < 64) assigned |= std::uint64_t{1} << column;
    };
    for (const auto& [column, v] : qs_.bound()) mark(column, v);
    detail::for_each_equality_term(lookup_.nodes(), 0, mark);
    for (const auto& a : defaults_)
      if (!a.increment) mark(a.column, a.value);
    detail::append_default_values<M>(row.owned, assigned);  // M{} runs its member initializers
    for (const Value& v : row.owned) row.values.emplace_back(&v);
    assign_each([&](std::size_t column, const Value& v) { row.values[column] = &v; },
                [&](std::size_t column, Value&& v) {
                  row.owned[column] = std::move(v);
                  row.values[column] = &row.owned[column];
                },
                [&](std::size_t column) -> const Value& { return *row.values[column]; });
  }

 private:
  /// An IntegrityError naming each gocp::required field the create is not given by the
  /// bound values, the lookup's `==` terms or the defaults (a `+=` default starts from
  /// the default object's value: it gives none), as Django's create of a row without a
  /// value for a field with no default. Thrown before anything is written.
  void require_given() const {
    const ModelInfo& info = model_info<M>();
    if (info.required.empty()) return;  // the common case: nothing to look at
    std::string missing;
    for (const std::size_t column : info.required) {
      bool given = false;
      const auto mark = [&](std::size_t c, const Value&) { given = given || c == column; };
      for (const auto& [c, v] : qs_.bound()) mark(c, v);
      detail::for_each_equality_term(lookup_.nodes(), 0, mark);
      for (const auto& a : defaults_) given = given || (a.column == column && !a.increment);
      if (!given) (missing.empty() ? missing : missing += ", ") += "'" + detail::qualified_name(info.name, info.columns[column].name) + "'";
    }
    if (!missing.empty())
      throw IntegrityError("gocp: a create of " + std::string(info.name) + " was not given " + missing +
                           " (gocp::required): give it in the lookup's == terms or in the defaults");
  }

  /// The bound values, the lookup's `==` terms and the defaults, in that order (a later
  /// one for a column wins): `keep(column, value)` for a value that outlives the create,
  /// `take(column, value)` for a default's, computed now; `current(column)` is the
  /// column's value so far (for `+=`).
  template <class Keep, class Take, class Current>
  void assign_each(const Keep& keep, const Take& take, const Current& current) const {
    for (const auto& [column, v] : qs_.bound()) keep(column, v);
    detail::for_each_equality_term(lookup_.nodes(), 0, keep);
    for (const auto& a : defaults_)
      take(a.column, a.increment ? added(current(a.column), a.resolve(), a.column) : a.resolve());
  }

  /// `c += delta` on the new object: its value plus delta (NULL stays NULL, as in SQL);
  /// an integer sum beyond 64 bits is a ValidationError, a smaller member's range is
  /// checked by the insert's validation.
  static Value added(const Value& current, const Value& delta, std::size_t column) {
    if (const auto* i = std::get_if<std::int64_t>(&current)) {
      std::int64_t sum = 0;
      if (const auto* d = std::get_if<std::int64_t>(&delta); d && !__builtin_add_overflow(*i, *d, &sum)) return Value{sum};
      throw ValidationError("gocp: '" + detail::qualified_name(model_info<M>().name, model_info<M>().columns[column].name) +
                            "' += would leave the 64-bit range");
    }
    if (const auto* x = std::get_if<double>(&current)) return Value{*x + std::get<double>(delta)};
    return current;
  }

  const QuerySet<M>& qs_;
  const Expr<M>& lookup_;
  const std::vector<Assignment<M>>& defaults_;
};

namespace detail {
template <class P>
struct call_state_of {
  using type = std::monostate;
};
template <class P>
  requires requires { typename P::call_state; }
struct call_state_of<P> {
  using type = typename P::call_state;
};
}  // namespace detail

/// The one door between a Repository and its policies, both ways.
class PolicyAccess {
 public:
  // ---- what a policy may use of its host -------------------------------------------
  /// The host's QuerySet: its filters and bound values, which a policy's own read must apply.
  template <class Repo>
  static const auto& queryset(const Repo& r) noexcept { return r.qs_; }
  /// The host's Executor, for a policy that reads or writes the table itself.
  template <class Repo>
  static const auto& executor(const Repo& r) noexcept { return r.shared_->executor; }
  /// The model's caches, or nullptr for a repository built without a registry.
  template <class Repo>
  static const auto* caches(const Repo& r) noexcept { return r.shared_->caches.get(); }
  /// The same, shared: for work that may outlive the repository (an on_commit fill).
  template <class Repo>
  static const auto& shared_caches(const Repo& r) noexcept { return r.shared_->caches; }
  /// The default create step: `pending` inserted inside its own savepoint.
  template <class Repo, class M>
  static M create_in_savepoint(const Repo& r, const PendingCreate<M>& pending) {
    return r.database().atomic([&] { return r.shared_->executor.insert(pending.build()); });
  }

  // ---- how the host calls a policy's hooks ---------------------------------------
  ///@{
  /// The host's side: calls hook `name` of policy `p` if it has one (with `state` when it
  /// takes one), else does the no-op the table in the file comment describes; has_create
  /// and has_on_change say whether `p` has that hook. Policies never call these.
  template <class P, class Repo, class M, class S>
  static bool lookup(const P& p, const Repo& r, const Expr<M>& lookup, M& out, S& state) {
    if constexpr (requires { { p.lookup(r, lookup, out, state) } -> std::same_as<bool>; }) {
      return p.lookup(r, lookup, out, state);
    } else if constexpr (requires { { p.lookup(r, lookup, out) } -> std::same_as<bool>; }) {
      return p.lookup(r, lookup, out);
    } else if constexpr (requires { p.lookup(r, lookup, state); } || requires { p.lookup(r, lookup); }) {
      std::optional<M> found = [&] {
        if constexpr (requires { p.lookup(r, lookup, state); }) return p.lookup(r, lookup, state);
        else return p.lookup(r, lookup);
      }();
      if (!found) return false;
      out = std::move(*found);
      return true;
    } else {
      return false;
    }
  }

  template <class P, class Repo, class M, class S>
  static void after_read(const P& p, const Repo& r, const Expr<M>& lookup, const M& obj, bool created, S& state) {
    if constexpr (requires { p.after_read(r, lookup, obj, created, state); }) p.after_read(r, lookup, obj, created, state);
    else if constexpr (requires { p.after_read(r, lookup, obj, created); }) p.after_read(r, lookup, obj, created);
  }

  template <class P, class Repo, class M>
  static std::optional<M> missing(const P& p, const Repo& r, const Expr<M>& lookup) {
    if constexpr (requires { p.missing(r, lookup); }) return p.missing(r, lookup);
    else return std::nullopt;
  }

  template <class P, class Repo, class M>
  static constexpr bool has_create = requires(const P& p, const Repo& r, const PendingCreate<M>& pending) {
    { p.create(r, pending) } -> std::same_as<M>;
  };
  template <class P, class Repo, class M>
  static M create(const P& p, const Repo& r, const PendingCreate<M>& pending) {
    return p.create(r, pending);
  }

  template <class P>
  static constexpr bool has_on_change = requires(const P& p, const RowChange& change) { p.on_change(change); };
  template <class P>
  static void on_change(const P& p, const RowChange& change) {
    p.on_change(change);
  }
  ///@}

  /// P's `cached_gets` (QueryCacheGets::none when it declares none).
  template <class P>
  static constexpr QueryCacheGets cached_gets = [] {
    if constexpr (requires { P::cached_gets; }) return static_cast<QueryCacheGets>(P::cached_gets);
    else return QueryCacheGets::none;
  }();

  /// P's `needs_caches` (false when it declares none): a Repository with such a policy
  /// and no CacheRegistry is a ConfigurationError.
  template <class P>
  static constexpr bool needs_caches = [] {
    if constexpr (requires { P::needs_caches; }) return static_cast<bool>(P::needs_caches);
    else return false;
  }();
};

}  // namespace gocp
