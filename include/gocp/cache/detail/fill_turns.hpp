#pragma once
// Turns at filling a cache entry, so that the readers who miss one entry at once ask the
// database once (the dog-pile a hot result meets after each write that invalidates it).
// The first reader to miss a key leads its fill; a reader that misses it while that fill
// runs waits for it to end, then looks in the cache again, and answers from the entry only
// if the cache's rules serve it then (its versions still current): a write that finished
// while it waited moved a version, and it asks the database itself, so no answer is older
// than a hit's could be. A waiter never leads in turn (no chain of waits), and a thread
// that already leads the key further up its own stack neither leads nor waits.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "../../detail/config.hpp"
#include "../../detail/string_hash.hpp"

namespace gocp::detail {

class FillTurns {
  struct Fill {
    std::thread::id leader = std::this_thread::get_id();
    std::atomic<bool> done{false};
  };

 public:
  /// One thread's turn at a key (take()): the leader's ends the fill when destroyed,
  /// waking the threads that waited for it.
  class Turn {
   public:
    Turn() = default;
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;
    ~Turn();
    /// Another thread was filling the key: this one waited until that fill ended.
    bool waited() const noexcept { return waited_; }

   private:
    friend class FillTurns;
    FillTurns* turns_ = nullptr;  ///< set while this thread leads the fill
    std::string key_;
    std::shared_ptr<Fill> fill_;
    bool waited_ = false;
  };

  /// Before a fill of `key`: leads it into `turn` when no other thread is filling it, or
  /// waits until the one that is has ended (then turn.waited()).
  GOCP_INLINE void take(std::string_view key, Turn& turn);

 private:
  std::mutex mutex_;  ///< taken on misses only
  std::unordered_map<std::string, std::shared_ptr<Fill>, StringHash, std::equal_to<>> fills_;  ///< the keys being filled
};

}  // namespace gocp::detail

#if !defined(GOCP_COMPILED)
#include "fill_turns-inl.hpp"
#endif
