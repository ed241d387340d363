// Must not compile: a member of a type gocp cannot store, without a gocp::field_traits
// mapping; the one error names the supported types and the customisation point.
#include "models.hpp"

namespace {
struct Point {
  int x = 0, y = 0;
};
struct Place {
  std::int64_t id = 0;
  Point where;
};
}  // namespace

template <>
struct gocp::model<Place> {
  static constexpr std::string_view name = "compile_fail.place";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Place::id, "id"), gocp::field(&Place::where, "where"));
};

int main() { return static_cast<int>(gocp::schema_hash<Place> & 1); }
