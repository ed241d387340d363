// A user's own policy in a dozen lines: an audit log that sees every write to the
// table — through this repository, through another one without caches, bulk updates and
// deletes included — once each write has committed. Rolled-back writes never show.
// Combine it with the built-in policies in any order; listing it twice does not compile.

#include <gocp/gocp.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct AuditLog : gocp::Policy {
  struct Log {
    std::mutex mutex;
    std::vector<std::string> lines;
  };
  std::shared_ptr<Log> log = std::make_shared<Log>();  // shared by the repository's filtered copies

  void on_change(const gocp::RowChange& change) const {  // any thread, after the commit
    const char* what = change.is_insert() ? "insert" : change.is_delete() ? "delete" : "update";
    std::lock_guard lock(log->mutex);
    log->lines.push_back(std::string(what) + " " + change.table + " #" + std::to_string(std::get<std::int64_t>(change.pk)));
  }
};

struct Tag {
  std::int64_t id = 0;
  std::string label;
  int uses = 0;
};

template <>
struct gocp::model<Tag> {
  static constexpr std::string_view name = "blog.tag";
  static constexpr auto schema = gocp::table(gocp::primary_key(&Tag::id, "id"),
                                             gocp::field(&Tag::label, "label", gocp::unique),
                                             gocp::field(&Tag::uses, "uses"));
};

int main() {
  using gocp::c;
  auto db = gocp::Database::open("sqlite::memory:");
  gocp::CacheRegistry caches{{"default", "locmem:///"}, {"blog.tag", "locmem:///"}};
  gocp::Repository<Tag, AuditLog, gocp::CachedGetOrCreate> tags{db, caches};
  gocp::Repository<Tag> plain{db};  // no policies, no caches: its writes are logged too
  tags.create_table();

  for (const char* label : {"c++", "sql", "c++"}) tags.get_or_create(c(&Tag::label) == label);
  plain.filter(c(&Tag::label) == "sql").update(c(&Tag::uses) = 2);
  try {
    db.atomic([&] {
      plain.create(Tag{0, "never", 0});
      throw std::runtime_error("rolled back");  // nothing of this reaches the log
    });
  } catch (const std::runtime_error&) {
  }
  plain.remove_all();

  const auto& lines = tags.policy<AuditLog>().log->lines;
  for (const auto& line : lines) std::printf("  %s\n", line.c_str());
  // 2 inserts (the repeated "c++" is found, not created), 1 update, 2 deletes
  return lines.size() == 5 && lines[2] == "update blog_tag #2" ? 0 : 1;
}
