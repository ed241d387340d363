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
//
// In a child forked from the process that made it, the pool's connections are the
// parent's (detail/fork_generation.hpp): the child's first borrow drops them without
// closing them and opens its own; a pool destroyed in a child that never borrowed leaves
// them alone too.

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

#include "../detail/config.hpp"
#include "../detail/fork_generation.hpp"
#include "../errors.hpp"
#include "../spi/connection.hpp"

namespace gocp::detail {

class ConnectionPool {
 public:
  using Factory = std::function<std::unique_ptr<Connection>()>;

  /// `max_size` connections at most; a borrower waits up to `wait_timeout` for one
  /// (zero: forever). `url` names the database in errors (password redacted).
  ConnectionPool(Factory connect, std::size_t max_size, std::chrono::milliseconds wait_timeout, std::string url)
      : connect_(std::move(connect)), max_size_(max_size), wait_timeout_(wait_timeout), url_(std::move(url)) {
    count_forks();
    generation_.store(fork_generation(), std::memory_order_relaxed);
  }
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  ~ConnectionPool();

  class Lease {
   public:
    Lease() = default;
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> c)
        : pool_(pool), connection_(std::move(c)), generation_(fork_generation()) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&& o) noexcept {
      give_back();
      pool_ = o.pool_;
      connection_ = std::move(o.connection_);
      generation_ = o.generation_;
      return *this;
    }
    ~Lease() { give_back(); }

    Connection& operator*() const noexcept { return *connection_; }
    Connection* operator->() const noexcept { return connection_.get(); }

   private:
    void give_back() noexcept {
      if (!connection_) return;
      // borrowed before a fork() (a transaction the forking thread had open): the parent's
      if (generation_ != fork_generation()) [[unlikely]] static_cast<void>(connection_.release());
      else pool_->release(std::move(connection_));
    }
    ConnectionPool* pool_ = nullptr;
    std::unique_ptr<Connection> connection_;
    std::uint64_t generation_ = 0;  ///< the process's fork generation when it was borrowed
  };

  Lease acquire();

  std::size_t max_size() const noexcept { return max_size_; }

  /// A cursor (db/cursor.hpp) opened on this thread keeps a lease until it closes:
  /// noted, so that a borrower waiting for a connection only its own cursors hold is
  /// told so instead of waiting forever.
  void note_cursor_lease(std::thread::id holder);
  /// The cursor noted by note_cursor_lease(holder) gave its lease back.
  void forget_cursor_lease(std::thread::id holder) noexcept;

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
  void refuse_to_wait_for_own_cursors() const;

  /// `c`, an idle connection, lent; if it died while idle (a server restart), a fresh
  /// one in its slot.
  Lease lend(std::unique_ptr<Connection> c);

  /// A new connection in a slot already counted in open_ (given back if it fails).
  Lease open_in_freed_slot();

  /// In a child forked since the pool's last borrow: forgets the parent's connections
  /// (never closed or used here) so that borrowers open the child's own.
  void adopt_after_fork();

  /// Drops the idle connections (hot and in idle_) without closing them, and makes the
  /// condition anew: in a forked child, they and its waiters are the parent's.
  void forget_the_parents() noexcept;

  /// Whether the connections it holds are a parent's (a fork since it last adopted them).
  bool forked() const noexcept { return generation_.load(std::memory_order_acquire) != fork_generation(); }

  void release(std::unique_ptr<Connection> c) noexcept;

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
  std::atomic<std::uint64_t> generation_{0};     ///< the fork generation its connections belong to
};

}  // namespace gocp::detail

#if !defined(GOCP_COMPILED)
#include "pool-inl.hpp"
#endif
