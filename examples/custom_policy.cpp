// A user's own policy in a dozen lines: it counts and logs every get_or_create, then
// hands the call on to the policies below it. Combine it with the built-in ones in
// any order; listing it twice does not compile.

#include <gocp/gocp.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

struct CountedGetOrCreate {
  template <class Base>
  class mixin : public Base {
   public:
    using Base::Base;

    template <class E, class D = gocp::Defaults<typename Base::model_type>>
    auto get_or_create(const E& lookup, const D& defaults = {}) const {
      auto result = Base::get_or_create(lookup, defaults);
      calls_->fetch_add(1);
      std::printf("  get_or_create #%d -> id %lld (%s)\n", calls_->load(), static_cast<long long>(result.first.id),
                  result.second ? "created" : "found");
      return result;
    }
    int calls() const { return calls_->load(); }

   private:
    std::shared_ptr<std::atomic<int>> calls_ = std::make_shared<std::atomic<int>>(0);  // shared by filtered copies
  };
};

struct Tag {
  std::int64_t id = 0;
  std::string label;
};

template <>
struct gocp::model<Tag> {
  static constexpr std::string_view name = "blog.tag";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Tag::id, "id"), gocp::field(&Tag::label, "label", gocp::unique));
};

int main() {
  using gocp::c;
  auto db = gocp::Database::open("sqlite::memory:");
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"blog.tag", "locmem:///"}};
  gocp::Repository<Tag, CountedGetOrCreate, gocp::CachedGetOrCreate> tags{db, caches};
  tags.create_table();

  for (const char* label : {"c++", "sql", "c++", "c++"}) tags.get_or_create(c(&Tag::label) == label);
  const auto stats = tags.stats();
  std::printf("%d calls, %zu rows, %llu cache hits\n", tags.calls(), tags.count(),
              static_cast<unsigned long long>(stats.hits));
  return tags.calls() == 4 && tags.count() == 2 && stats.hits == 2 ? 0 : 1;
}
