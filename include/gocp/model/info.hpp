#pragma once
/// \file
/// A model's runtime description (`ModelInfo`, `model_info<T>()`) for SQL, keys and
/// validation, and reading and writing an object's columns as Values (see <gocp/model.hpp>).


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

#include "../detail/config.hpp"
#include "../detail/reverse_relations.hpp"
#include "table.hpp"

namespace gocp {

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
  bool required = false;      ///< gocp::required: a get_or_create's create must be given it

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
  std::string_view target_model = {};  ///< the referenced model's name, "library.author", for errors
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
  std::vector<std::size_t> required;  ///< the gocp::required columns, for the create's check
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
GOCP_INLINE void finish_model_info(ModelInfo& m);

/// Every foreign key of `m` (and of its through tables) in the process-wide registry.
GOCP_INLINE void register_reverse_relations(const ModelInfo& m);

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
  t->foreign_keys.push_back({1, owner_table, pk_name<Owner>(), on_delete::cascade, model<Owner>::name});
  t->foreign_keys.push_back({2, table_name<Target>(), pk_name<Target>(), on_delete::cascade, model<Target>::name});
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
                         f.auto_increment, f.unique, f.max_length, f.default_value, f.auto_now, f.auto_now_add,
                         f.required});
    if (f.required) m.required.push_back(i);
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
                                   fk.action,
                                   model<typename std::remove_cvref_t<decltype(fk)>::target_type>::name}),
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
GOCP_INLINE std::string qualified_name(std::string_view model_name, std::string_view field);

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

/// Writes every column of obj, in schema order, over out[0], out[1], ...: a text or
/// integer member is written into the Value of its kind already there, a text reusing
/// its storage (bulk_create's rows, kept between calls, are written over without
/// allocating).
template <class T>
void assign_values(const T& obj, Value* out) {
  for_each_field<T>([&](const auto& f, std::size_t i) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    if constexpr (std::is_same_v<M, std::string>) {
      if (auto* text = std::get_if<std::string>(&out[i])) {
        text->assign(obj.*f.member);
        return;
      }
    } else if constexpr (kind_of<M>() == Kind::integer) {  // stored as column_traits<M>::to_value stores it
      if (auto* number = std::get_if<std::int64_t>(&out[i])) {
        *number = static_cast<std::int64_t>(obj.*f.member);
        return;
      }
    }
    out[i] = column_traits<M>::to_value(obj.*f.member, [&] { return qualified_name(model<T>::name, f.name); });
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

}  // namespace gocp

#if !defined(GOCP_COMPILED)
#include "info-inl.hpp"
#endif
