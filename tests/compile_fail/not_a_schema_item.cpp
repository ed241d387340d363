// Must not compile: a field option passed to table() instead of inside field().
#include <gocp/gocp.hpp>

#include <cstdint>
#include <string>

struct Loose {
  std::int64_t id = 0;
  std::string name;
};

template <>
struct gocp::model<Loose> {
  static constexpr std::string_view name = "compile_fail.loose";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Loose::id, "id"), gocp::field(&Loose::name, "name"), gocp::max_length(5));
};

int main() { return static_cast<int>(gocp::schema_hash<Loose> & 1); }
