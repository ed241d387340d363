// Must not compile: a foreign key to a type that has no gocp::model.
#include "models.hpp"

namespace {
struct Unmodelled {
  std::int64_t id = 0;
};
struct Orphan {
  std::int64_t id = 0;
  std::int64_t owner_id = 0;
};
}  // namespace

template <>
struct gocp::model<Orphan> {
  static constexpr std::string_view name = "compile_fail.orphan";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Orphan::id, "id"),
                  gocp::foreign_key(&Orphan::owner_id, "owner_id", gocp::references<Unmodelled>, gocp::on_delete::cascade));
};

void make(const gocp::Database& db) {
  gocp::Repository<Orphan> rows{db};
  static_cast<void>(rows);
}
