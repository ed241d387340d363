// Children created through the reverse relation, racing: 8 threads sharing a Database,
// then 4 processes each with its own, all getting-or-creating the same parents and the
// same children of each (unique_together(parent_id, name) is what makes it race-free).
// Whatever the interleaving: one row per (parent, name), created once, and every caller
// got that row. Run per database (one binary: test_relations_concurrency, ..._pg).

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/database_url.hpp"
#include "support/processes.hpp"
#include "support/relation_models.hpp"
#include "support/temp_dir.hpp"

using gocp::c;
using rel::Child;
using rel::Parent;

namespace {

constexpr int kParents = 5;
constexpr int kNames = 20;
constexpr int kKeys = kParents * kNames;

std::string parent_name(int p) { return "parent '" + std::to_string(p) + "'"; }
std::string child_name(int n) { return "child " + std::to_string(n) + "; --"; }

/// One caller's answer for key k = parent * kNames + name.
struct Report {
  std::int64_t parent_id = 0, child_id = 0, child_parent_id = 0;
  bool created = false;
};

/// Every (parent, name) once, in an order of this seed's.
std::vector<Report> run_all(const gocp::Database& db, std::uint32_t seed) {
  gocp::Repository<Parent> parents{db};
  gocp::Repository<Child> children{db};
  std::vector<int> order(kKeys);
  for (int k = 0; k < kKeys; ++k) order[k] = k;
  std::mt19937 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<Report> out(kKeys);
  for (int k : order) {
    auto [parent, _] = parents.get_or_create(c(&Parent::name) == parent_name(k / kNames));
    auto [child, created] = gocp::related(children, parent).get_or_create(c(&Child::name) == child_name(k % kNames));
    if (child.name != child_name(k % kNames)) throw std::logic_error("got '" + child.name + "'");
    out[k] = {parent.id, child.id, child.parent_id, created};
  }
  return out;
}

/// What the tables hold: key -> (parent id, child id), read on a fresh handle.
std::map<int, std::pair<std::int64_t, std::int64_t>> stored(const std::string& url) {
  auto db = gocp::Database::open(url);
  std::map<std::string, std::int64_t> parent_ids;
  for (const Parent& p : gocp::Repository<Parent>{db}.all()) parent_ids[p.name] = p.id;
  std::map<int, std::pair<std::int64_t, std::int64_t>> out;
  for (const Child& ch : gocp::Repository<Child>{db}.all()) {
    for (int p = 0; p < kParents; ++p) {
      if (parent_ids[parent_name(p)] != ch.parent_id) continue;
      for (int n = 0; n < kNames; ++n)
        if (ch.name == child_name(n)) out[p * kNames + n] = {ch.parent_id, ch.id};
    }
  }
  return out;
}

/// Checks the reports of every caller against the tables.
void check_agreement(const std::string& url, const std::vector<std::vector<Report>>& reports) {
  auto db = gocp::Database::open(url);
  REQUIRE(gocp::Repository<Parent>{db}.count() == kParents);
  REQUIRE(gocp::Repository<Child>{db}.count() == kKeys);  // one row per (parent, name)
  const auto rows = stored(url);
  REQUIRE(rows.size() == kKeys);
  int disagreements = 0, created_wrong = 0;
  for (int k = 0; k < kKeys; ++k) {
    int created = 0;
    for (const auto& caller : reports) {
      const Report& r = caller.at(k);
      created += r.created;
      disagreements += r.child_id != rows.at(k).second || r.parent_id != rows.at(k).first ||
                       r.child_parent_id != rows.at(k).first;
    }
    created_wrong += created != 1;
  }
  CHECK(disagreements == 0);  // every caller got the stored parent and child
  CHECK(created_wrong == 0);  // each child created exactly once
}

void create_tables(const std::string& url) {
  auto db = gocp::Database::open(url);
  gocp::Repository<Parent>{db}.create_table();
  gocp::Repository<Child>{db}.create_table();
}

}  // namespace

TEST_CASE("8 threads creating the same children of the same parents through the relation agree on every pk",
          "[relations][concurrency][threads]") {
  constexpr int kThreads = 8;
  gocp::test::TempDir dir;
  const std::string url = gocp::test::database_url(dir);
  create_tables(url);
  auto db = gocp::Database::open(url);
  std::vector<std::vector<Report>> reports(kThreads);
  gocp::test::check_no_errors(
      gocp::test::run_threads(kThreads, [&](int t) { reports[t] = run_all(db, static_cast<std::uint32_t>(t * 7919)); }));
  check_agreement(url, reports);
}

TEST_CASE("4 processes creating the same children of the same parents through the relation agree on every pk",
          "[relations][concurrency][processes]") {
  constexpr int kChildren = 4;
  gocp::test::TempDir dir;
  const std::string url = gocp::test::database_url(dir);
  create_tables(url);  // every connection closed again: nothing crosses the fork
  std::vector<std::string> outputs;
  for (int i = 0; i < kChildren; ++i) outputs.push_back(dir.file("child-" + std::to_string(i) + ".txt").string());

  gocp::test::check_exited_cleanly(gocp::test::run_processes(kChildren, [&](int i) {
    auto db = gocp::Database::open(url);
    std::ostringstream lines;
    for (const Report& r : run_all(db, 1000 + static_cast<std::uint32_t>(i)))
      lines << r.parent_id << ' ' << r.child_id << ' ' << r.child_parent_id << ' ' << r.created << '\n';
    std::ofstream out(outputs[i]);
    out << lines.str();
    out.close();
    return out ? 0 : 1;
  }));
  std::vector<std::vector<Report>> reports(kChildren);
  for (int i = 0; i < kChildren; ++i) {
    std::ifstream in(outputs[i]);
    REQUIRE(in);
    Report r;
    while (in >> r.parent_id >> r.child_id >> r.child_parent_id >> r.created) reports[i].push_back(r);
    REQUIRE(reports[i].size() == kKeys);
  }
  check_agreement(url, reports);
}
