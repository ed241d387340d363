#pragma once
// A transparent string hash, so maps keyed by std::string can be searched with a
// std::string_view without building a temporary string.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>

namespace gocp::detail {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// StringHash for short keys on a hot path (a statement's shape key, about 20 bytes):
/// eight bytes a step, inline, where std::hash goes out of line to a byte-wise loop.
struct WordHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    constexpr std::uint64_t k = 0x9E3779B97F4A7C15ull;
    std::uint64_t h = s.size() * k;
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) h = mix(h, load(s.data() + i, 8));
    return static_cast<std::size_t>(mix(h, load(s.data() + i, s.size() - i)));
  }

 private:
  static std::uint64_t load(const char* p, std::size_t n) noexcept {
    std::uint64_t w = 0;
    if (n) std::memcpy(&w, p, n);  // n == 0 may come with a null p
    return w;
  }
  static std::uint64_t mix(std::uint64_t h, std::uint64_t w) noexcept {
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 31);
  }
};

}  // namespace gocp::detail
