#pragma once
// UTF-8 as the databases read it: for max_length (characters, as Django and VARCHAR
// count them) and for in-memory LIKE (whose '_' is one character).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gocp::detail {

/// The length of the UTF-8 character starting at s[i] (a lead byte and its continuation
/// bytes, as SQLite reads them; any other byte is a character of its own).
inline std::size_t utf8_char_length(std::string_view s, std::size_t i) {
  std::size_t n = 1;
  if (static_cast<unsigned char>(s[i]) >= 0xc0)
    while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xc0) == 0x80) ++n;
  return n;
}

/// The number of characters (code points) of UTF-8 text: its bytes that are not
/// continuation bytes.
inline std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xc0) != 0x80;
  return n;
}

/// Whether s is well-formed UTF-8 (RFC 3629: shortest forms, no surrogates, at most
/// U+10FFFF), without U+FFFE/U+FFFF. On such text SQLite's code-point reading is
/// one-to-one and equals a bytewise one; elsewhere it folds invalid sequences (and
/// those two) into U+FFFD, which a bytewise matcher cannot imitate.
inline bool strict_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 0;
    if (n == 0 || b > 0xf4 || i + n > s.size()) return false;
    std::uint32_t cp = b & (0x7f >> n);
    for (std::size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = cp << 6 | (c & 0x3f);
    }
    const std::uint32_t shortest = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (cp < shortest || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
      return false;
    i += n;
  }
  return true;
}

}  // namespace gocp::detail
