#pragma once
// The message of the error a call must throw, for tests that check what it says:
//
//     CHECK_THAT(gocp::test::thrown<gocp::ConfigurationError>([&] { open(bad_url); }),
//                Catch::Contains("timeout_ms"));

#include <catch2/catch.hpp>

#include <string>
#include <typeinfo>

namespace gocp::test {

/// Calls fn, which must throw an E; returns its what(). Fails the test when fn returns.
template <class E, class F>
std::string thrown(F&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("the call returned: it had to throw (" << typeid(E).name() << ")");
  return {};
}

}  // namespace gocp::test
