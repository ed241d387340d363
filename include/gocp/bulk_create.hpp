#pragma once
/// \file
/// The options of `Repository::bulk_create` (Django's `bulk_create`): the batch size,
/// and what a row that conflicts with a unique constraint does — fail the call (the
/// default), be skipped (`ignore_conflicts`), or update the row it conflicts with
/// (`update_conflicts`, Django 4.1's upsert):
///
///     links.bulk_create(rows);                                     // all or nothing
///     links.bulk_create(rows, {.batch_size = 500});
///     tags.bulk_create(rows, {.ignore_conflicts = true});          // skip existing names
///     tags.bulk_create(rows, {.update_conflicts = gocp::update_conflicts(
///                                 gocp::unique_fields(&Tag::name), gocp::update_fields(&Tag::uses))});
///
/// Fields are named by member pointer: a field of another model does not compile.

#include <cstddef>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "errors.hpp"
#include "model.hpp"

namespace gocp {

namespace detail {
/// The column of T that `member` backs; a member the schema does not list is a
/// ConfigurationError naming the model and `what` (the option it was given to).
template <class T, class M>
std::size_t option_column(M T::*member, const char* what) {
  const std::size_t column = column_index<T>(member);
  if (column == npos)
    throw ConfigurationError("gocp: a member of '" + std::string(model<T>::name) + "' given to " + what +
                             " is not listed in gocp::model<...>::schema");
  return column;
}
}  // namespace detail

/// The fields of the unique constraint an upsert's conflicts are detected on (SQL's
/// `ON CONFLICT (...)`): exactly the fields of one of the model's unique sets — the
/// primary key, a `gocp::unique` field or a `gocp::unique_together` — in any order.
template <class T>
struct UniqueFields {
  std::vector<std::size_t> columns;  ///< indices in ModelInfo::columns, as given
};

/// The fields an upsert sets, on a row that conflicted, to the new row's values (SQL's
/// `DO UPDATE SET f = excluded.f`): at least one, and never the primary key.
template <class T>
struct UpdateFields {
  std::vector<std::size_t> columns;  ///< indices in ModelInfo::columns, as given
};

/// `gocp::unique_fields(&Tag::name)`: see UniqueFields. All fields of one model.
template <class T, class M, class... Ts, class... Ms>
UniqueFields<T> unique_fields(M T::*first, Ms Ts::*... rest) {
  static_assert((std::is_same_v<T, Ts> && ...), "gocp::unique_fields: all fields must be of the same model");
  return {{detail::option_column(first, "unique_fields"), detail::option_column(rest, "unique_fields")...}};
}

/// `gocp::update_fields(&Tag::uses)`: see UpdateFields. All fields of one model.
template <class T, class M, class... Ts, class... Ms>
UpdateFields<T> update_fields(M T::*first, Ms Ts::*... rest) {
  static_assert((std::is_same_v<T, Ts> && ...), "gocp::update_fields: all fields must be of the same model");
  return {{detail::option_column(first, "update_fields"), detail::option_column(rest, "update_fields")...}};
}

/// Django 4.1's `update_conflicts=True, unique_fields=..., update_fields=...`: a row
/// whose unique_fields hold the values of an existing row updates that row's
/// update_fields instead of being inserted (`INSERT ... ON CONFLICT (...) DO UPDATE`).
/// Made by gocp::update_conflicts(...).
template <class T>
struct UpdateConflicts {
  UniqueFields<T> unique_fields;  ///< the conflict target
  UpdateFields<T> update_fields;  ///< what a conflicting row updates

  /// Both lists, of model T.
  UpdateConflicts(UniqueFields<T> unique, UpdateFields<T> update)
      : unique_fields(std::move(unique)), update_fields(std::move(update)) {}

  /// Another model's: one readable error where a repository of T is given it.
  template <class Other>
    requires(!std::is_same_v<Other, T>)
  UpdateConflicts(const UpdateConflicts<Other>&) {
    static_assert(detail::always_false<Other>,
                  "gocp: bulk_create's update_conflicts names fields of another model than the repository's");
  }
};

/// `gocp::update_conflicts(gocp::unique_fields(&Tag::name), gocp::update_fields(&Tag::uses))`.
template <class T, class U>
UpdateConflicts<T> update_conflicts(UniqueFields<T> unique, UpdateFields<U> update) {
  static_assert(std::is_same_v<T, U>, "gocp::update_conflicts: unique_fields and update_fields name different models");
  if constexpr (std::is_same_v<T, U>) return {std::move(unique), std::move(update)};
  else return {std::move(unique), {}};
}

/// How Repository<T>::bulk_create writes: Django's `batch_size`, `ignore_conflicts`
/// and `update_conflicts` (at most one of the last two).
template <class T>
struct BulkCreate {
  /// Rows per INSERT statement; 0 (the default) is as many as the backend binds in one
  /// statement (SQLite: 32766 parameters by default, PostgreSQL: 65535) divided by the
  /// columns written. A larger batch_size is lowered to that, since a statement cannot
  /// bind more.
  std::size_t batch_size = 0;
  /// Skip a row that conflicts with a unique constraint (`ON CONFLICT DO NOTHING`)
  /// instead of failing the call: it is not written and comes back exactly as given.
  bool ignore_conflicts = false;
  /// Update the row a row conflicts with instead (see UpdateConflicts).
  std::optional<UpdateConflicts<T>> update_conflicts{};
};

}  // namespace gocp
