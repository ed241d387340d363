#pragma once
/// \file
/// Describing a model: `gocp::model<T>` names the table and lists its fields and
/// constraints with member pointers, once, beside the struct, with no macros:
///
///     template <> struct gocp::model<Author> {
///       static constexpr std::string_view name = "library.author";
///       static constexpr auto schema = gocp::table(
///           gocp::primary_key(&Author::id, "id"),
///           gocp::field(&Author::first_name, "first_name", gocp::max_length(255)),
///           gocp::field(&Author::last_name, "last_name", gocp::max_length(255)),
///           gocp::unique_together(&Author::first_name, &Author::last_name));
///     };
///
/// `name` is app-qualified: it names the cache alias and, with '.' made '_', the table
/// (declare `static constexpr std::string_view table = "..."` to choose another).

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

#include "detail/reverse_relations.hpp"
#include "value.hpp"

namespace gocp {

/// Specialise for each model type; see the file comment. The primary template only marks
/// a type that has none, for the concept below.
template <class T>
struct model {
  /// Present only here, never in a specialisation: ModelType checks for it, and its name
  /// is the text a compiler shows when a type has no specialisation.
  using gocp_model_is_not_specialised_for_this_type = void;
};

/// A type with a `gocp::model<T>` specialisation giving its `name` and `schema`. gocp's
/// entry points (Repository, c()) require it, so forgetting the specialisation is one
/// error naming this concept, not a cascade from inside the library.
template <class T>
concept ModelType = !requires { typename model<T>::gocp_model_is_not_specialised_for_this_type; } && requires {
  { model<T>::name } -> std::convertible_to<std::string_view>;
  model<T>::schema;
};

// ---- field options -------------------------------------------------------------------

/// The longest text a field accepts; a longer value is a ValidationError naming the field.
struct max_length {
  std::size_t value;  ///< in characters (UTF-8 code points), not bytes
  /// `n` characters at most; applies only to text fields (a static_assert says so).
  constexpr explicit max_length(std::size_t n) noexcept : value(n) {}
};

/// The type of gocp::unique (a tag: pass the constant, never construct it).
struct unique_t {
  explicit unique_t() = default;
};
/// The field's values are unique across the table.
inline constexpr unique_t unique{};

/// The type of gocp::manual (a tag: pass the constant).
struct manual_t {
  explicit manual_t() = default;
};
/// An integer primary key the caller assigns (not auto-incremented).
inline constexpr manual_t manual{};

/// The value a create uses when neither the lookup nor the defaults give the field one
/// (bool, integer, floating-point, text and enum fields).
template <class V>
struct default_value {
  V value;  ///< of a type the field accepts (checked by a static_assert in gocp::field)
  /// `gocp::default_value(0)`, `gocp::default_value("draft")`, `gocp::default_value(Color::red)`.
  constexpr explicit default_value(V v) noexcept : value(v) {}
};

/// The type of gocp::auto_now (a tag: pass the constant).
struct auto_now_t {
  explicit auto_now_t() = default;
};
/// A timestamp field set to the current time on every create and every save() (and
/// update_or_create's update), as Django's `auto_now`; not by a bulk update(), as in Django.
inline constexpr auto_now_t auto_now{};

/// The type of gocp::auto_now_add (a tag: pass the constant).
struct auto_now_add_t {
  explicit auto_now_add_t() = default;
};
/// A timestamp field set to the current time when the row is created, as Django's
/// `auto_now_add`. Both read the process's clock (std::chrono::system_clock), rounded
/// down to the microsecond: the object written is the object returned, on every backend.
inline constexpr auto_now_add_t auto_now_add{};

namespace detail {
/// A compile-time constant a schema may carry (a field default).
using Constant = std::variant<std::monostate, std::int64_t, double, std::string_view>;

inline Value to_value(const Constant& c) {
  return std::visit(
      [](const auto& v) -> Value {
        using C = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<C, std::string_view>) return Value{std::string(v)};
        else return Value{v};
      },
      c);
}
}  // namespace detail

