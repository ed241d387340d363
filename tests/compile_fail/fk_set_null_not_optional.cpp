// Must not compile: on_delete::set_null on a column that cannot hold NULL.
#include "models.hpp"

namespace {
struct Review {
  std::int64_t id = 0;
  std::int64_t book_id = 0;  // needs std::optional for set_null
};
}  // namespace

template <>
struct gocp::model<Review> {
  static constexpr std::string_view name = "compile_fail.review";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Review::id, "id"),
      gocp::foreign_key(&Review::book_id, "book_id", gocp::references<compile_fail::Book>, gocp::on_delete::set_null));
};

void make(const gocp::Database& db) {
  gocp::Repository<Review> rows{db};
  static_cast<void>(rows);
}
