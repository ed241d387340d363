#pragma once
// A reader-writer lock for the typed tier's shards, whose readers hold it for one hash
// lookup and one copy and whose writers (fills, invalidations) are rare and as short.
// Taking and leaving it is one atomic operation each, inline, for a reader: std::shared_mutex
// (pthread_rwlock) costs a call and several times the instructions, which a typed hit
// pays twice. A writer first claims the writer bit, which keeps new readers out, then
// waits for the readers inside to leave, so readers cannot starve it. Waiters spin a
// little, then yield the core (a holder may have been preempted).

#include <atomic>
#include <cstdint>
#include <thread>

namespace gocp::detail {

class SharedSpinLock {
 public:
  void lock_shared() noexcept {
    // one fetch_add, never a compare-exchange that two readers could make each other retry
    for (unsigned spins = 0;; ++spins) {
      if (!(state_.fetch_add(1, std::memory_order_acquire) & kWriter)) return;
      state_.fetch_sub(1, std::memory_order_relaxed);  // a writer holds or waits: step back, let it in
      while (state_.load(std::memory_order_relaxed) & kWriter) pause(spins++);
    }
  }
  void unlock_shared() noexcept { state_.fetch_sub(1, std::memory_order_release); }

  void lock() noexcept {
    for (unsigned spins = 0;; ++spins) {
      std::uint32_t s = state_.load(std::memory_order_relaxed);
      if (!(s & kWriter) && state_.compare_exchange_weak(s, s | kWriter, std::memory_order_acquire, std::memory_order_relaxed))
        break;
      pause(spins);
    }
    for (unsigned spins = 0; state_.load(std::memory_order_acquire) != kWriter; ++spins) pause(spins);  // readers leave
  }
  // readers stepping in and back out may count meanwhile: clear the bit alone
  void unlock() noexcept { state_.fetch_and(~kWriter, std::memory_order_release); }

 private:
  static constexpr std::uint32_t kWriter = 1u << 31;

  static void pause(unsigned spins) noexcept {
    if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }

  std::atomic<std::uint32_t> state_{0};  ///< kWriter: a writer holds or waits; below it, the readers inside
};

}  // namespace gocp::detail
