#pragma once
/// \file
/// The schema value `gocp::table(...)` returns, its compile-time checks (with the
/// static_asserts a user sees) and `schema_hash` (see <gocp/model.hpp>).


#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "relations.hpp"

namespace gocp {

/// What gocp::table returns, `model<T>::schema`: the schema items sorted by kind, each a
/// tuple in declaration order.
template <class Fields, class Constraints, class ForeignKeys = std::tuple<>, class Relations = std::tuple<>>
struct Table {
  Fields fields;             ///< every column: fields, the primary key, foreign key columns
  Constraints constraints;   ///< the unique_together constraints
  ForeignKeys foreign_keys;  ///< the foreign keys (their columns are in `fields` too)
  Relations many_to_many;    ///< the many-to-many relations (no column in this table)
};

namespace detail {
template <class I>
inline constexpr bool is_schema_item = requires {
  { I::kind } -> std::convertible_to<SchemaItemKind>;
};

template <class I, SchemaItemKind K>
constexpr bool is_kind() {
  if constexpr (is_schema_item<I>) return I::kind == K;
  else return false;
}

/// `item` in a one-element tuple when it is of kind K, else an empty tuple.
template <SchemaItemKind K, class I>
constexpr auto keep_if_kind(const I& item) {
  if constexpr (is_kind<I, K>()) return std::tuple<I>{item};
  else return std::tuple<>{};
}
}  // namespace detail

namespace detail {
/// A field, or a foreign key's column, in a one-element tuple; else an empty tuple.
template <class I>
constexpr auto column_of(const I& item) {
  if constexpr (is_kind<I, SchemaItemKind::foreign_key>()) return std::tuple{item.field};
  else return keep_if_kind<SchemaItemKind::field>(item);
}
}  // namespace detail

/// The schema: fields (gocp::field, gocp::primary_key, gocp::foreign_key), constraints
/// (gocp::unique_together) and relations (gocp::many_to_many), in any order.
template <class... Items>
constexpr auto table(Items... items) {
  static_assert((detail::is_schema_item<Items> && ...),
                "gocp::table: every argument must be a schema item -- gocp::field(...), gocp::primary_key(...), "
                "gocp::foreign_key(...), gocp::unique_together(...) or gocp::many_to_many<T>(...); field options "
                "such as gocp::max_length go inside gocp::field(...)");
  auto fields = std::tuple_cat(detail::column_of(items)...);
  auto constraints = std::tuple_cat(detail::keep_if_kind<SchemaItemKind::unique_together>(items)...);
  auto foreign_keys = std::tuple_cat(detail::keep_if_kind<SchemaItemKind::foreign_key>(items)...);
  auto relations = std::tuple_cat(detail::keep_if_kind<SchemaItemKind::many_to_many>(items)...);
  return Table<decltype(fields), decltype(constraints), decltype(foreign_keys), decltype(relations)>{
      fields, constraints, foreign_keys, relations};
}

// ---- compile-time queries over a model's schema -------------------------------------

namespace detail {

/// The index of the field backed by `member`, or npos when the schema does not list it.
template <class T, class M>
constexpr std::size_t column_index(M T::*member) {
  std::size_t found = npos;
  for_each_field<T>([&](const auto& f, std::size_t i) {
    if constexpr (std::is_same_v<typename std::remove_cvref_t<decltype(f)>::member_type, M>) {
      if (f.member == member) found = i;
    }
  });
  return found;
}

template <class T>
constexpr std::size_t primary_key_count() {
  std::size_t n = 0;
  for_each_field<T>([&](const auto& f, std::size_t) { n += f.primary_key ? 1 : 0; });
  return n;
}

template <class T>
constexpr bool column_names_distinct() {
  std::string_view names[field_count<T>]{};
  for_each_field<T>([&](const auto& f, std::size_t i) { names[i] = f.name; });
  for (std::size_t i = 0; i < field_count<T>; ++i)
    for (std::size_t j = i + 1; j < field_count<T>; ++j)
      if (names[i] == names[j]) return false;
  return true;
}

template <class T>
constexpr bool fields_belong_to_model() {
  bool ok = true;
  for_each_field<T>([&](const auto& f, std::size_t) {
    ok = ok && std::is_same_v<typename std::remove_cvref_t<decltype(f)>::model_type, T>;
  });
  return ok;
}

template <class T>
constexpr bool constraints_name_listed_fields() {
  bool ok = true;
  std::apply(
      [&](const auto&... u) {
        ((std::apply([&](auto... m) { ((ok = ok && column_index<T>(m) != npos), ...); }, u.members)), ...);
      },
      model<T>::schema.constraints);
  return ok;
}

template <class T, class P>
constexpr std::size_t foreign_key_count_to() {
  std::size_t n = 0;
  std::apply(
      [&](const auto&... fk) {
        ((n += std::is_same_v<typename std::remove_cvref_t<decltype(fk)>::target_type, P>), ...);
      },
      model<T>::schema.foreign_keys);
  return n;
}

/// Each explicit through model has a foreign key to T and one to the relation's target
/// (two to T when the target is T itself).
template <class T>
constexpr bool through_models_reference_both_sides() {
  bool ok = true;
  std::apply(
      [&](const auto&... r) {
        auto check = [&](const auto& relation) {
          using R = std::remove_cvref_t<decltype(relation)>;
          using Through = typename R::through_type;
          if constexpr (!std::is_void_v<Through>) {
            using Target = typename R::target_type;
            ok = ok && (std::is_same_v<Target, T> ? foreign_key_count_to<Through, T>() >= 2
                                                 : foreign_key_count_to<Through, T>() >= 1 &&
                                                       foreign_key_count_to<Through, Target>() >= 1);
          }
        };
        static_cast<void>(check);  // no relations: never called
        (check(r), ...);
      },
      model<T>::schema.many_to_many);
  return ok;
}

template <class T>
constexpr bool set_null_columns_nullable() {
  bool ok = true;
  std::apply(
      [&](const auto&... fk) {
        ((ok = ok && (fk.action != on_delete::set_null ||
                      column_traits<typename std::remove_cvref_t<decltype(fk)>::member_type>::nullable)),
         ...);
      },
      model<T>::schema.foreign_keys);
  return ok;
}

constexpr std::uint64_t fnv1a(std::uint64_t h, std::string_view s) {
  for (char ch : s) {
    h ^= static_cast<unsigned char>(ch);
    h *= 1099511628211ull;
  }
  return h;
}
constexpr std::uint64_t fnv1a(std::uint64_t h, std::uint64_t n) {
  for (int i = 0; i < 8; ++i) {
    h ^= (n >> (8 * i)) & 0xffu;
    h *= 1099511628211ull;
  }
  return h;
}

/// The explicit through model's name, or "" for a generated through table.
template <class Through>
constexpr std::string_view through_name() {
  if constexpr (std::is_void_v<Through>) return {};
  else return model<Through>::name;
}

template <class T>
constexpr std::uint64_t compute_schema_hash() {
  std::uint64_t h = fnv1a(14695981039346656037ull, model<T>::name);
  for_each_field<T>([&](const auto& f, std::size_t) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    h = fnv1a(h, f.name);
    h = fnv1a(h, static_cast<std::uint64_t>(column_traits<M>::type) | (column_traits<M>::nullable << 4) |
                     (f.primary_key << 5) | (f.auto_increment << 6) | (f.unique << 7) | (sizeof(M) << 8));
    h = fnv1a(h, f.max_length);
    h = fnv1a(h, f.default_value.index());
  });
  std::apply(
      [&](const auto&... u) {
        ((h = fnv1a(h, "unique_together"),
          std::apply([&](auto... m) { ((h = fnv1a(h, column_index<T>(m))), ...); }, u.members)),
         ...);
      },
      model<T>::schema.constraints);
  // relations: a cached entry from before a foreign key or many-to-many changed is a miss
  std::apply(
      [&](const auto&... fk) {
        ((h = fnv1a(h, "foreign_key"), h = fnv1a(h, column_index<T>(fk.field.member)),
          h = fnv1a(h, model<typename std::remove_cvref_t<decltype(fk)>::target_type>::name),
          h = fnv1a(h, static_cast<std::uint64_t>(fk.action))),
         ...);
      },
      model<T>::schema.foreign_keys);
  std::apply(
      [&](const auto&... m2m) {
        ((h = fnv1a(h, "many_to_many"), h = fnv1a(h, m2m.name),
          h = fnv1a(h, model<typename std::remove_cvref_t<decltype(m2m)>::target_type>::name),
          h = fnv1a(h, through_name<typename std::remove_cvref_t<decltype(m2m)>::through_type>())),
         ...);
      },
      model<T>::schema.many_to_many);
  return h;
}

constexpr bool usable_as_key_part(std::string_view name) {
  if (name.empty()) return false;
  for (char ch : name)
    if (ch <= ' ' || ch >= 127 || ch == ':') return false;
  return true;
}

template <class T>
constexpr bool check_schema() {
  static_assert(usable_as_key_part(model<T>::name),
                "gocp::model<T>::name must be non-empty printable ASCII without spaces or ':' (it names the "
                "table and cache keys), e.g. \"library.author\"");
  static_assert(fields_belong_to_model<T>(),
                "gocp::model<T>::schema lists a field of another model (a member pointer of another type)");
  static_assert(primary_key_count<T>() == 1, "gocp::model<T>::schema needs exactly one gocp::primary_key(...)");
  static_assert(column_names_distinct<T>(), "gocp::model<T>::schema has two fields with the same column name");
  static_assert(constraints_name_listed_fields<T>(),
                "gocp::unique_together names a member that is not a field of the schema");
  static_assert(through_models_reference_both_sides<T>(),
                "gocp::many_to_many: the through model needs a gocp::foreign_key to each side of the relation");
  static_assert(set_null_columns_nullable<T>(),
                "gocp::foreign_key with gocp::on_delete::set_null needs a nullable field: declare the member "
                "std::optional<...>");
  return true;
}

}  // namespace detail

/// Changes whenever the model's layout does (names, types, nullability, keys, lengths,
/// constraints): cache entries and keys carry it, so an old layout's entry is a miss.
template <class T>
inline constexpr std::uint64_t schema_hash = (detail::check_schema<T>(), detail::compute_schema_hash<T>());

}  // namespace gocp
