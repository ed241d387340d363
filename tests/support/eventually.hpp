#pragma once
// Waiting for what another thread or process makes true (a notice heard, a listener
// connected again), without sleeping longer than it takes.

#include <chrono>
#include <thread>

namespace gocp::test {

/// Polls `done()` every `poll` until it holds or `timeout` has passed; returns its last
/// answer. The caller REQUIREs what it waited for, so a timeout fails the test loudly.
template <class Done>
bool eventually(Done&& done, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                std::chrono::microseconds poll = std::chrono::microseconds(200)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(poll);
  }
  return true;
}

}  // namespace gocp::test
