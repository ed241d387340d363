#pragma once
// The typed tier's exact key for a lookup on top of a repository's filters: the words
// that spell both expressions, which no other pair spells, and a cheap hash of them. A
// lookup entry keeps the words it answered and serves a query only when its words are
// equal, so the hash need not be strong, nor blind to operand order (`a && b` and
// `b && a` are two entries): a collision costs a miss, never a wrong answer, without
// matching the object again.
//
// The words are compact, since a hit builds them and compares them: the filters' node
// count, then per node one head word (operator, value kind, column, and a text's length
// or a list's size) and the value's payload (none for NULL, one word for a number or a
// time, a text's bytes eight at a time). A column or length too wide for its field
// saturates it and follows in words of its own, so the spelling stays exact.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "../../query.hpp"
#include "cache_keys.hpp"
#include "../../detail/small_vector.hpp"

namespace gocp::detail {

// inline room for a few terms on top of a few filters: building them allocates nothing
using LookupWords = SmallVector<std::uint64_t, 32>;

/// The words a lookup entry keeps: up to kInline inline (a two-term lookup of short
/// texts), more on the heap, in one word less than a SmallVector, so that the object
/// kept after them starts a cache line sooner (a hit reads the words, then the object).
class KeptWords {
 public:
  static constexpr std::size_t kInline = 8;

  KeptWords() noexcept = default;
  KeptWords(const KeptWords&) = delete;
  KeptWords& operator=(const KeptWords&) = delete;
  // the inline words or the heap pointer, taken as bytes either way
  KeptWords(KeptWords&& other) noexcept : size_(std::exchange(other.size_, 0)) { std::memcpy(&words_, &other.words_, sizeof words_); }
  KeptWords& operator=(KeptWords&& other) noexcept {
    if (this != &other) {
      release();
      size_ = std::exchange(other.size_, 0);
      std::memcpy(&words_, &other.words_, sizeof words_);
    }
    return *this;
  }
  ~KeptWords() { release(); }

  /// Keeps a copy of `words` instead of what it kept.
  void assign(std::span<const std::uint64_t> words) {
    release();
    std::uint64_t* to = words_.inline_words;
    if (words.size() > kInline) to = words_.heap = new std::uint64_t[words.size()];
    std::copy(words.begin(), words.end(), to);
    size_ = words.size();
  }

  operator std::span<const std::uint64_t>() const noexcept {
    return {size_ > kInline ? words_.heap : words_.inline_words, size_};
  }

 private:
  void release() noexcept {
    if (size_ > kInline) delete[] words_.heap;
    size_ = 0;
  }

  std::size_t size_ = 0;
  union {
    std::uint64_t inline_words[kInline];
    std::uint64_t* heap;
  } words_{};
};

/// The Bytes (4 or 8) bytes at p as one integer.
template <std::size_t Bytes>
std::uint64_t load_word(const char* p) noexcept {
  std::conditional_t<Bytes == 8, std::uint64_t, std::uint32_t> word;
  std::memcpy(&word, p, Bytes);
  return word;
}

// SpelledValue switches on the alternative's index: the order it assumes
static_assert(std::is_same_v<std::variant_alternative_t<1, Value>, std::int64_t> &&
              std::is_same_v<std::variant_alternative_t<2, Value>, double> &&
              std::is_same_v<std::variant_alternative_t<3, Value>, std::string> &&
              std::is_same_v<std::variant_alternative_t<4, Value>, BlobValue> &&
              std::is_same_v<std::variant_alternative_t<5, Value>, TimestampValue> &&
              std::is_same_v<std::variant_alternative_t<6, Value>, DateValue> && std::variant_size_v<Value> == 7,
              "gocp: lookup_words spells the Value alternatives by index; update it with value.hpp");

/// One value as lookup_words() spells it, read from the variant once: its kind, and its
/// bytes (a text or blob) or its number (an integer, a double's bits, a time).
struct SpelledValue {
  std::uint64_t kind = 0;
  std::string_view bytes{};
  std::uint64_t number = 0;
  bool text = false, has_number = false;

