// Must not compile: max_length on an integer field.
#include "models.hpp"

namespace {
struct Counter {
  std::int64_t id = 0;
  int hits = 0;
};
}  // namespace

template <>
struct gocp::model<Counter> {
  static constexpr std::string_view name = "compile_fail.counter";
  static constexpr auto schema = gocp::table(gocp::primary_key(&Counter::id, "id"),
                                             gocp::field(&Counter::hits, "hits", gocp::max_length(10)));
};
