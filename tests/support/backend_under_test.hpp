#pragma once
// Which backend a backend-neutral suite runs against, chosen at run time: each such suite
// is one binary, registered with CTest once per backend (tests/CMakeLists.txt,
// gocp_run_suite_on) with GOCP_TEST_DATABASE / GOCP_TEST_CACHE in its environment, so it
// is compiled once, not once per backend. Unset means the embedded default (SQLite,
// locmem); a value the binary was not built for fails the test, naming what is missing.

#include <cstdlib>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

namespace gocp::test {

/// The value of `variable`, checked against `known` (the values this binary supports);
/// `fallback` when unset or empty.
inline std::string backend_from_environment(const char* variable, std::string_view fallback,
                                            std::initializer_list<std::string_view> known) {
  const char* value = std::getenv(variable);
  if (!value || !*value) return std::string(fallback);
  for (std::string_view k : known)
    if (k == value) return std::string(value);
  std::string list;
  for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
  throw std::runtime_error(std::string(variable) + "=" + value + ": this test binary runs on " + list +
                           " only (a backend's client library missing at configure time is not built in)");
}

}  // namespace gocp::test
