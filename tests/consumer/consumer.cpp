#include <gocp/gocp.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

struct Item {
  std::int64_t id = 0;
  std::string name;
};

template <> struct gocp::model<Item> {
  static constexpr std::string_view name = "consumer.item";
  static constexpr auto schema = gocp::table(gocp::primary_key(&Item::id, "id"),
                                             gocp::field(&Item::name, "name", gocp::max_length(50), gocp::unique));
};

int main() {
  auto db = gocp::Database::open("sqlite::memory:");
  gocp::Repository<Item> items{db};
  items.create_table();
  auto [first, created] = items.get_or_create(gocp::c(&Item::name) == "consumer");
  auto [again, created_again] = items.get_or_create(gocp::c(&Item::name) == "consumer");
  const bool ok = created && !created_again && first.id == again.id && first.id != 0;
  std::printf("consumer: %s (id %lld)\n", ok ? "ok" : "FAILED", static_cast<long long>(first.id));
  return ok ? 0 : 1;
}
