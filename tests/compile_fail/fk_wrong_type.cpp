// Must not compile: a foreign key whose member's type is not the target's primary key type.
#include "models.hpp"

namespace {
struct Review {
  std::int64_t id = 0;
  std::string book_id;  // the book's key is an integer
};
}  // namespace

template <>
struct gocp::model<Review> {
  static constexpr std::string_view name = "compile_fail.review";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Review::id, "id"),
      gocp::foreign_key(&Review::book_id, "book_id", gocp::references<compile_fail::Book>, gocp::on_delete::cascade));
};

void make(const gocp::Database& db) {
  gocp::Repository<Review> rows{db};
  static_cast<void>(rows);
}