// ---- fields and constraints ----------------------------------------------------------

/// What a schema item is; table() accepts only the kinds listed here.
enum class SchemaItemKind { field, unique_together, foreign_key, many_to_many };

/// A column of model T backed by a member of type M, as gocp::field and gocp::primary_key
/// build it; a compile-time value read by table() and the model's ModelInfo.
template <class T, class M>
struct Field {
  static constexpr SchemaItemKind kind = SchemaItemKind::field;  ///< for table()'s sorting
  using model_type = T;   ///< the struct the member belongs to
  using member_type = M;  ///< the C++ type, mapped to SQL by gocp::column_traits
  M T::*member;           ///< the member the column reads and writes
  std::string_view name;  ///< the SQL column name

  ///@{
  /// What the options (and primary_key) set; see the option of the same name.
  bool primary_key = false;
  bool auto_increment = false;
  bool unique = false;
  std::size_t max_length = 0;  ///< in characters; 0: unlimited
  detail::Constant default_value{};
  bool auto_now = false;
  bool auto_now_add = false;
  ///@}
};

/// A UNIQUE constraint over several fields of T, as gocp::unique_together builds it.
template <class T, class... Ms>
struct UniqueTogether {
  static constexpr SchemaItemKind kind = SchemaItemKind::unique_together;  ///< for table()'s sorting
  using model_type = T;            ///< the model whose fields these are
  std::tuple<Ms T::*...> members;  ///< the fields, each also listed in the schema (checked)
};

namespace detail {

template <class T, class M>
constexpr void apply_option(Field<T, M>& f, max_length o) {
  static_assert(column_traits<M>::type == ColumnType::text, "gocp: max_length applies only to text fields");
  f.max_length = o.value;
}
template <class T, class M>
constexpr void apply_option(Field<T, M>& f, unique_t) {
  f.unique = true;
}
template <class T, class M>
constexpr void apply_option(Field<T, M>& f, manual_t) {
  f.auto_increment = false;
}
template <class T, class M>
constexpr void apply_option(Field<T, M>& f, auto_now_t) {
  static_assert(column_traits<M>::type == ColumnType::timestamp, "gocp: auto_now applies only to timestamp fields");
  f.auto_now = true;
}
template <class T, class M>
constexpr void apply_option(Field<T, M>& f, auto_now_add_t) {
  static_assert(column_traits<M>::type == ColumnType::timestamp, "gocp: auto_now_add applies only to timestamp fields");
  f.auto_now_add = true;
}

/// An enum's stored form as a constant: its name (gocp::enum_names) or its integer.
template <class E>
constexpr Constant enum_constant(E e) {
  if constexpr (has_enum_names<E>) {
    for (const auto& [value, name] : enum_names<E>::values)
      if (value == e) return Constant(name);
    throw "gocp: default_value names an enum value missing from gocp::enum_names";  // a compile error
  } else {
    return Constant(static_cast<std::int64_t>(e));
  }
}

template <class T, class M, class V>
constexpr void apply_option(Field<T, M>& f, default_value<V> o) {
  static_assert(column_traits<M>::template accepts<V>,
                "gocp: default_value's type does not match the field's type");
  constexpr ColumnType type = column_traits<M>::type;
  static_assert(std::is_enum_v<V> || type == ColumnType::integer || type == ColumnType::real || type == ColumnType::text,
                "gocp: default_value applies to bool, integer, floating-point, text and enum fields; for a "
                "timestamp use gocp::auto_now_add, for others a default in the struct's member initializer");
  // Constant(...) spelled out: Clang 14 does not evaluate the converting assignment at compile time
  if constexpr (std::is_enum_v<V>) f.default_value = enum_constant(o.value);
  else if constexpr (std::is_convertible_v<V, std::string_view>) f.default_value = Constant(std::string_view(o.value));
  else if constexpr (std::is_floating_point_v<V>) f.default_value = Constant(static_cast<double>(o.value));
  else f.default_value = Constant(static_cast<std::int64_t>(o.value));
}

}  // namespace detail

