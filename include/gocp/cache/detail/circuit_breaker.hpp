#pragma once
// A circuit breaker for one cache alias. Closed: calls go through. A failure opens it:
// calls are refused at once (no timeout paid per call) until `retry_at`; then exactly
// one caller becomes the probe (state probing) and the others keep being refused. The
// probe's success closes it; its failure reopens it with the backoff doubled, up to a
// bound. The fast path is one relaxed-acquire load.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace gocp::detail {

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Admit { go, probe, refuse };

  CircuitBreaker(std::chrono::milliseconds first_backoff, std::chrono::milliseconds max_backoff)
      : first_(first_backoff), max_(std::max(first_backoff, max_backoff)), backoff_(first_backoff) {}

  Admit admit() noexcept {
    State s = state_.load(std::memory_order_acquire);
    if (s == State::closed) return Admit::go;
    if (s == State::probing || Clock::now().time_since_epoch().count() < retry_at_.load(std::memory_order_acquire))
      return Admit::refuse;
    return state_.compare_exchange_strong(s, State::probing, std::memory_order_acq_rel) ? Admit::probe : Admit::refuse;
  }

  bool closed() const noexcept { return state_.load(std::memory_order_acquire) == State::closed; }

  /// Opens (or keeps open) the circuit. A failed probe doubles the backoff; the first
  /// failure after a closed spell starts from the first backoff. Callers serialize
  /// open/close (SharedCache holds its mutex).
  void open() noexcept {
    const State s = state_.load(std::memory_order_acquire);
    if (s == State::open) return;  // already skipping: keep the probe time
    backoff_ = s == State::probing ? std::min(backoff_ * 2, max_) : first_;
    retry_at_.store((Clock::now() + backoff_).time_since_epoch().count(), std::memory_order_release);
    state_.store(State::open, std::memory_order_release);
  }

  /// Lets the next caller probe at once (the probe was fine but has more to deliver).
  void reopen_now() noexcept {
    retry_at_.store(Clock::now().time_since_epoch().count(), std::memory_order_release);
    state_.store(State::open, std::memory_order_release);
  }

  void close() noexcept { state_.store(State::closed, std::memory_order_release); }

  /// Milliseconds until the next probe may run (0 when closed or due).
  std::int64_t next_probe_in_ms() const noexcept {
    const auto left = Clock::duration(retry_at_.load(std::memory_order_acquire)) - Clock::now().time_since_epoch();
    return std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(left).count());
  }

 private:
  enum class State : std::uint8_t { closed, open, probing };
  std::atomic<State> state_{State::closed};
  std::atomic<Clock::rep> retry_at_{0};
  std::chrono::milliseconds first_, max_, backoff_;
};

}  // namespace gocp::detail
