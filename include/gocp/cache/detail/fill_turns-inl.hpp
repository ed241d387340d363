#pragma once
// The definitions behind fill_turns.hpp: included by it in header-only mode, compiled
// once by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp).

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "fill_turns.hpp"

namespace gocp::detail {

GOCP_INLINE void FillTurns::take(std::string_view key, Turn& turn) {
  std::shared_ptr<Fill> other;
  {
    std::lock_guard lock(mutex_);
    auto it = fills_.find(key);
    if (it == fills_.end()) {
      turn.fill_ = std::make_shared<Fill>();
      turn.key_ = key;
      turn.turns_ = this;
      fills_.emplace(turn.key_, turn.fill_);
      return;
    }
    if (it->second->leader == std::this_thread::get_id()) return;
    other = it->second;
  }
  other->done.wait(false);
  turn.waited_ = true;
}

GOCP_INLINE FillTurns::Turn::~Turn() {
  if (!turns_) return;
  {
    std::lock_guard lock(turns_->mutex_);
    turns_->fills_.erase(key_);
  }
  fill_->done.store(true);
  fill_->done.notify_all();
}

}  // namespace gocp::detail
