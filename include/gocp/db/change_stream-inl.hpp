#pragma once
/// \file
/// The definitions behind <gocp/db/change_stream.hpp>'s ChangeStream: included by it in
/// header-only mode, compiled once by src/gocp.cpp for gocp::gocp_compiled
/// (detail/config.hpp).

#include <algorithm>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "change_stream.hpp"

namespace gocp {

GOCP_INLINE void ChangeStream::subscribe_keyed(std::string table, const void* key, std::weak_ptr<const void> owner, Handler handler) {
  // one change at a time; one that throws does not keep the others from this handler
  subscribe_keyed_batch(std::move(table), key, std::move(owner),
                        [handler = std::move(handler)](std::span<const RowChange> changes) {
                          std::exception_ptr first;
                          detail::call_each(changes, [&](const RowChange& c) { handler(c); }, first);
                          if (first) std::rethrow_exception(first);
                        });
}

GOCP_INLINE void ChangeStream::subscribe_keyed_batch(std::string table, const void* key, std::weak_ptr<const void> owner, BatchHandler handler) {
  std::lock_guard lock(mutex_);
  prune();
  for (const auto& s : subscribers_)
    if (s.key == key && s.table == table && !s.owner.expired()) return;
  subscribers_.push_back({std::move(table), key, std::move(owner), std::make_shared<BatchHandler>(std::move(handler))});
  subscribed_.store(subscribers_.size());
}

GOCP_INLINE void ChangeStream::want_old_values(std::string_view table) {
  std::lock_guard lock(mutex_);
  if (std::find(old_values_tables_.begin(), old_values_tables_.end(), table) == old_values_tables_.end())
    old_values_tables_.emplace_back(table);
  any_old_values_.store(true);
}

GOCP_INLINE std::vector<std::string> ChangeStream::subscribed_tables() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> tables;
  for (const auto& s : subscribers_)
    if (!s.owner.expired() && std::find(tables.begin(), tables.end(), s.table) == tables.end())
      tables.push_back(s.table);
  return tables;
}

GOCP_INLINE void ChangeStream::publish_many(std::span<const RowChange> changes) const {
  if (!has_subscribers()) return;
  std::exception_ptr first;
  for (std::size_t begin = 0, end = 0; begin < changes.size(); begin = end) {
    end = begin + 1;
    while (end < changes.size() && changes[end].table == changes[begin].table) ++end;
    std::vector<std::pair<std::shared_ptr<const void>, std::shared_ptr<BatchHandler>>> targets;
    {
      std::lock_guard lock(mutex_);
      for (const auto& s : subscribers_)
        if (s.table == changes[begin].table)
          if (auto alive = s.owner.lock()) targets.emplace_back(std::move(alive), s.handler);
    }
    const auto run = changes.subspan(begin, end - begin);
    detail::call_each(targets, [&](const auto& target) { (*target.second)(run); }, first);
  }
  if (first) std::rethrow_exception(first);
}

GOCP_INLINE void ChangeStream::prune() {
  subscribers_.erase(std::remove_if(subscribers_.begin(), subscribers_.end(),
                                    [](const Subscriber& s) { return s.owner.expired(); }),
                     subscribers_.end());
  subscribed_.store(subscribers_.size());
}

}  // namespace gocp
