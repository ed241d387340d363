#pragma once
/// \file
/// The definitions behind <gocp/db/pool.hpp>: included by it in header-only mode, compiled
/// once by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "../errors.hpp"
#include "pool.hpp"

namespace gocp::detail {

GOCP_INLINE ConnectionPool::~ConnectionPool() {
  if (forked()) [[unlikely]] {  // the parent's: closing one here would close the parent's session
    forget_the_parents();
    return;
  }
  for (HotSlot& slot : hot_) delete slot.connection.exchange(nullptr);
}

GOCP_INLINE void ConnectionPool::forget_the_parents() noexcept {
  for (HotSlot& slot : hot_) static_cast<void>(slot.connection.exchange(nullptr));
  for (auto& c : idle_) static_cast<void>(c.release());
  idle_.clear();
  std::construct_at(&freed_);  // without the parent's waiters (a condition is not destroyed with one)
}

GOCP_INLINE void ConnectionPool::adopt_after_fork() {
  std::lock_guard lock(mutex_);
  if (!forked()) return;  // another of the child's threads did
  forget_the_parents();
  open_ = 0;  // the parent's leases are not this process's to give back
  cursor_holders_.clear();
  generation_.store(fork_generation(), std::memory_order_release);
}

GOCP_INLINE ConnectionPool::Lease ConnectionPool::acquire() {
  if (forked()) [[unlikely]] adopt_after_fork();
  if (std::unique_ptr<Connection> c{hot_[home_slot()].connection.exchange(nullptr)}) return lend(std::move(c));
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + wait_timeout_;
  for (;;) {
    if (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      return lend(std::move(c));
    }
    // A new connection before another thread's hot one: each busy thread comes to keep
    // one of its own (up to max_size), as a connection per thread would.
    if (open_ < max_size_) {
      ++open_;
      lock.unlock();
      return open_in_freed_slot();
    }
    // the hot slots may be emptied by borrowers that take no lock: look again on every pass
    if (std::unique_ptr<Connection> c = take_any_hot()) {
      lock.unlock();
      return lend(std::move(c));
    }
    refuse_to_wait_for_own_cursors();
    auto available = [&] { return !idle_.empty() || open_ < max_size_ || any_hot(); };
    waiting_.fetch_add(1);
    struct Done {  // however the wait ends
      std::atomic<std::size_t>& waiting;
      ~Done() { waiting.fetch_sub(1); }
    } done{waiting_};
    if (wait_timeout_.count() == 0) {
      freed_.wait(lock, available);
    } else if (!freed_.wait_until(lock, deadline, available)) {
      throw OperationalError("gocp: timed out after " + std::to_string(wait_timeout_.count()) +
                                 " ms waiting for one of " + std::to_string(max_size_) + " connections to '" +
                                 url_ + "'",
                             true);
    }
  }
}

GOCP_INLINE void ConnectionPool::note_cursor_lease(std::thread::id holder) {
  std::lock_guard lock(mutex_);
  cursor_holders_.push_back(holder);
}

GOCP_INLINE void ConnectionPool::forget_cursor_lease(std::thread::id holder) noexcept {
  std::lock_guard lock(mutex_);
  if (auto it = std::find(cursor_holders_.begin(), cursor_holders_.end(), holder); it != cursor_holders_.end())
    cursor_holders_.erase(it);
}

GOCP_INLINE void ConnectionPool::refuse_to_wait_for_own_cursors() const {
  const auto here = std::this_thread::get_id();
  if (static_cast<std::size_t>(std::count(cursor_holders_.begin(), cursor_holders_.end(), here)) < max_size_) return;
  throw Error("gocp: this thread would wait forever for a connection to '" + url_ + "': all " +
              std::to_string(max_size_) + " of its pool's connections are held by cursors (iterate()) open on "
              "this same thread. Run the statement after the loop, or close the cursor first, or allow more "
              "connections (?pool=N in the database URL)");
}

GOCP_INLINE ConnectionPool::Lease ConnectionPool::lend(std::unique_ptr<Connection> c) {
  if (c->revalidate()) return Lease(this, std::move(c));
  c.reset();
  return open_in_freed_slot();
}

GOCP_INLINE ConnectionPool::Lease ConnectionPool::open_in_freed_slot() {
  try {
    return Lease(this, connect_());
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      --open_;
    }
    freed_.notify_one();
    throw;
  }
}

GOCP_INLINE void ConnectionPool::release(std::unique_ptr<Connection> c) noexcept {
  // Into the thread's hot slot when nobody waits. A borrower that starts waiting
  // meanwhile counts itself in waiting_ before it looks at the slots (both sequentially
  // consistent), so either it sees the connection there or this sees it and wakes it.
  if (waiting_.load() == 0 && c->usable()) {
    Connection* empty = nullptr;
    if (hot_[home_slot()].connection.compare_exchange_strong(empty, c.get())) {
      c.release();
      if (waiting_.load() != 0) {
        std::lock_guard lock(mutex_);  // a waiter between its check and its wait holds the mutex
        freed_.notify_all();
      }
      return;
    }
  }
  {
    std::lock_guard lock(mutex_);
    if (c->usable()) {
      idle_.push_back(std::move(c));
    } else {
      --open_;
    }
  }
  freed_.notify_one();
  // `c` (if not kept) closes here, outside the lock
}

}  // namespace gocp::detail
