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
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "value.hpp"

namespace gocp {

/// Specialise for each model type; see the file comment. The primary template only marks
/// a type that has none, for the concept below.
template <class T>
struct model {
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
  std::size_t value;
  constexpr explicit max_length(std::size_t n) noexcept : value(n) {}
};

struct unique_t {
  explicit unique_t() = default;
};
/// The field's values are unique across the table.
inline constexpr unique_t unique{};

struct manual_t {
  explicit manual_t() = default;
};
/// An integer primary key the caller assigns (not auto-incremented).
inline constexpr manual_t manual{};

/// The value a create uses when neither the lookup nor the defaults give the field one.
template <class V>
struct default_value {
  V value;
  constexpr explicit default_value(V v) noexcept : value(v) {}
};

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

/// What a schema item is; table() accepts only the kinds listed here (foreign keys and
/// many-to-many relations will be kinds of their own).
enum class SchemaItemKind { field, unique_together };

template <class T, class M>
struct Field {
  static constexpr SchemaItemKind kind = SchemaItemKind::field;
  using model_type = T;
  using member_type = M;
  M T::*member;
  std::string_view name;
  bool primary_key = false;
  bool auto_increment = false;
  bool unique = false;
  std::size_t max_length = 0;
  detail::Constant default_value{};
};

template <class T, class... Ms>
struct UniqueTogether {
  static constexpr SchemaItemKind kind = SchemaItemKind::unique_together;
  using model_type = T;
  std::tuple<Ms T::*...> members;
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
template <class T, class M, class V>
constexpr void apply_option(Field<T, M>& f, default_value<V> o) {
  static_assert(column_traits<M>::template accepts<V>,
                "gocp: default_value's type does not match the field's type");
  // Constant(...) spelled out: Clang 14 does not evaluate the converting assignment at compile time
  if constexpr (std::is_convertible_v<V, std::string_view>) f.default_value = Constant(std::string_view(o.value));
  else if constexpr (std::is_floating_point_v<V>) f.default_value = Constant(static_cast<double>(o.value));
  else f.default_value = Constant(static_cast<std::int64_t>(o.value));
}

}  // namespace detail

/// A column backed by `member`, named `name` in SQL; options: max_length(n), unique,
/// default_value(v).
template <class T, class M, class... Options>
constexpr Field<T, M> field(M T::*member, std::string_view name, Options... options) {
  static_assert(column_traits<M>::supported,
                "gocp::field: unsupported member type; use bool, an integer of at most 64 bits, "
                "float/double, std::string, or std::optional of one of them");
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

template <class Fields, class Constraints>
struct Table {
  Fields fields;
  Constraints constraints;
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

/// The schema: fields (gocp::field, gocp::primary_key) and constraints
/// (gocp::unique_together), in any order.
template <class... Items>
constexpr auto table(Items... items) {
  static_assert((detail::is_schema_item<Items> && ...),
                "gocp::table: every argument must be a schema item -- gocp::field(...), gocp::primary_key(...) or "
                "gocp::unique_together(...); field options such as gocp::max_length go inside gocp::field(...)");
  auto fields = std::tuple_cat(detail::keep_if_kind<SchemaItemKind::field>(items)...);
  auto constraints = std::tuple_cat(detail::keep_if_kind<SchemaItemKind::unique_together>(items)...);
  return Table<decltype(fields), decltype(constraints)>{fields, constraints};
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
  return true;
}

}  // namespace detail

/// Changes whenever the model's layout does (names, types, nullability, keys, lengths,
/// constraints): cache entries and keys carry it, so an old layout's entry is a miss.
template <class T>
inline constexpr std::uint64_t schema_hash = (detail::check_schema<T>(), detail::compute_schema_hash<T>());

// ---- runtime description, for SQL and keys -------------------------------------------

struct ColumnInfo {
  std::string_view name;
  ColumnType type;
  bool nullable;
  bool primary_key;
  bool auto_increment;
  bool unique;
  std::size_t max_length;  ///< in characters (UTF-8 code points); 0: unlimited
  detail::Constant default_value;
  /// An integer column's range, the member type's (bool: 0 and 1); a write outside it
  /// is a ValidationError. 0 and 0 for other columns.
  std::int64_t min_value = 0;
  std::int64_t max_value = 0;
};

struct ModelInfo {
  std::string_view name;
  std::string table;  ///< the table name, unquoted
  std::vector<ColumnInfo> columns;
  std::size_t pk = 0;
  /// Each set of columns that is unique: the primary key, unique fields, unique_together.
  std::vector<std::vector<std::size_t>> unique_sets;
  std::uint64_t schema_hash = 0;
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
}  // namespace detail

/// The model's schema as data, built once.
template <class T>
const ModelInfo& model_info() {
  static const ModelInfo info = [] {
    ModelInfo m;
    m.name = model<T>::name;
    m.table = detail::table_name<T>();
    m.schema_hash = schema_hash<T>;
    detail::for_each_field<T>([&](const auto& f, std::size_t i) {
      using M = typename std::remove_cvref_t<decltype(f)>::member_type;
      m.columns.push_back({f.name, column_traits<M>::type, column_traits<M>::nullable, f.primary_key,
                           f.auto_increment, f.unique, f.max_length, f.default_value});
      if constexpr (column_traits<M>::type == ColumnType::integer) {
        m.columns.back().min_value = detail::min_of<typename column_traits<M>::base>;
        m.columns.back().max_value = detail::max_of<typename column_traits<M>::base>;
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
    m.quoted_table = detail::quote_identifier(m.table);
    m.select_all = "SELECT ";
    for (const ColumnInfo& c : m.columns) {
      m.quoted_columns.push_back(detail::quote_identifier(c.name));
      m.select_all += (m.quoted_columns.size() > 1 ? ", " : "") + m.quoted_columns.back();
    }
    m.select_all += " FROM " + m.quoted_table;
    return m;
  }();
  return info;
}

namespace detail {

/// "library.author.name": how errors name a field.
inline std::string qualified_name(std::string_view model_name, std::string_view field) {
  return std::string(model_name) + "." + std::string(field);
}

/// Reads a whole object from a row whose columns are T's fields in schema order.
template <class T>
T read_object(const Row& row) {
  T obj{};
  for_each_field<T>([&](const auto& f, std::size_t i) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    obj.*f.member =
        column_traits<M>::read(row, static_cast<int>(i), [&] { return qualified_name(model<T>::name, f.name); });
  });
  return obj;
}

template <class T>
Value get_column(const T& obj, std::size_t column) {
  Value out;
  for_each_field<T>([&](const auto& f, std::size_t i) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    if (i == column) out = column_traits<M>::to_value(obj.*f.member);
  });
  return out;
}

/// Every column of obj, in schema order.
template <class T>
std::vector<Value> object_values(const T& obj) {
  std::vector<Value> out;
  out.reserve(field_count<T>);
  for_each_field<T>([&](const auto& f, std::size_t) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    out.push_back(column_traits<M>::to_value(obj.*f.member));
  });
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
template <class T>
pk_type<T>& pk_of(T& obj) {
  return obj.*std::get<pk_index<T>>(model<T>::schema.fields).member;
}

}  // namespace detail
}  // namespace gocp
