#pragma once
/// \file
/// Many-to-many relations (gocp::many_to_many in a schema), through their through table:
///
///     gocp::Repository<Author> authors{db};
///     auto war_authors = gocp::related(authors, war, gocp::model<Book>::authors);
///     auto [leo, created] = war_authors.get_or_create(c(&Author::name) == "Leo Tolstoy");
///     war_authors.add(tolstaya); war_authors.remove(leo); war_authors.set({a, b}); war_authors.clear();
///     auto all = war_authors.all();                 // read through the through table
///     auto first = war_authors.query().aggregate(gocp::min(&Author::name));  // any repository read
///     auto leos_books = gocp::related(books, leo, gocp::model<Book>::authors);   // the reverse side
///
/// As Django's ManyRelatedManager: get_or_create / update_or_create search only within
/// the relation; a created object is linked in the same transaction; an existing object
/// with the same unique value that is *not* related raises IntegrityError (the create a
/// Django related manager attempts would violate the unique constraint). The target
/// repository's policies, filters and caches apply to its own reads and creates. Every
/// link and unlink is a RowChange of the through table.
///
/// Its reads are those of the target repository filtered by `pk IN (SELECT far FROM
/// through WHERE near = key)` (a subquery term, gocp/query.hpp), which query() returns:
/// every repository read works through a set, and `c(&M::f).in(set)` is a condition.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../orm/detail/validation.hpp"
#include "../errors.hpp"
#include "../executor.hpp"
#include "../model.hpp"
#include "../policy.hpp"
#include "../query.hpp"
#include "../repository.hpp"
#include "foreign_key.hpp"

namespace gocp {

/// The objects of `Repository<M, Policies...>` linked to one object through a
/// many-to-many relation (either side). Made by gocp::related(repo, obj, relation).
template <class M, class... Policies>
class RelatedSet {
 public:
  using model_type = M;                                ///< the model of the objects in the set
  using repository_type = Repository<M, Policies...>;  ///< the repository its reads and creates go through

  /// `forward`: M is the relation's target and `key` the owner's primary key; else M
  /// owns the relation and `key` is the target's. ConfigurationError when `targets` orders, slices,
  /// is distinct or locks rows: the set does not apply those (yet).
  RelatedSet(repository_type targets, const ManyToManyInfo& relation, bool forward, Value key)
      : targets_(std::move(targets)),
        relation_(&relation),
        through_(relation.through.get()),
        near_(forward ? relation.owner_column : relation.target_column),
        far_(forward ? relation.target_column : relation.owner_column),
        key_(std::move(key)),
        linked_(targets_.filter(linked_term())) {
    targets_.queryset().refuse_read_shape("a many-to-many set");
  }

  /// The repository of M the creates go through (all of M's rows its filters see,
  /// linked or not).
  const repository_type& repository() const noexcept { return targets_; }

  /// The repository of the linked objects this set sees: repository() filtered by the
  /// link. Every read of a repository works on it (`query().aggregate(...)`, `.in_bulk`,
  /// `.filter(...).count()`); a create through it is *not* linked (use this set's).
  const repository_type& query() const noexcept { return linked_; }

  /// What query() sees, so that a set is a subquery: `c(&Book::id).in(set)`.
  const QuerySet<M>& queryset() const noexcept { return linked_.queryset(); }

  /// This set, seeing only the objects that also match `condition`.
  template <class E>
  RelatedSet filter(const E& condition) const {
    RelatedSet out = *this;
    out.targets_ = targets_.filter(condition);
    out.linked_ = linked_.filter(condition);
    return out;
  }

  // ---- reading: query()'s reads ----------------------------------------------------------

  /// Every linked object this set sees, by primary key (one SELECT).
  std::vector<M> all() const { return linked_.all(); }

  /// How many linked objects this set sees (one COUNT(*); no object is read).
  std::size_t count() const { return linked_.count(); }

  /// Whether this set sees any linked object (reads at most one).
  bool exists() const { return linked_.exists(); }

  /// The one linked object matching `lookup`, or nullopt; several are MultipleObjectsReturned.
  template <class E>
  std::optional<M> find(const E& lookup_) const {
    return find_linked(detail::as_condition<M>(lookup_), false);
  }

  /// The one linked object matching `lookup`: DoesNotExist when none is (even if an
  /// unlinked one matches), MultipleObjectsReturned when several are.
  template <class E>
  M get(const E& lookup) const {
    if (auto found = find(lookup)) return std::move(*found);
    throw DoesNotExist(std::string(model<M>::name) + " matching query does not exist.");
  }

