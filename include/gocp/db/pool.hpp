#pragma once
// A bounded pool of connections. A thread borrows one per statement (or per
// transaction) and gives it back; a connection that broke is dropped, not reused, and
// one that died while idle (Connection::revalidate) is replaced before it is lent.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
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
    std::unique_lock lock(mutex_);
    auto available = [&] { return !idle_.empty() || open_ < max_size_; };
    if (!available()) {
      if (wait_timeout_.count() == 0) {
        freed_.wait(lock, available);
      } else if (!freed_.wait_for(lock, wait_timeout_, available)) {
        throw OperationalError("gocp: timed out after " + std::to_string(wait_timeout_.count()) +
                                   " ms waiting for one of " + std::to_string(max_size_) + " connections to '" +
                                   url_ + "'",
                               true);
      }
    }
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      if (c->revalidate()) return Lease(this, std::move(c));
      c.reset();  // it died while idle (a server restart): its slot goes to a fresh one
    } else {
      ++open_;
      lock.unlock();
    }
    try {
      return Lease(this, connect_());
    } catch (...) {
      lock.lock();
      --open_;
      freed_.notify_one();
      throw;
    }
  }

  std::size_t max_size() const noexcept { return max_size_; }

 private:
  void release(std::unique_ptr<Connection> c) noexcept {
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
  std::size_t open_ = 0;
};

}  // namespace gocp::detail
