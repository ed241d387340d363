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
///
/// The description lives in model/, one idea a header: fields.hpp (fields, options,
/// keys), relations.hpp (foreign keys, many-to-many), table.hpp (the schema value and
/// its checks), info.hpp (the runtime description and object access).

#include "model/fields.hpp"
#include "model/relations.hpp"
#include "model/table.hpp"
#include "model/info.hpp"