/// A column backed by `member`, named `name` in SQL; options: max_length(n), unique,
/// default_value(v), auto_now, auto_now_add.
template <class T, class M, class... Options>
constexpr Field<T, M> field(M T::*member, std::string_view name, Options... options) {
  static_assert(column_traits<M>::supported,
                "gocp::field: unsupported member type; use bool, an integer of at most 64 bits, float/double, "
                "std::string, std::vector<std::byte>, std::chrono::system_clock::time_point (any sys_time), "
                "std::chrono::sys_days or year_month_day, an enum, or std::optional of one of them -- or map your "
                "type onto one of these with a gocp::field_traits<T> specialisation (gocp/field_traits.hpp)");
  Field<T, M> f{member, name};
  (detail::apply_option(f, options), ...);
  return f;
}

/// The primary key. An integer key auto-increments (0 means "not saved yet") unless
/// `gocp::manual` is passed; any other type is assigned by the caller.
template <class T, class M, class... Options>
constexpr Field<T, M> primary_key(M T::*member, std::string_view name, Options... options) {
  static_assert(!column_traits<M>::nullable, "gocp::primary_key: a primary key cannot be std::optional");
  Field<T, M> f = field(member, name);
  f.primary_key = true;
  f.auto_increment = column_traits<M>::type == ColumnType::integer && !std::is_same_v<M, bool>;
  (detail::apply_option(f, options), ...);
  return f;
}

/// The combination of these fields is unique across the table.
template <class T, class... Ms>
constexpr UniqueTogether<T, Ms...> unique_together(Ms T::*... members) {
  static_assert(sizeof...(Ms) >= 2, "gocp::unique_together needs at least two fields (use gocp::unique for one)");
  return {{members...}};
}

// ---- relations -----------------------------------------------------------------------

/// What the database does to the rows of a foreign key's model when the row they
/// reference is deleted (Django's on_delete), enforced by the database itself:
/// - `cascade`: they are deleted too (each one a RowChange of their table);
/// - `set_null`: their column is set to NULL (the field must be std::optional);
/// - `protect`: the delete fails with IntegrityError while any of them exists — even if
///   the same statement would delete them (SQL `ON DELETE RESTRICT`, checked at once);
/// - `restrict`: the delete fails with IntegrityError unless the same delete also
///   removes them through a cascade (SQL `NO ACTION`, checked at the end of the
///   statement), as Django's RESTRICT allows.
enum class on_delete { cascade, protect, set_null, restrict };

/// The type of gocp::references<P>: a tag whose static_assert names a target without a model.
template <class P>
struct references_t {
  static_assert(ModelType<P>,
                "gocp::references<T>: this type has no gocp::model<T> specialisation; declare it before the "
                "model whose foreign key references it");
  explicit references_t() = default;
};
/// The model a foreign key points at: `gocp::references<Parent>`.
template <class P>
inline constexpr references_t<P> references{};

/// A column holding the primary key of a row of P (see gocp::foreign_key).
template <class T, class M, class P>
struct ForeignKey {
  static constexpr SchemaItemKind kind = SchemaItemKind::foreign_key;  ///< for table()'s sorting
  using model_type = T;    ///< the model holding the column (the child)
  using member_type = M;   ///< the column's C++ type: P's primary key type, or std::optional of it
  using target_type = P;   ///< the referenced model (the parent)
  Field<T, M> field;       ///< the column itself, listed among the table's fields
  gocp::on_delete action;  ///< what deleting the referenced row does to this one
};

/// The type of gocp::through<T> (a tag: pass the constant).
template <class T>
struct through_t {
  explicit through_t() = default;
};
/// An explicit through model for gocp::many_to_many: `gocp::through<Membership>`.
template <class T>
inline constexpr through_t<T> through{};

