#pragma once
/// \file
/// The definitions behind <gocp/model/info.hpp>'s functions that are the same for every
/// model: included by it in header-only mode, compiled once by src/gocp.cpp for
/// gocp::gocp_compiled (detail/config.hpp).

#include <string>
#include <string_view>

#include "info.hpp"

namespace gocp {
namespace detail {

GOCP_INLINE void finish_model_info(ModelInfo& m) {
  m.quoted_table = quote_identifier(m.table);
  m.quoted_columns.clear();
  m.select_all = "SELECT ";
  for (const ColumnInfo& c : m.columns) {
    m.quoted_columns.push_back(quote_identifier(c.name));
    m.select_all += (m.quoted_columns.size() > 1 ? ", " : "") + m.quoted_columns.back();
  }
  m.select_all += " FROM " + m.quoted_table;
}

GOCP_INLINE void register_reverse_relations(const ModelInfo& m) {
  for (const ForeignKeyInfo& fk : m.foreign_keys)
    ReverseRelations::global().add(fk.target_table, {&m, fk.column, fk.action});
  for (const ManyToManyInfo& r : m.many_to_many) register_reverse_relations(*r.through);
}

GOCP_INLINE std::string qualified_name(std::string_view model_name, std::string_view field) {
  return std::string(model_name) + "." + std::string(field);
}

}  // namespace detail
}  // namespace gocp
