// Must not compile: an explicit through model without a foreign key to each side.
#include "models.hpp"

namespace {
struct Shelf {
  std::int64_t id = 0;
  std::string name;
};
struct Placement {  // no gocp::foreign_key to the book
  std::int64_t id = 0;
  std::int64_t shelf_id = 0;
  std::int64_t book_id = 0;
};
}  // namespace

template <>
struct gocp::model<Placement>;  // defined after Shelf, whose key it references
template <>
struct gocp::model<Shelf> {
  static constexpr std::string_view name = "compile_fail.shelf";
  static constexpr auto books = gocp::many_to_many<compile_fail::Book>("books", gocp::through<Placement>);
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Shelf::id, "id"), gocp::field(&Shelf::name, "name"), books);
};

template <>
struct gocp::model<Placement> {
  static constexpr std::string_view name = "compile_fail.placement";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Placement::id, "id"),
      gocp::foreign_key(&Placement::shelf_id, "shelf_id", gocp::references<Shelf>, gocp::on_delete::cascade),
      gocp::field(&Placement::book_id, "book_id"));
};
void make(const gocp::Database& db) {
  gocp::Repository<Shelf> shelves{db};
  static_cast<void>(shelves);
}
