#pragma once
// What a written value must satisfy before it reaches the database: an integer within
// its member's range, text within max_length characters, no NaN where the backend
// would store it as NULL. Every write path (create, save, update, defaults) calls it.

#include <cmath>
#include <cstddef>
#include <string>
#include <variant>

#include "../dialect.hpp"
#include "../errors.hpp"
#include "../model.hpp"
#include "utf8.hpp"

namespace gocp::detail {

/// Throws a ValidationError naming "<model name>.<column name>" when `v` cannot be
/// written to column `column` of the model on a backend of `dialect`.
inline void validate_value(const ModelInfo& info, const Dialect& dialect, std::size_t column, const Value& v) {
  const ColumnInfo& col = info.columns[column];
  const auto what = [&] { return qualified_name(info.name, col.name); };
  if (const auto* i = std::get_if<std::int64_t>(&v); i && col.type == ColumnType::integer) {
    if (*i < col.min_value || *i > col.max_value) throw_out_of_range(what, std::to_string(*i), col.min_value, col.max_value);
  } else if (const auto* d = std::get_if<double>(&v); d && std::isnan(*d) && !dialect.stores_nan) {
    throw ValidationError("gocp: '" + what() + "' is NaN, which " + std::string(dialect.name) +
                          " would store as NULL");
  } else if (const auto* s = std::get_if<std::string>(&v); s && col.max_length) {
    if (const std::size_t n = utf8_length(*s); n > col.max_length)
      throw ValidationError("gocp: '" + what() + "' is " + std::to_string(n) +
                            " characters, longer than its max_length " + std::to_string(col.max_length));
  }
}

}  // namespace gocp::detail
