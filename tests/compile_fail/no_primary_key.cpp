// Must not compile: a schema without a primary key, used by a repository.
#include "models.hpp"

namespace {
struct Keyless {
  std::int64_t id = 0;
  std::string name;
};
}  // namespace

template <>
struct gocp::model<Keyless> {
  static constexpr std::string_view name = "compile_fail.keyless";
  static constexpr auto schema = gocp::table(gocp::field(&Keyless::id, "id"), gocp::field(&Keyless::name, "name"));
};

void make(const gocp::Database& db) {
  gocp::Repository<Keyless> rows{db};
  static_cast<void>(rows);
}