/// A many-to-many relation to Target, stored in a through table named as Django names
/// it: `<owner table>_<name>` (library_book_authors) with columns `<owner>_id` and
/// `<target>_id` (book_id, author_id), a unique pair and an index on each — or in the
/// table of an explicit Through model, which has a foreign key to each side.
template <class Target, class Through = void>
struct ManyToMany {
  static constexpr SchemaItemKind kind = SchemaItemKind::many_to_many;  ///< for table()'s sorting
  using target_type = Target;    ///< the model on the other side
  using through_type = Through;  ///< the explicit through model, or void for a generated table
  std::string_view name;         ///< the relation's name, "authors"; part of the through table's name
};

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

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

template <class T>
constexpr const auto& fields_of() {
  return model<T>::schema.fields;
}

template <class T>
inline constexpr std::size_t field_count = std::tuple_size_v<std::remove_cvref_t<decltype(model<T>::schema.fields)>>;

/// Calls fn(field, index) for each field of T, in declaration order.
template <class T, class Fn>
constexpr void for_each_field(Fn&& fn) {
  std::apply(
      [&](const auto&... f) {
        std::size_t i = 0;
        (fn(f, i++), ...);
      },
      fields_of<T>());
}

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

// ---- runtime description, for SQL and keys -------------------------------------------

/// One column of a model at run time, from its Field: what SQL, validation and the codec read.
struct ColumnInfo {
  std::string_view name;  ///< the SQL column name, unquoted
  ColumnType type;        ///< its storage class
  bool nullable;          ///< the member is std::optional; NULL is its nullopt

  ///@{
  /// As the field was declared (gocp::primary_key, gocp::manual, gocp::unique).
  bool primary_key;
  bool auto_increment;
  bool unique;
  ///@}
  std::size_t max_length;  ///< in characters (UTF-8 code points); 0: unlimited
  detail::Constant default_value;  ///< the field's gocp::default_value; monostate: none
  bool auto_now = false;      ///< set to the current time on every create and save
  bool auto_now_add = false;  ///< set to the current time on create

  ///@{
  /// An integer column's range, the member type's (bool: 0 and 1); a write outside it
  /// is a ValidationError. 0 and 0 for other columns.
  std::int64_t min_value = 0;
  std::int64_t max_value = 0;
  ///@}
};

/// A foreign key column of a model: what it references and what a delete there does.
struct ForeignKeyInfo {
  std::size_t column;              ///< index of the key column in ModelInfo::columns
  std::string target_table;        ///< unquoted
  std::string_view target_column;  ///< the target's primary key column
  on_delete action;                ///< what deleting the referenced row does (enforced by the database)
};

struct ModelInfo;

/// A many-to-many relation of a model, and its through table.
struct ManyToManyInfo {
  std::string_view name;          ///< "authors"
  std::string_view target_model;  ///< "library.author"
  /// The through table: `id`, `<owner>_id`, `<target>_id`, or an explicit through model's.
  std::shared_ptr<const ModelInfo> through;
  ///@{
  /// Indices in the through table's columns of the key to the owner and to the target.
  std::size_t owner_column = 1, target_column = 2;
  ///@}

  /// A new link's row before its two keys are set: the through model's default object
  /// (its other columns' member initializers and default_values, as Django's through
  /// model instance takes its field defaults).
  std::vector<Value> default_row;
  bool explicit_through = false;  ///< created by its own repository, not the owner's
};

