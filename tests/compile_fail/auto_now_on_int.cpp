// Must not compile: auto_now on an integer field (it sets a timestamp).
#include "models.hpp"

namespace {
struct Stamp {
  std::int64_t id = 0;
  std::int64_t at = 0;
};
}  // namespace

template <>
struct gocp::model<Stamp> {
  static constexpr std::string_view name = "compile_fail.stamp";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Stamp::id, "id"), gocp::field(&Stamp::at, "at", gocp::auto_now));
};
