#pragma once
// What a write checks before it reaches the database: a value the schema refuses is a
// ValidationError naming the field, never a silent truncation.

#include <cstddef>
#include <string>
#include <variant>

#include "../errors.hpp"
#include "../model.hpp"

namespace gocp {
struct Dialect;
}

namespace gocp::detail {

inline void validate_value(const ModelInfo& info, const Dialect&, std::size_t column, const Value& v) {
  const ColumnInfo& col = info.columns[column];
  if (const auto* s = std::get_if<std::string>(&v); s && col.max_length && s->size() > col.max_length) {
    throw ValidationError("gocp: '" + std::string(info.name) + "." + std::string(col.name) + "' is " +
                          std::to_string(s->size()) + " bytes, longer than its max_length " +
                          std::to_string(col.max_length));
  }
}

}  // namespace gocp::detail
