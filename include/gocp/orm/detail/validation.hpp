#pragma once
// What a written value must satisfy before it reaches the database: an integer within
// its member's range, text within max_length characters, no NaN where the backend
// would store it as NULL and no -0.0 where it would read back as +0.0 (SQLite: both
// refused with a ValidationError naming the field, so every value written reads back
// exactly; PostgreSQL keeps both). Every write path (create, save, update, defaults)
// calls it.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "../../dialect.hpp"
#include "../../errors.hpp"
#include "../../model.hpp"
#include "../../detail/utf8.hpp"

namespace gocp::detail {

/// The errors of validate_value(), out of its hot path.
[[noreturn]] inline void throw_invalid_integer(const ModelInfo& info, const ColumnInfo& col, std::int64_t i) {
  throw_out_of_range([&] { return qualified_name(info.name, col.name); }, std::to_string(i), col.min_value,
                     col.max_value);
}
[[noreturn]] inline void throw_nan(const ModelInfo& info, const ColumnInfo& col, const Dialect& dialect) {
  throw ValidationError("gocp: '" + qualified_name(info.name, col.name) + "' is NaN, which " +
                        std::string(dialect.name) + " would store as NULL");
}
[[noreturn]] inline void throw_negative_zero(const ModelInfo& info, const ColumnInfo& col, const Dialect& dialect) {
  throw ValidationError("gocp: '" + qualified_name(info.name, col.name) + "' is -0.0, which " +
                        std::string(dialect.name) + " would store as 0.0 (write 0.0, or std::abs of the value)");
}
[[noreturn]] inline void throw_too_long(const ModelInfo& info, const ColumnInfo& col, std::size_t characters) {
  throw ValidationError("gocp: '" + qualified_name(info.name, col.name) + "' is " + std::to_string(characters) +
                        " characters, longer than its max_length " + std::to_string(col.max_length));
}

/// Throws a ValidationError naming "<model name>.<column name>" when `v` cannot be
/// written to column `column` of the model on a backend of `dialect`.
inline void validate_value(const ModelInfo& info, const Dialect& dialect, std::size_t column, const Value& v) {
  const ColumnInfo& col = info.columns[column];
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    if (col.type == ColumnType::integer && (*i < col.min_value || *i > col.max_value)) throw_invalid_integer(info, col, *i);
  } else if (const auto* d = std::get_if<double>(&v)) {
    if (std::isnan(*d) && !dialect.stores_nan) throw_nan(info, col, dialect);
    if (*d == 0 && std::signbit(*d) && !dialect.stores_negative_zero) throw_negative_zero(info, col, dialect);
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    // a character is at least one byte: only text longer in bytes can be too long
    if (col.max_length && s->size() > col.max_length)
      if (const std::size_t n = utf8_length(*s); n > col.max_length) throw_too_long(info, col, n);
  }
}

}  // namespace gocp::detail
