#pragma once
// A bounded pool of connections. A thread borrows one per statement (or per
// transaction) and gives it back; a connection that broke is dropped, not reused, and
// one that died while idle (Connection::revalidate) is replaced before it is lent.
//
// A get_or_create borrows twice (its SELECT, then its create's transaction), so the
// common case -- a connection given back while nobody waits, borrowed again by the same
// thread -- goes through an atomic slot of the thread's own, without the mutex or the
// condition variable. One slot per thread (kHotSlots of them, on their own cache lines),
// not one for the pool: with one, two busy threads took turns at it and the loser went
// through the mutex on every statement.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../errors.hpp"
#include "../spi/connection.hpp"

namespace gocp::detail {

class ConnectionPool {
 public:
  using Factory = std::function<std::unique_ptr<Connection>()>;

  /// `max_size` connections at most; a borrower waits up to `wait_timeout` for one
  /// (zero: forever). `url` names the database in errors (password redacted).
  ConnectionPool(Factory connect, std::size_t max_size, std::chrono::milliseconds wait_timeout, std::string url)
      : connect_(std::move(connect)), max_size_(max_size), wait_timeout_(wait_timeout), url_(std::move(url)) {}
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  ~ConnectionPool() {
    for (HotSlot& slot : hot_) delete slot.connection.exchange(nullptr);
  }

  class Lease {
   public:
    Lease() = default;
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> c) : pool_(pool), connection_(std::move(c)) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&& o) noexcept {
      give_back();
      pool_ = o.pool_;
      connection_ = std::move(o.connection_);
      return *this;
    }
    ~Lease() { give_back(); }

    Connection& operator*() const noexcept { return *connection_; }
    Connection* operator->() const noexcept { return connection_.get(); }

   private:
    void give_back() noexcept {
      if (connection_) pool_->release(std::move(connection_));
    }
    ConnectionPool* pool_ = nullptr;
    std::unique_ptr<Connection> connection_;
  };

  Lease acquire() {
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

  std::size_t max_size() const noexcept { return max_size_; }

  /// A cursor (db/cursor.hpp) opened on this thread keeps a lease until it closes:
  /// noted, so that a borrower waiting for a connection only its own cursors hold is
  /// told so instead of waiting forever.
  void note_cursor_lease(std::thread::id holder) {
    std::lock_guard lock(mutex_);
    cursor_holders_.push_back(holder);
  }
  /// The cursor noted by note_cursor_lease(holder) gave its lease back.
  void forget_cursor_lease(std::thread::id holder) noexcept {
    std::lock_guard lock(mutex_);
    if (auto it = std::find(cursor_holders_.begin(), cursor_holders_.end(), holder); it != cursor_holders_.end())
      cursor_holders_.erase(it);
  }

 private:
  static constexpr std::size_t kHotSlots = 8;
  /// One idle connection, borrowed without the mutex; on a cache line of its own, so two
  /// threads' slots never share one.
  struct alignas(64) HotSlot {
    std::atomic<Connection*> connection{nullptr};  ///< owned
  };

  /// The calling thread's hot slot: threads are numbered as they first borrow from any
  /// pool, so up to kHotSlots threads each have a slot of their own.
  static std::size_t home_slot() noexcept {
    static std::atomic<std::size_t> threads{0};
    static thread_local const std::size_t slot = threads.fetch_add(1, std::memory_order_relaxed) % kHotSlots;
    return slot;
  }

  std::unique_ptr<Connection> take_any_hot() noexcept {
    for (HotSlot& slot : hot_)
      if (Connection* c = slot.connection.exchange(nullptr)) return std::unique_ptr<Connection>(c);
    return nullptr;
  }

  bool any_hot() const noexcept {
    for (const HotSlot& slot : hot_)
      if (slot.connection.load() != nullptr) return true;
    return false;
  }

  /// Called with mutex_ held, before waiting: when every connection is held by a cursor
  /// this very thread has open, no one would ever give one back.
  void refuse_to_wait_for_own_cursors() const {
    const auto here = std::this_thread::get_id();
    if (static_cast<std::size_t>(std::count(cursor_holders_.begin(), cursor_holders_.end(), here)) < max_size_) return;
    throw Error("gocp: this thread would wait forever for a connection to '" + url_ + "': all " +
                std::to_string(max_size_) + " of its pool's connections are held by cursors (iterate()) open on "
                "this same thread. Run the statement after the loop, or close the cursor first, or allow more "
                "connections (?pool=N in the database URL)");
  }

  /// `c`, an idle connection, lent; if it died while idle (a server restart), a fresh
  /// one in its slot.
  Lease lend(std::unique_ptr<Connection> c) {
    if (c->revalidate()) return Lease(this, std::move(c));
    c.reset();
    return open_in_freed_slot();
  }

  /// A new connection in a slot already counted in open_ (given back if it fails).
  Lease open_in_freed_slot() {
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

  void release(std::unique_ptr<Connection> c) noexcept {
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

  Factory connect_;
  std::size_t max_size_;
  std::chrono::milliseconds wait_timeout_;
  std::string url_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  ///< connections lent, idle or in a hot slot
  std::array<HotSlot, kHotSlots> hot_{};  ///< idle connections, one per thread, borrowed without the mutex
  std::atomic<std::size_t> waiting_{0};   ///< borrowers waiting on freed_
  std::vector<std::thread::id> cursor_holders_;  ///< under mutex_: the thread of each cursor's lease
};

}  // namespace gocp::detail