  // ---- linking ---------------------------------------------------------------------------

  /// Links each object (saved ones: they need a primary key); one already linked is left
  /// as it is. An object with no row is an IntegrityError (the through table's foreign key).
  void add(const std::vector<M>& objs) const { link(pks_of(objs)); }
  /// `add(a, b)`: the same, for objects listed as arguments.
  template <class... Rest>
  void add(const M& first, const Rest&... rest) const {
    add(std::vector<M>{first, rest...});
  }

  /// Unlinks each object (the objects themselves stay).
  void remove(const std::vector<M>& objs) const { unlink(pks_of(objs)); }
  /// `remove(a, b)`: the same, for objects listed as arguments.
  template <class... Rest>
  void remove(const M& first, const Rest&... rest) const {
    remove(std::vector<M>{first, rest...});
  }

  /// Unlinks every object this set sees.
  void clear() const { unlink(std::nullopt); }

  /// Makes `objs` exactly the linked objects this set sees, in one transaction:
  /// unlinks the others, links the missing ones.
  void set(const std::vector<M>& objs) const {
    database().atomic([&] {
      const std::vector<Value> wanted = pks_of(objs);
      std::vector<Value> current, gone;
      auto w = writer();
      w.text("SELECT ").column(model_info<M>().pk).text(" FROM ").table().where({&linked_.queryset().scope()});
      run(w, [&](const Row& row) {
        current.push_back(detail::read_value(row, 0, model_info<M>().columns[model_info<M>().pk].type));
        return true;
      });
      std::vector<Value> wanted_sorted = wanted;  // searched once per linked row: log time each
      std::sort(wanted_sorted.begin(), wanted_sorted.end());
      for (const Value& pk : current)
        if (!std::binary_search(wanted_sorted.begin(), wanted_sorted.end(), pk)) gone.push_back(pk);
      unlink(gone);
      link(wanted);
    });
  }

  // ---- creating within the relation ------------------------------------------------------

  /// Creates `obj` through the repository and links it, in one transaction.
  M create(const M& obj) const {
    return database().atomic([&] {
      M made = targets_.create(obj);
      link({detail::get_column(made, model_info<M>().pk)});
      return made;
    });
  }

  /// Django's related get_or_create: the linked object matching `lookup`; else, in one
  /// transaction, the repository's get_or_create — a created object is linked, and an
  /// existing one that is not linked is IntegrityError.
  template <class E, class D = Defaults<M>>
  std::pair<M, bool> get_or_create(const E& lookup_, const D& defaults = {}) const {
    const Expr<M>& lookup = detail::as_condition<M>(lookup_);
    const auto& items = detail::as_defaults<M>(defaults);
    return database().atomic([&] { return get_or_create_linked(lookup, items, false); });
  }

  /// Django's related update_or_create: the linked object matching `lookup` (locked) has
  /// the `defaults` fields set; else as get_or_create, with `create_defaults` (or
  /// `defaults`) for the create.
  template <class E, class D = Defaults<M>, class C = detail::SameAsDefaults>
  std::pair<M, bool> update_or_create(const E& lookup_, const D& defaults = {}, const C& create_defaults = {}) const {
    static_assert(std::is_same_v<C, detail::SameAsDefaults> || std::is_same_v<C, CreateDefaults<M>>,
                  "gocp: update_or_create's third argument is gocp::create_defaults(...) on the repository's model");
    const Expr<M>& lookup = detail::as_condition<M>(lookup_);
    const auto& items = detail::as_defaults<M>(defaults);
    return database().atomic([&]() -> std::pair<M, bool> {
      if (auto found = find_linked(lookup, true)) {
        if (items.empty()) return {std::move(*found), false};
        return targets_.update_or_create(by_pk(detail::get_column(*found, model_info<M>().pk)), defaults);
      }
      if constexpr (std::is_same_v<C, detail::SameAsDefaults>) return get_or_create_linked(lookup, items, true);
      else return get_or_create_linked(lookup, create_defaults.items, true);
    });
  }

 private:
  const Database& database() const noexcept { return targets_.database(); }
  detail::SqlWriter writer() const { return detail::SqlWriter(database().dialect(), model_info<M>()); }

  /// `pk IN (SELECT far FROM through WHERE near = key)`: the objects linked to the key.
  Expr<M> linked_term() const {
    std::vector<detail::Node> link;
    link.push_back(detail::Node{detail::Op::eq, static_cast<std::uint32_t>(near_), key_});
    return detail::in_subquery<M>(static_cast<std::uint32_t>(detail::pk_index<M>), *through_,
                                  static_cast<std::uint32_t>(far_), std::move(link));
  }