  explicit SpelledValue(const Value& v) noexcept : kind(v.index()) {
    switch (v.index()) {  // the alternatives' order, as value.hpp lists them (asserted above)
      case 1: number = static_cast<std::uint64_t>(*std::get_if<1>(&v)), has_number = true; break;
      case 2: number = std::bit_cast<std::uint64_t>(*std::get_if<2>(&v)), has_number = true; break;
      case 3: bytes = *std::get_if<3>(&v), text = true; break;
      case 4: bytes = std::get_if<4>(&v)->bytes, text = true; break;
      case 5: number = static_cast<std::uint64_t>(std::get_if<5>(&v)->micros), has_number = true; break;
      case 6: number = static_cast<std::uint64_t>(std::get_if<6>(&v)->days), has_number = true; break;
      default: break;  // NULL: no payload
    }
  }

  /// The most words write() puts down.
  std::size_t bound() const noexcept { return 5 + bytes.size() / 8; }

  /// Writes at `out` the head word and payload, as the file comment describes (`op` and
  /// `column` are the node's, `list` the size of its `in` list); returns the end.
  std::uint64_t* write(std::uint64_t* out, std::uint64_t op, std::uint64_t column, std::uint64_t list) const noexcept {
    const std::uint64_t length = text ? bytes.size() : list;
    constexpr std::uint64_t kColumnMax = 0xffff, kLengthMax = 0xffffffff;
    // a text value and an `in` list would need two lengths: spelled out like a wide one
    const bool wide = column >= kColumnMax || length >= kLengthMax || (text && list != 0);
    *out++ = op << 56 | kind << 48 | std::min(column, kColumnMax) << 32 | std::min(length, kLengthMax);
    if (wide) [[unlikely]] {
      *out++ = column;
      *out++ = length;
      *out++ = list;
    }
    if (has_number) *out++ = number;
    if (!text) return out;
    const char* p = bytes.data();
    const std::size_t n = bytes.size();
    // whole words, then the last bytes read with loads that may overlap (the length in
    // the head tells such tails apart)
    if (n >= 8) {
      for (std::size_t i = 0; i + 8 < n; i += 8) *out++ = load_word<8>(p + i);
      *out++ = load_word<8>(p + n - 8);
    } else if (n >= 4) {
      *out++ = load_word<4>(p) << 32 | load_word<4>(p + n - 4);
    } else if (n > 0) {
      *out++ = std::uint64_t{static_cast<unsigned char>(p[0])} << 16 |
               std::uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 | static_cast<unsigned char>(p[n - 1]);
    }
    return out;
  }
};

/// Writes the words of (filters, lookup) into `words` and returns their hash.
template <class T>
Hash128 lookup_words(const Expr<T>& filters, const Expr<T>& lookup, LookupWords& words) {
  // written through a pointer, the room checked once per value (grown only past the
  // inline words), the size set once at the end
  words.clear();
  std::uint64_t* out = words.append_for_overwrite(words.capacity());
  std::uint64_t* room_end = out + words.capacity();
  auto append = [&](const Value& v, std::uint64_t op, std::uint64_t column, std::uint64_t list) {
    const SpelledValue spelled(v);
    if (static_cast<std::size_t>(room_end - out) < spelled.bound()) [[unlikely]] {
      const std::size_t written = static_cast<std::size_t>(out - words.begin());
      words.truncate(written);
      out = words.append_for_overwrite(std::max(spelled.bound(), written));
      room_end = words.end();
    }
    out = spelled.write(out, op, column, list);
  };
  *out++ = filters.nodes().size();
  for (const std::span<const Node> nodes : {filters.nodes(), lookup.nodes()}) {
    for (const Node& n : nodes) {
      if (n.subquery) [[unlikely]] refuse_subquery_key();  // never cached: see cache_keys.hpp
      append(n.value, static_cast<std::uint64_t>(n.op), n.column, n.list.size());
      for (const Value& v : n.list) append(v, 0, 0, 0);
    }
  }
  words.truncate(static_cast<std::size_t>(out - words.begin()));
  std::uint64_t h = 0;
  for (const std::uint64_t word : words) h = std::rotl((h ^ word) * 0x9e3779b97f4a7c15ull, 31);
  return {mix64(h), words.size()};
}

inline bool same_words(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace gocp::detail
