#pragma once
// error_of<E>(fn): the what() of the E that fn throws; fails the test if it throws none.

#include <catch2/catch.hpp>

#include <string>

namespace gocp::test {

template <class E, class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("expected an exception, none was thrown");
  return {};
}

}  // namespace gocp::test