  static Expr<M> by_pk(Value pk) {
    return Expr<M>(detail::Node{detail::Op::eq, static_cast<std::uint32_t>(detail::pk_index<M>), std::move(pk)});
  }

  std::pair<M, bool> get_or_create_linked(const Expr<M>& lookup, const std::vector<Assignment<M>>& defaults,
                                          bool for_update) const {
    if (auto found = find_linked(lookup, for_update)) return {std::move(*found), false};
    const QuerySet<M>& qs = targets_.queryset();
    if (!qs.fixes_a_unique_set(lookup) && qs.allows_non_unique()) {
      // no unique constraint to meet: Django creates another object, whatever exists unlinked
      M made = targets_.create(PendingCreate<M>(qs, lookup, defaults).build());
      link({detail::get_column(made, model_info<M>().pk)});
      return {std::move(made), true};
    }
    auto [obj, created] = targets_.get_or_create(lookup, Defaults<M>{defaults});
    const Value pk = detail::get_column(obj, model_info<M>().pk);
    if (created) {
      link({pk});
      return {std::move(obj), true};
    }
    // an object matched outside the relation: linked meanwhile by a concurrent caller, or unrelated
    if (auto linked = find_linked(by_pk(pk), for_update)) return {std::move(*linked), false};
    throw IntegrityError("gocp: get_or_create through the relation '" + std::string(through_->name) + "': a '" +
                         std::string(model<M>::name) +
                         "' matching the lookup exists but is not related, and creating another would violate its "
                         "unique constraint (Django raises IntegrityError here too); add() it instead");
  }

  /// The one linked object matching `lookup` (locked, with `for_update`), or nullopt.
  std::optional<M> find_linked(const Expr<M>& lookup, bool for_update) const {
    return PolicyAccess::executor(linked_).get_one(linked_.queryset(), lookup, for_update);
  }

  template <class OnRow>
  void run(detail::SqlWriter& w, OnRow&& on_row) const {
    PolicyAccess::executor(targets_).counters()->bump(detail::StatCounters::db_queries);
    database().with_connection([&](Connection& c) { return detail::run_sql(c, w, on_row); });
  }

  /// The keys of `objs`, each once, in their order (a set of thousands stays n log n).
  static std::vector<Value> pks_of(const std::vector<M>& objs) {
    std::vector<Value> out;
    std::set<Value> seen;
    for (const M& obj : objs) {
      Value pk = detail::saved_pk(obj);
      if (seen.insert(pk).second) out.push_back(std::move(pk));
    }
    return out;
  }

  /// Runs `w` + ` RETURNING` the through row, each row returned one change.
  void run_through(detail::SqlWriter& w, bool inserted) const {
    w.text(" RETURNING ");
    for (std::size_t i = 0; i < through_->columns.size(); ++i) (i ? w.text(", ") : w).column(i);
    std::vector<std::vector<Value>> rows;
    PolicyAccess::executor(targets_).counters()->bump(detail::StatCounters::db_queries);
    database().with_connection([&](Connection& c) {
      return detail::run_sql(c, w, [&](const Row& row) {
        rows.push_back(detail::read_values(row, *through_));
        return true;
      });
    });
    for (auto& values : rows) {
      RowChange change{through_->table, values[0], std::nullopt, std::nullopt, !inserted, inserted};
      (inserted ? change.after : change.before) = std::move(values);
      detail::DatabaseAccess::emit(database(), through_, std::move(change));
    }
  }

  static constexpr std::size_t kChunk = 400;

  /// Inserts the missing (key, pk) pairs, every other column of the through row from its
  /// default row; a pair already there stays (ON CONFLICT DO NOTHING: the unique pair).
  void link(const std::vector<Value>& pks) const {
    std::vector<std::size_t> columns;  // every column but the through row's own key
    for (std::size_t i = 0; i < through_->columns.size(); ++i)
      if (i != through_->pk) columns.push_back(i);
    for (std::size_t start = 0; start < pks.size(); start += kChunk) {
      detail::SqlWriter w(database().dialect(), *through_);
      w.text("INSERT INTO ").table().text(" (");
      for (std::size_t i = 0; i < columns.size(); ++i) (i ? w.text(", ") : w).column(columns[i]);
      w.text(") VALUES ");
      for (std::size_t k = start; k < std::min(pks.size(), start + kChunk); ++k) {
        w.text(k > start ? ", (" : "(");
        for (std::size_t i = 0; i < columns.size(); ++i) {
          const std::size_t column = columns[i];
          const Value& v = column == near_ ? key_ : column == far_ ? pks[k] : relation_->default_row[column];
          if (column != near_ && column != far_) detail::validate_value(*through_, database().dialect(), column, v);
          (i ? w.text(", ") : w).param(v);
        }
        w.text(")");
      }
      w.text(" ON CONFLICT DO NOTHING");
      run_through(w, true);
    }
  }