/// A model at run time (`Repository::info()`): built once per model from its gocp::model,
/// shared and immutable afterwards, so any thread may read it.
struct ModelInfo {
  std::string_view name;  ///< the model's name, "library.author": its cache alias and key prefix
  std::string table;  ///< the table name, unquoted
  std::vector<ColumnInfo> columns;  ///< in the schema's field order, which is the SELECT's order
  std::size_t pk = 0;               ///< index of the primary key in `columns`
  /// Each set of columns that is unique: the primary key, unique fields, unique_together.
  std::vector<std::vector<std::size_t>> unique_sets;
  std::uint64_t schema_hash = 0;  ///< gocp::schema_hash of the model
  std::vector<ForeignKeyInfo> foreign_keys;  ///< this model's own foreign key columns
  std::vector<ManyToManyInfo> many_to_many;  ///< relations declared on this model
  // SQL pieces written once rather than on every statement:
  std::string quoted_table;                 ///< "library_author"
  std::vector<std::string> quoted_columns;  ///< "id", "first_name", ...
  std::string select_all;                   ///< SELECT "id", ... FROM "library_author"
};

namespace detail {
/// `name` as a double-quoted SQL identifier (quotes inside doubled): valid on every backend.
inline std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + '"';
}

/// Fills in the quoted SQL pieces of `m` from its table and columns.
inline void finish_model_info(ModelInfo& m) {
  m.quoted_table = quote_identifier(m.table);
  m.quoted_columns.clear();
  m.select_all = "SELECT ";
  for (const ColumnInfo& c : m.columns) {
    m.quoted_columns.push_back(quote_identifier(c.name));
    m.select_all += (m.quoted_columns.size() > 1 ? ", " : "") + m.quoted_columns.back();
  }
  m.select_all += " FROM " + m.quoted_table;
}

/// Every foreign key of `m` (and of its through tables) in the process-wide registry.
inline void register_reverse_relations(const ModelInfo& m) {
  for (const ForeignKeyInfo& fk : m.foreign_keys)
    ReverseRelations::global().add(fk.target_table, {&m, fk.column, fk.action});
  for (const ManyToManyInfo& r : m.many_to_many) register_reverse_relations(*r.through);
}

template <class T>
std::string table_name() {
  if constexpr (requires { model<T>::table; }) {
    return std::string(model<T>::table);
  } else {
    std::string t(model<T>::name);
    for (char& ch : t)
      if (ch == '.') ch = '_';
    return t;
  }
}

/// The name of T's primary key column.
template <class T>
constexpr std::string_view pk_name() {
  std::string_view name;
  for_each_field<T>([&](const auto& f, std::size_t) {
    if (f.primary_key) name = f.name;
  });
  return name;
}

/// A column holding T's primary key in another table (not a key, not auto-incremented).
template <class T>
ColumnInfo key_column_of(std::string_view name) {
  ColumnInfo out{.name = name, .type = ColumnType::integer, .nullable = false, .primary_key = false,
                 .auto_increment = false, .unique = false, .max_length = 0, .default_value = {}};
  for_each_field<T>([&](const auto& f, std::size_t) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    if (!f.primary_key) return;
    out.type = column_traits<M>::type;
    out.max_length = f.max_length;
    if constexpr (column_traits<M>::type == ColumnType::integer) {
      out.min_value = detail::min_of<typename column_traits<M>::base>;
      out.max_value = detail::max_of<typename column_traits<M>::base>;
    }
  });
  return out;
}

/// "library.book" -> "book": how Django names a through table's columns (book_id).
constexpr std::string_view model_basename(std::string_view model_name) {
  const auto dot = model_name.rfind('.');
  return dot == std::string_view::npos ? model_name : model_name.substr(dot + 1);
}

/// A through table's description, owning the names its string_views point into.
struct ThroughTable : ModelInfo {
  std::string owned_name, owner_column, target_column;
};

