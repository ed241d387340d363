#pragma once
/// \file
/// Declaring relations in a model's schema (see <gocp/model.hpp>): foreign keys with
/// their on_delete action, and many-to-many relations with an implicit or explicit
/// through table.


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

#include "fields.hpp"

namespace gocp {

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

// ---- declaring relations -----------------------------------------------------------

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
