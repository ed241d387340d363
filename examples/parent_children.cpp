// GetOrCreatePlus's parent with children: the parent's create makes its children through
// the reverse relation (Django's `parent.children.get_or_create(**child)`), each child
// create without its own savepoint (NonAtomicGetOrCreate), all inside one db.atomic — so
// the family is created whole or not at all: a throw half-way leaves neither parent nor
// children.

#include <gocp/gocp.hpp>

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

struct Parent {
  std::int64_t id = 0;
  std::string name;
};
struct Child {
  std::int64_t id = 0;
  std::int64_t parent_id = 0;
  std::string name;
};

template <>
struct gocp::model<Parent> {
  static constexpr std::string_view name = "family.parent";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Parent::id, "id"), gocp::field(&Parent::name, "name", gocp::unique));
};
template <>
struct gocp::model<Child> {
  static constexpr std::string_view name = "family.child";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Child::id, "id"),
      gocp::foreign_key(&Child::parent_id, "parent_id", gocp::references<Parent>, gocp::on_delete::cascade),
      gocp::field(&Child::name, "name"),
      gocp::unique_together(&Child::parent_id, &Child::name));  // makes the children's get_or_create race-free
};

using gocp::c;

/// The parent named `name` with these children, made in one transaction: the parent by
/// get_or_create, each child through the relation (parent_id bound and written).
Parent get_or_create_family(const gocp::Database& db, const gocp::Repository<Parent>& parents,
                            const gocp::Repository<Child, gocp::NonAtomicGetOrCreate>& children,
                            const std::string& name, const std::vector<std::string>& child_names,
                            const std::string& fail_at = "") {
  return db.atomic([&] {
    auto [parent, created] = parents.get_or_create(c(&Parent::name) == name);
    auto kids = gocp::related(children, parent);
    for (const std::string& child : child_names) {
      if (child == fail_at) throw std::runtime_error("failed at " + child);
      kids.get_or_create(c(&Child::name) == child);
    }
    return parent;
  });
}

int main() {
  auto db = gocp::Database::open("sqlite::memory:");
  gocp::Repository<Parent> parents{db};
  gocp::Repository<Child, gocp::NonAtomicGetOrCreate> children{db};
  parents.create_table();
  children.create_table();

  const auto savepoints = db.savepoints_begun();
  const Parent ann = get_or_create_family(db, parents, children, "Ann", {"Bob", "Cid", "Dee"});
  get_or_create_family(db, parents, children, "Ann", {"Bob", "Eve"});  // Bob exists: only Eve is new
  const auto kids = gocp::related(children, ann).all();
  const auto used = db.savepoints_begun() - savepoints;  // the parent's create only
  std::printf("Ann has %zu children; %llu savepoint(s) for 5 creates\n", kids.size(),
              static_cast<unsigned long long>(used));

  bool failed = false;
  try {
    get_or_create_family(db, parents, children, "Zoe", {"Yan", "Xia", "Wu"}, "Wu");
  } catch (const std::runtime_error& e) {
    failed = true;
    std::printf("Zoe's family: %s, rolled back\n", e.what());
  }
  const bool zoe_left = parents.find(c(&Parent::name) == "Zoe").has_value();
  std::printf("after the failure: Zoe %s, %zu children in all\n", zoe_left ? "exists" : "does not exist",
              children.count());

  parents.remove(ann);  // on_delete::cascade: her children go with her
  std::printf("after deleting Ann: %zu children\n", children.count());

  const bool ok = kids.size() == 4 && used == 1 && failed && !zoe_left &&
                  children.count() == 0 && parents.count() == 0;
  std::puts(ok ? "OK" : "UNEXPECTED");
  return ok ? 0 : 1;
}