/// The through table of Owner's many-to-many `name` to Target: `<owner table>_<name>`
/// with `id`, `<owner>_id`, `<target>_id` (`from_<m>_id` / `to_<m>_id` when both sides
/// are one model, as Django names them), the pair unique, each side cascading.
template <class Owner, class Target>
std::shared_ptr<const ModelInfo> through_info(std::string_view name, const std::string& owner_table) {
  auto t = std::make_shared<ThroughTable>();
  const std::string owner(model_basename(model<Owner>::name)), target(model_basename(model<Target>::name));
  const bool self = owner == target;
  t->owned_name = std::string(model<Owner>::name) + "_" + std::string(name);
  t->owner_column = (self ? "from_" : "") + owner + "_id";
  t->target_column = (self ? "to_" : "") + target + "_id";
  t->name = t->owned_name;
  t->table = owner_table + "_" + std::string(name);
  t->columns.push_back({.name = "id", .type = ColumnType::integer, .nullable = false, .primary_key = true,
                        .auto_increment = true, .unique = false, .max_length = 0, .default_value = {},
                        .min_value = min_of<std::int64_t>, .max_value = max_of<std::int64_t>});
  t->columns.push_back(key_column_of<Owner>(t->owner_column));
  t->columns.push_back(key_column_of<Target>(t->target_column));
  t->pk = 0;
  t->unique_sets = {{0}, {1, 2}};
  t->foreign_keys.push_back({1, owner_table, pk_name<Owner>(), on_delete::cascade});
  t->foreign_keys.push_back({2, table_name<Target>(), pk_name<Target>(), on_delete::cascade});
  t->schema_hash = fnv1a(fnv1a(14695981039346656037ull, t->table), t->target_column);
  finish_model_info(*t);
  return t;
}

}  // namespace detail

template <class T>
const ModelInfo& model_info();

namespace detail {

template <class T>
std::vector<Value> object_values(const T& obj);
template <class T>
void set_column(T& obj, std::size_t column, const Value& v);

/// How Owner's many-to-many `relation` is stored: the generated through table, or the
/// explicit through model's table with its two foreign keys (the first to Owner, the
/// first other one to Target).
template <class Owner, class Target, class Through>
ManyToManyInfo many_to_many_info(const ManyToMany<Target, Through>& relation, const std::string& owner_table) {
  ManyToManyInfo out;
  out.name = relation.name;
  out.target_model = model<Target>::name;
  if constexpr (std::is_void_v<Through>) {
    out.through = through_info<Owner, Target>(relation.name, owner_table);
    out.default_row.assign(3, Value{std::int64_t{0}});
  } else {
    const ModelInfo& info = model_info<Through>();
    out.through = std::shared_ptr<const ModelInfo>(&info, [](const ModelInfo*) {});  // a static: never freed
    out.explicit_through = true;
    std::size_t owner = npos, target = npos;
    for (const ForeignKeyInfo& fk : info.foreign_keys) {
      if (owner == npos && fk.target_table == owner_table) owner = fk.column;
      else if (target == npos && fk.target_table == table_name<Target>()) target = fk.column;
    }
    out.owner_column = owner;
    out.target_column = target;
    Through blank{};
    for (std::size_t i = 0; i < info.columns.size(); ++i)
      if (info.columns[i].default_value.index() != 0) set_column(blank, i, to_value(info.columns[i].default_value));
    out.default_row = object_values(blank);
  }
  return out;
}

/// The model's schema as data (model_info() keeps the one copy).
template <class T>
ModelInfo make_model_info() {
  ModelInfo m;
  m.name = model<T>::name;
  m.table = detail::table_name<T>();
  m.schema_hash = schema_hash<T>;
  detail::for_each_field<T>([&](const auto& f, std::size_t i) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    m.columns.push_back({f.name, column_traits<M>::type, column_traits<M>::nullable, f.primary_key,
                         f.auto_increment, f.unique, f.max_length, f.default_value, f.auto_now, f.auto_now_add});
    if constexpr (column_traits<M>::type == ColumnType::integer) {
      m.columns.back().min_value = detail::min_of<typename column_traits<M>::stored>;
      m.columns.back().max_value = detail::max_of<typename column_traits<M>::stored>;
    }
    if (f.primary_key) m.pk = i;
    if (f.primary_key || f.unique) m.unique_sets.push_back({i});
  });
  std::apply(
      [&](const auto&... u) {
        (std::apply([&](auto... members) { m.unique_sets.push_back({detail::column_index<T>(members)...}); },
                    u.members),
         ...);
      },
      model<T>::schema.constraints);
  std::apply(
      [&](const auto&... fk) {
        (m.foreign_keys.push_back({detail::column_index<T>(fk.field.member),
                                   detail::table_name<typename std::remove_cvref_t<decltype(fk)>::target_type>(),
                                   detail::pk_name<typename std::remove_cvref_t<decltype(fk)>::target_type>(),
                                   fk.action}),
         ...);
      },
      model<T>::schema.foreign_keys);
  std::apply([&](const auto&... r) { (m.many_to_many.push_back(detail::many_to_many_info<T>(r, m.table)), ...); },
              model<T>::schema.many_to_many);
  detail::finish_model_info(m);
  return m;
}

