#pragma once
// Calls a function for every item of a list even when one call throws, keeping the
// first exception: what commit hooks and change-stream subscribers need, so that one
// failing listener never keeps the others from hearing of a commit.

#include <exception>

namespace gocp::detail {

/// fn(item) for each item; the first exception thrown lands in `first` (if it is empty).
template <class Range, class Fn>
void call_each(Range&& items, Fn&& fn, std::exception_ptr& first) noexcept {
  for (auto&& item : items) {
    try {
      fn(item);
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
}

}  // namespace gocp::detail
