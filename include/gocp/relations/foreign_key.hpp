#pragma once
/// \file
/// Foreign-key relations, read and written through repositories:
///
///     gocp::Repository<Child, gocp::NonAtomicGetOrCreate> children{db};
///     auto kids = gocp::related(children, parent);            // parent_id == parent.id bound
///     auto [a, created] = kids.get_or_create(c(&Child::name) == "a");   // parent_id written
///     Parent p = gocp::parent_of(parents, a);                 // one query
///     for (auto& [child, its_parent] : gocp::select_related(kids, parents)) ...  // one joined query
///
/// A related repository is the child repository with the foreign key bound (Django's
/// `parent.child_set`): it keeps that repository's policies, caches and counters, so the
/// child type's own choices (NonAtomicGetOrCreate, CachedGetOrCreate) apply, and two
/// parents' children named "a" are two cache entries (the bound value is in the key).

#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../errors.hpp"
#include "../model.hpp"
#include "../policy.hpp"
#include "../query.hpp"
#include "../repository.hpp"

namespace gocp {

namespace detail {

/// How many of Child's foreign keys reference Parent, and the index of the last one.
template <class Child, class Parent>
inline constexpr std::pair<std::size_t, std::size_t> foreign_keys_to = [] {
  std::size_t count = 0, index = 0, i = 0;
  std::apply(
      [&](const auto&... fk) {
        ((std::is_same_v<typename std::remove_cvref_t<decltype(fk)>::target_type, Parent> ? (++count, index = i++)
                                                                                           : i++),
         ...);
      },
      model<Child>::schema.foreign_keys);
  return std::pair{count, index};
}();

template <class Child, class Parent>
constexpr auto the_foreign_key_member() {
  static_assert(foreign_keys_to<Child, Parent>.first == 1,
                "gocp: the child model has no gocp::foreign_key to this parent model, or several: name the "
                "foreign key's member, e.g. gocp::related(children, &Child::parent_id, parent)");
  if constexpr (foreign_keys_to<Child, Parent>.first == 1)
    return std::get<foreign_keys_to<Child, Parent>.second>(model<Child>::schema.foreign_keys).field.member;
  else
    return std::get<0>(model<Child>::schema.fields).member;  // unreachable: the static_assert stops here
}

/// Throws unless `member` is a foreign key of Child to Parent.
template <class Child, class Parent, class M>
std::size_t foreign_key_column(M Child::*member) {
  const std::size_t column = column_index<Child>(member);
  for (const ForeignKeyInfo& fk : model_info<Child>().foreign_keys)
    if (fk.column == column && fk.target_table == table_name<Parent>()) return column;
  throw ConfigurationError("gocp: '" + std::string(model<Child>::name) + "' has no gocp::foreign_key to '" +
                           std::string(model<Parent>::name) + "' on that member");
}

/// The primary key of a saved object; an unsaved one (auto key 0) cannot be related to.
template <class T>
Value saved_pk(const T& obj) {
  const ModelInfo& info = model_info<T>();
  Value pk = get_column(obj, info.pk);
  if (info.columns[info.pk].auto_increment && pk == Value{std::int64_t{0}})
    throw ValidationError("gocp: this " + std::string(model<T>::name) +
                          " has no primary key yet (it is not saved): save it before using its relations");
  return pk;
}

/// Reads an object of T from a row whose columns from `offset` on are T's fields.
template <class T>
T read_object_at(const Row& row, std::size_t offset) {
  T obj{};
  for_each_field<T>([&](const auto& f, std::size_t i) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    obj.*f.member = column_traits<M>::read(row, static_cast<int>(offset + i),
                                           [&] { return qualified_name(model<T>::name, f.name); });
  });
  return obj;
}

template <class T>
auto pk_member() {
  return std::get<pk_index<T>>(model<T>::schema.fields).member;
}

}  // namespace detail