/// The one ModelInfo of T, its foreign keys registered with the tables they reference.
template <class T>
struct RegisteredModelInfo {
  ModelInfo info = make_model_info<T>();
  RegisteredModelInfo() { register_reverse_relations(info); }
};
}  // namespace detail

/// The model's schema as data, built once. Called on every statement: one guarded
/// static, so the call inlines to a load and a test.
template <class T>
const ModelInfo& model_info() {
  static const detail::RegisteredModelInfo<T> registered;
  return registered.info;
}

namespace detail {

/// "library.author.name": how errors name a field.
inline std::string qualified_name(std::string_view model_name, std::string_view field) {
  return std::string(model_name) + "." + std::string(field);
}

/// Reads every field of `obj` from a row whose columns are T's fields in schema order
/// (into an object that is already where it is wanted: no move of the whole object).
template <class T>
void read_into(T& obj, const Row& row) {
  for_each_field<T>([&](const auto& f, std::size_t i) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    column_traits<M>::read_into(obj.*f.member, row, static_cast<int>(i),
                                [&] { return qualified_name(model<T>::name, f.name); });
  });
}

/// Reads a whole object from a row whose columns are T's fields in schema order.
template <class T>
T read_object(const Row& row) {
  T obj{};
  read_into(obj, row);
  return obj;
}

template <class T>
Value get_column(const T& obj, std::size_t column) {
  Value out;
  for_each_field<T>([&](const auto& f, std::size_t i) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    if (i == column) out = column_traits<M>::to_value(obj.*f.member, [&] { return qualified_name(model<T>::name, f.name); });
  });
  return out;
}

/// Appends every column of obj, in schema order, to `out` (a vector or SmallVector).
template <class T, class Out>
void append_values(const T& obj, Out& out) {
  for_each_field<T>([&](const auto& f, std::size_t) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    const auto value = [&] {
      return column_traits<M>::to_value(obj.*f.member, [&] { return qualified_name(model<T>::name, f.name); });
    };
    if constexpr (requires { out.emplace_back_with(value); }) out.emplace_back_with(value);  // made in place
    else out.emplace_back(value());
  });
}

/// Every column of obj, in schema order.
template <class T>
std::vector<Value> object_values(const T& obj) {
  std::vector<Value> out;
  out.reserve(field_count<T>);
  append_values(obj, out);
  return out;
}

template <class T>
void set_column(T& obj, std::size_t column, const Value& v) {
  for_each_field<T>([&](const auto& f, std::size_t i) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    if (i == column) obj.*f.member = column_traits<M>::from_value(v, [&] { return qualified_name(model<T>::name, f.name); });
  });
}

/// The model's default object, as a create starts from it: `T{}` (its member
/// initializers), then each field's `default_value`.
template <class T>
T default_object() {
  T obj{};
  const ModelInfo& info = model_info<T>();
  for (std::size_t i = 0; i < info.columns.size(); ++i)
    if (info.columns[i].default_value.index() != 0) set_column(obj, i, to_value(info.columns[i].default_value));
  return obj;
}

