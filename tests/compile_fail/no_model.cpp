// Must not compile: a repository of a type with no gocp::model<T> specialisation. The
// only error names the missing specialisation, instead of a cascade from inside the
// library (ONLY_ERROR in tests/CMakeLists.txt).
#include <gocp/gocp.hpp>

struct Unmapped {
  std::int64_t id = 0;
};

void make(const gocp::Database& db) {
  gocp::Repository<Unmapped> unmapped{db};
  static_cast<void>(unmapped);
}