/// `children` with `fk == parent's primary key` bound: reads see only the parent's
/// children, creates write the parent's key (Django's RelatedManager), and the bound
/// column counts toward the unique-coverage check (unique_together(parent_id, name)
/// makes get_or_create(name == n) race-free).
template <class Child, class... Policies, class M, class Parent>
Repository<Child, Policies...> related(const Repository<Child, Policies...>& children, M Child::*fk,
                                       const Parent& parent) {
  static_assert(std::is_same_v<typename column_traits<M>::base, detail::pk_type<Parent>>,
                "gocp::related: this member is not a foreign key to the parent's model (its type is not the "
                "parent's primary key type)");
  detail::foreign_key_column<Child, Parent>(fk);
  Assignment<Child> bound{detail::column_index<Child>(fk), detail::saved_pk(parent)};
  return children.bind(bound);
}

/// The same, through Child's one foreign key to Parent.
template <class Child, class... Policies, class Parent>
Repository<Child, Policies...> related(const Repository<Child, Policies...>& children, const Parent& parent) {
  return related(children, detail::the_foreign_key_member<Child, Parent>(), parent);
}

/// The row `child.*fk` references, read through `parents` (its filters apply): one query.
/// A nullable foreign key gives std::optional (nullopt when NULL, without a query); a
/// missing row is DoesNotExist.
template <class Parent, class... Policies, class Child, class M>
auto parent_of(const Repository<Parent, Policies...>& parents, const Child& child, M Child::*fk)
    -> std::conditional_t<column_traits<M>::nullable, std::optional<Parent>, Parent> {
  detail::foreign_key_column<Child, Parent>(fk);
  const Value key = column_traits<M>::to_value(child.*fk);
  if constexpr (column_traits<M>::nullable)
    if (std::holds_alternative<std::monostate>(key)) return std::nullopt;
  const Expr<Parent> by_pk(detail::Node{detail::Op::eq, static_cast<std::uint32_t>(detail::pk_index<Parent>), key});
  if (auto found = parents.find(by_pk)) return std::move(*found);
  throw DoesNotExist(std::string(model<Parent>::name) + " matching query does not exist.");
}

/// The same, through Child's one foreign key to Parent.
template <class Parent, class... Policies, class Child>
auto parent_of(const Repository<Parent, Policies...>& parents, const Child& child) {
  return parent_of(parents, child, detail::the_foreign_key_member<Child, Parent>());
}

/// Every child `children` sees with its parent as `parents` sees it, in one joined query
/// (Django's select_related), by the child's primary key. A child whose parent
/// `parents` does not see (filtered out, or a NULL key) is left out, as an inner join does.
/// Neither repository may order, slice, be distinct or lock (ConfigurationError).
template <class Child, class... CP, class Parent, class... PP>
std::vector<std::pair<Child, Parent>> select_related(const Repository<Child, CP...>& children,
                                                     const Repository<Parent, PP...>& parents) {
  children.queryset().refuse_read_shape("select_related");
  parents.queryset().refuse_read_shape("select_related");
  const ModelInfo& ci = model_info<Child>();
  const ModelInfo& pi = model_info<Parent>();
  const auto fk = detail::the_foreign_key_member<Child, Parent>();
  const std::size_t fk_column = detail::column_index<Child>(fk);
  // each side filtered in its own subquery, so their conditions need no table prefix
  detail::SqlWriter w(children.database().dialect(), ci);
  w.text("SELECT ");
  for (std::size_t i = 0; i < ci.columns.size(); ++i) (i ? w.text(", ") : w).text("c.").column(i);
  for (const std::string& col : pi.quoted_columns) w.text(", p.").text(col);
  w.text(" FROM (").select_all_columns().where({&children.queryset().scope()}).text(") AS c JOIN (");
  // the parent's conditions name its columns: a writer over Parent, continuing w's parameters
  auto pw = std::move(w).continue_with(pi);
  pw.select_all_columns().where({&parents.queryset().scope()});
  pw.text(") AS p ON c.").text(ci.quoted_columns[fk_column]).text(" = p.").text(pi.quoted_columns[pi.pk]);
  pw.text(" ORDER BY c.").text(ci.quoted_columns[ci.pk]);
  std::vector<std::pair<Child, Parent>> out;
  PolicyAccess::executor(children).counters()->bump(detail::StatCounters::db_queries);
  children.database().with_connection([&](Connection& c) {
    return detail::run_sql(c, pw, [&](const Row& row) {
      out.emplace_back(detail::read_object<Child>(row), detail::read_object_at<Parent>(row, ci.columns.size()));
      return true;
    });
  });
  return out;
}

}  // namespace gocp