/// The default object's values, appended to `out` in column order: `T{}`'s values with
/// each `default_value` in its column. A column in `skip` (bit c: column c) gets a NULL
/// placeholder instead, unconverted: its caller sets it (and a member type may refuse
/// its default, e.g. an address type whose `T{}` is empty).
template <class T, class Out>
void append_default_values(Out& out, std::uint64_t skip = 0) {
  const T blank{};
  const ModelInfo& info = model_info<T>();
  for_each_field<T>([&](const auto& f, std::size_t i) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    out.emplace_back_with([&] {
      if (i < 64 && (skip >> i & 1u)) return Value{};
      if (info.columns[i].default_value.index() != 0) return to_value(info.columns[i].default_value);
      return column_traits<M>::to_value(blank.*f.member, [&] { return qualified_name(model<T>::name, f.name); });
    });
  });
}

template <class T>
inline constexpr std::size_t pk_index = [] {
  std::size_t pk = 0;
  for_each_field<T>([&](const auto& f, std::size_t i) {
    if (f.primary_key) pk = i;
  });
  return pk;
}();

template <class T>
using pk_type =
    typename std::tuple_element_t<pk_index<T>, std::remove_cvref_t<decltype(model<T>::schema.fields)>>::member_type;

template <class T>
const pk_type<T>& pk_of(const T& obj) {
  return obj.*std::get<pk_index<T>>(model<T>::schema.fields).member;
}
/// get_column(obj, pk_index<T>), without looking for the column.
template <class T>
Value pk_value(const T& obj) {
  return column_traits<pk_type<T>>::to_value(pk_of(obj), [] {
    return qualified_name(model<T>::name, std::get<pk_index<T>>(model<T>::schema.fields).name);
  });
}
template <class T>
pk_type<T>& pk_of(T& obj) {
  return obj.*std::get<pk_index<T>>(model<T>::schema.fields).member;
}

}  // namespace detail

// ---- declaring relations (after pk_type: a foreign key checks its target's key) ------

/// A column referencing P's primary key, declared in T's schema in place of a field:
///
///     gocp::foreign_key(&Child::parent_id, "parent_id", gocp::references<Parent>, gocp::on_delete::cascade)
///
/// The member's type is P's primary key type, or std::optional of it for a nullable
/// reference (required by on_delete::set_null); declare P's gocp::model first, since
/// this checks it (a model referencing itself is not supported). The DDL adds a named
/// REFERENCES ... ON DELETE constraint and an index on the column. Field options
/// (gocp::unique for a one-to-one) follow.
template <class T, class M, class P, class... Options>
constexpr ForeignKey<T, M, P> foreign_key(M T::*member, std::string_view name, references_t<P>, on_delete action,
                                          Options... options) {
  static_assert(std::is_same_v<typename column_traits<M>::base, detail::pk_type<P>>,
                "gocp::foreign_key: the field's type must be the referenced model's primary key type (or "
                "std::optional of it)");
  return {field(member, name, options...), action};
}

/// A many-to-many relation to Target, declared as a static member of the owner's
/// gocp::model (so that relations can name it) and listed in its schema:
///
///     static constexpr auto authors = gocp::many_to_many<Author>("authors");
///     static constexpr auto schema = gocp::table(..., authors);
///
/// Its through table (see ManyToMany) is created by the owner's create_table(); create
/// Target's table first (PostgreSQL checks REFERENCES at once).
template <class Target>
constexpr ManyToMany<Target> many_to_many(std::string_view name) {
  return ManyToMany<Target>{name};
}

/// The same, stored in the table of the explicit through model Through (Django's
/// `through=`), which declares a gocp::foreign_key to each side and, usually,
/// unique_together over them; its other columns take the model's defaults when add()
/// or get_or_create links. Its table is created by its own repository's create_table().
template <class Target, class Through>
constexpr ManyToMany<Target, Through> many_to_many(std::string_view name, through_t<Through>) {
  return ManyToMany<Target, Through>{name};
}

}  // namespace gocp
