#pragma once
// Which foreign keys point at each table, for the whole process: a delete of a parent
// row reads the rows the database is about to cascade to (or set NULL in) so that each
// becomes a RowChange of its own table. A model's foreign keys are registered when its
// model_info() is first built (any repository of it does that), so every child model a
// process uses — hence every cache of one — is known before its parents are deleted.

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config.hpp"

namespace gocp {

enum class on_delete;
struct ModelInfo;

namespace detail {

struct ReverseRelation {
  const ModelInfo* child;  ///< the model holding the foreign key
  std::size_t column;      ///< its foreign key column
  on_delete action;
};

class ReverseRelations {
 public:
  static ReverseRelations& global();

  void add(const std::string& target_table, ReverseRelation relation);

  /// The foreign keys pointing at `table` (a copy: registration may go on meanwhile).
  std::vector<ReverseRelation> of(const std::string& table) const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::vector<ReverseRelation>> by_target_;
};

}  // namespace detail
}  // namespace gocp

#if !defined(GOCP_COMPILED)
#include "reverse_relations-inl.hpp"
#endif