  /// Deletes the pairs (key, pk) for `pks`, or, for nullopt, every pair of an object this
  /// set sees.
  void unlink(const std::optional<std::vector<Value>>& pks) const {
    if (pks && pks->empty()) return;
    const std::size_t n = pks ? pks->size() : 1;
    for (std::size_t start = 0; start < n; start += kChunk) {
      detail::SqlWriter w(database().dialect(), *through_);
      w.text("DELETE FROM ").table().text(" WHERE ").column(near_).text(" = ").param(key_);
      if (pks) {
        w.text(" AND ").column(far_).text(" IN (");
        for (std::size_t k = start; k < std::min(n, start + kChunk); ++k) (k > start ? w.text(", ") : w).param((*pks)[k]);
        w.text(")");
      } else if (!targets_.queryset().scope().empty()) {
        // only the objects the (filtered) set sees: a subquery over M continuing w's parameters
        auto sub = std::move(w).continue_with(model_info<M>());
        sub.text(" AND ").text(through_->quoted_columns[far_]).text(" IN (SELECT ").column(model_info<M>().pk);
        sub.text(" FROM ").table().where({&targets_.queryset().scope()}).text(")");
        auto whole = std::move(sub).continue_with(*through_);
        run_through(whole, false);
        continue;
      }
      run_through(w, false);
    }
  }

  repository_type targets_;
  const ManyToManyInfo* relation_;
  const ModelInfo* through_;
  std::size_t near_, far_;
  Value key_;
  repository_type linked_;  ///< targets_ filtered by linked_term(): what the reads see
};

namespace detail {
/// Owner's many-to-many `relation` to Target, by name; throws naming both when absent.
template <class Owner, class Target, class Through>
const ManyToManyInfo& relation_of(const ManyToMany<Target, Through>& relation) {
  for (const ManyToManyInfo& r : model_info<Owner>().many_to_many)
    if (r.name == relation.name && r.target_model == model<Target>::name) return r;
  throw ConfigurationError("gocp: '" + std::string(model<Owner>::name) + "' has no gocp::many_to_many<" +
                           std::string(model<Target>::name) + ">(\"" + std::string(relation.name) +
                           "\") in its schema");
}

template <class Owner, class Target>
inline constexpr bool has_many_to_many_to = [] {
  bool found = false;
  std::apply(
      [&](const auto&... r) {
        ((found = found || std::is_same_v<typename std::remove_cvref_t<decltype(r)>::target_type, Target>), ...);
      },
      model<Owner>::schema.many_to_many);
  return found;
}();
}  // namespace detail

/// The objects of `repo` related to `obj` through `relation`, a gocp::many_to_many of
/// obj's model (`related(authors, war, gocp::model<Book>::authors)`) or, the reverse
/// side, of repo's model (`related(books, leo, gocp::model<Book>::authors)`).
template <class M, class... Policies, class O, class Target, class Through>
RelatedSet<M, Policies...> related(const Repository<M, Policies...>& repo, const O& obj,
                                   const ManyToMany<Target, Through>& relation) {
  static_assert(std::is_same_v<M, Target> || std::is_same_v<O, Target>,
                "gocp::related: this many_to_many relates neither the repository's model nor the object's");
  if constexpr (std::is_same_v<M, Target>) {  // forward: obj owns the relation
    static_assert(detail::has_many_to_many_to<O, M>,
                  "gocp::related: the object's model has no gocp::many_to_many to the repository's model");
    return RelatedSet<M, Policies...>(repo, detail::relation_of<O>(relation), true, detail::saved_pk(obj));
  } else {  // reverse: the repository's model owns it
    static_assert(detail::has_many_to_many_to<M, O>,
                  "gocp::related: the repository's model has no gocp::many_to_many to the object's model");
    return RelatedSet<M, Policies...>(repo, detail::relation_of<M>(relation), false, detail::saved_pk(obj));
  }
}

}  // namespace gocp
