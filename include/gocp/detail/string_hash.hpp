#pragma once
// A transparent string hash, so maps keyed by std::string can be searched with a
// std::string_view without building a temporary string.

#include <cstddef>
#include <functional>
#include <string_view>

namespace gocp::detail {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace gocp::detail
