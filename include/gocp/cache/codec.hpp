#pragma once
/// \file
/// The schema-versioned binary codec for cache entries:
///
///     "gC" | version:u8 | schema_hash:u64 | generation:u64 | count:u16 | count x field
///     field := tag:u8 (0 NULL, 1 int64, 2 double, 3 text, 4 bytes) | payload (8 bytes, or u32 length + bytes)
///
/// A timestamp (microseconds) or a date (days) is an int64 field: the column's type,
/// known from the schema, says which.
///
/// (little-endian). An entry written under another schema hash, or for another column
/// layout, decodes as a miss, never as a wrong object; so does any corrupt or truncated
/// entry. The decoder validates every byte before an object is built from it.

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/config.hpp"
#include "../model.hpp"
#include "../value.hpp"

namespace gocp::codec {

/// The layout's version byte; a change to the layout bumps it, so old entries are misses.
inline constexpr std::uint8_t kFormatVersion = 1;
/// Bytes before the first field: magic, version, schema hash, generation, count.
inline constexpr std::size_t kHeaderSize = 2 + 1 + 8 + 8 + 2;

/// A field's first byte: which payload follows (timestamps and dates are `integer`).
enum class Tag : std::uint8_t { null = 0, integer = 1, real = 2, text = 3, blob = 4 };

namespace detail {
inline void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xffu);
}
inline void put_bytes(std::string& out, std::string_view s) {
  const auto n = static_cast<std::uint32_t>(s.size());
  for (int k = 0; k < 4; ++k) out += static_cast<char>((n >> (8 * k)) & 0xffu);
  out += s;
}
inline std::uint64_t get_u64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
}  // namespace detail

/// Encodes `values` (one per column, in schema order) under `schema_hash`, tagged with
/// `generation` (see cache/coherence.hpp).
GOCP_INLINE std::string encode(std::uint64_t schema_hash, std::uint64_t generation, std::span<const Value> values);

/// A validated entry: its generation, and a Row over its fields for read_object().
class Decoded final : public Row {
 public:
  /// The generation the entry was written under: served only while it is the key's current one.
  std::uint64_t generation() const noexcept { return generation_; }
  /// How many fields (columns) it holds: the layout's, once parse() succeeded.
  std::size_t size() const noexcept { return count_; }

  bool is_null(int c) const override { return field(c).tag == Tag::null; }
  std::int64_t integer(int c) const override { return static_cast<std::int64_t>(detail::get_u64(field(c).data)); }
  double real(int c) const override {
    const std::uint64_t bits = detail::get_u64(field(c).data);
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  std::string_view text(int c) const override { return {field(c).data, field(c).size}; }

  /// Parses `bytes` against the expected schema hash and column layout; nullopt for an
  /// entry of another layout or any malformed byte. `bytes` must outlive the result.
  static std::optional<Decoded> parse(std::string_view bytes, std::uint64_t schema_hash,
                                      std::span<const ColumnInfo> columns);

 private:
  struct Field {
    Tag tag;
    const char* data;
    std::size_t size;
  };
  // Most models have few columns: keep their fields inline, so a decode allocates nothing.
  static constexpr std::size_t kInlineFields = 16;

  const Field& field(int c) const { return count_ <= kInlineFields ? inline_[c] : overflow_[c]; }
  void push(const Field& f) {
    if (overflow_.capacity() == 0 && count_ < kInlineFields) inline_[count_] = f;
    else overflow_.push_back(f);
    ++count_;
  }

  std::uint64_t generation_ = 0;
  std::size_t count_ = 0;
  std::array<Field, kInlineFields> inline_;  // written before read: left uninitialised
  std::vector<Field> overflow_;
};

/// Encodes a whole object of model T.
template <class T>
std::string encode_object(const T& obj, std::uint64_t generation) {
  std::vector<Value> values;
  values.reserve(gocp::detail::field_count<T>);
  gocp::detail::for_each_field<T>([&](const auto& f, std::size_t) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    values.push_back(column_traits<M>::to_value(obj.*f.member));
  });
  return encode(schema_hash<T>, generation, values);
}

/// Decodes an object of model T with its generation; nullopt for anything else.
template <class T>
std::optional<std::pair<T, std::uint64_t>> decode_object(std::string_view bytes) {
  const ModelInfo& info = model_info<T>();
  auto d = Decoded::parse(bytes, info.schema_hash, info.columns);
  if (!d) return std::nullopt;
  try {
    return std::pair<T, std::uint64_t>{gocp::detail::read_object<T>(*d), d->generation()};
  } catch (const ValidationError&) {  // a value the member cannot hold: corrupt, so a miss
    return std::nullopt;
  }
}

}  // namespace gocp::codec

#if !defined(GOCP_COMPILED)
#include "codec-inl.hpp"
#endif
