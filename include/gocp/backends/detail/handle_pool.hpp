#pragma once
// A bounded pool of client handles (hiredis contexts, memcached_st clones), for the
// shared caches: their handles are not thread-safe, so each call borrows one. A handle
// that failed is discarded, not reused; after any failure the pool's epoch moves on and
// every handle opened before it is discarded when next seen, so a server restart costs
// one failed call, not one per pooled connection. In a child forked from the process
// that opened them, the handles are the parent's (detail/fork_generation.hpp): they are
// dropped without being closed (libmemcached's close sends `quit` on the socket the parent
// still uses) and the child opens its own.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "../../detail/fork_generation.hpp"
#include "../../errors.hpp"

namespace gocp::detail {

template <class Handle>  // a move-only owner, e.g. std::unique_ptr<redisContext, Deleter>
class HandlePool {
 public:
  /// At most `max_size` handles; a borrower waits up to `wait` for one, then gets a
  /// CacheTimeout naming `what` (the redacted URL).
  HandlePool(std::function<Handle()> open, std::size_t max_size, std::chrono::milliseconds wait, std::string what)
      : open_(std::move(open)), max_size_(max_size), wait_(wait), what_(std::move(what)) {
    count_forks();
    generation_ = fork_generation();
  }
  HandlePool(const HandlePool&) = delete;
  HandlePool& operator=(const HandlePool&) = delete;
  ~HandlePool() {
    if (generation_ != fork_generation()) forget_the_parents();  // else its own: closed with idle_
  }

  class Lease {
   public:
    Lease(HandlePool* pool, Handle h, std::uint64_t epoch)
        : pool_(pool), handle_(std::move(h)), epoch_(epoch), generation_(fork_generation()) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (generation_ != fork_generation()) [[unlikely]] static_cast<void>(handle_.release());  // the parent's
      else pool_->give_back(std::move(handle_), epoch_, broken_);
    }

    auto* get() const noexcept { return handle_.get(); }
    /// The handle failed: close it instead of lending it again.
    void discard() noexcept { broken_ = true; }

   private:
    HandlePool* pool_;
    Handle handle_;
    std::uint64_t epoch_;
    std::uint64_t generation_;  ///< the process's fork generation when it was borrowed
    bool broken_ = false;
  };

  Lease acquire() {
    std::unique_lock lock(mutex_);
    if (generation_ != fork_generation()) [[unlikely]] {  // a child's first borrow: the parent's handles dropped
      forget_the_parents();
      open_count_ = 0;
      generation_ = fork_generation();
    }
    auto available = [&] { return !idle_.empty() || open_count_ < max_size_; };
    if (!freed_.wait_for(lock, wait_, available))
      throw CacheTimeout("gocp: timed out after " + std::to_string(wait_.count()) + " ms waiting for one of " +
                         std::to_string(max_size_) + " connections to '" + what_ + "'");
    const std::uint64_t epoch = epoch_.load(std::memory_order_relaxed);
    while (!idle_.empty()) {
      auto [h, born] = std::move(idle_.back());
      idle_.pop_back();
      if (born == epoch) return Lease(this, std::move(h), born);
      --open_count_;  // opened before a failure: likely dead too
    }
    ++open_count_;
    lock.unlock();
    try {
      return Lease(this, open_(), epoch);
    } catch (...) {
      lock.lock();
      --open_count_;
      freed_.notify_one();
      throw;
    }
  }

  /// After a failure: every handle opened before now is closed when next seen.
  void retire_all() noexcept { epoch_.fetch_add(1, std::memory_order_relaxed); }

 private:
  /// In a forked child: drops the idle handles without closing them (they are the
  /// parent's) and makes the condition anew (a parent's borrower may have waited on it).
  void forget_the_parents() noexcept {
    for (auto& entry : idle_) static_cast<void>(entry.first.release());
    idle_.clear();
    std::construct_at(&freed_);
  }

  void give_back(Handle h, std::uint64_t born, bool broken) noexcept {
    {
      std::lock_guard lock(mutex_);
      if (!broken && born == epoch_.load(std::memory_order_relaxed)) {
        idle_.emplace_back(std::move(h), born);
      } else {
        --open_count_;
      }
    }
    freed_.notify_one();
    // `h` (if not kept) closes here, outside the lock
  }

  std::function<Handle()> open_;
  std::size_t max_size_;
  std::chrono::milliseconds wait_;
  std::string what_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::pair<Handle, std::uint64_t>> idle_;
  std::size_t open_count_ = 0;
  std::atomic<std::uint64_t> epoch_{0};
  std::uint64_t generation_ = 0;  ///< under mutex_: the fork generation its handles belong to
};

}  // namespace gocp::detail
