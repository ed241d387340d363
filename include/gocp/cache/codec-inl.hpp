#pragma once
/// \file
/// The definitions behind <gocp/cache/codec.hpp>: included by it in header-only mode,
/// compiled once by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp).

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "codec.hpp"

namespace gocp::codec {

GOCP_INLINE std::string encode(std::uint64_t schema_hash, std::uint64_t generation, std::span<const Value> values) {
  std::string out;
  out.reserve(kHeaderSize + values.size() * 12);
  out += "gC";
  out += static_cast<char>(kFormatVersion);
  detail::put_u64(out, schema_hash);
  detail::put_u64(out, generation);
  out += static_cast<char>(values.size() & 0xffu);
  out += static_cast<char>((values.size() >> 8) & 0xffu);
  for (const Value& v : values) {
    const std::int64_t* i = std::get_if<std::int64_t>(&v);
    if (const auto* t = std::get_if<TimestampValue>(&v)) i = &t->micros;
    if (const auto* d = std::get_if<DateValue>(&v)) i = &d->days;
    if (i) {
      out += static_cast<char>(Tag::integer);
      detail::put_u64(out, static_cast<std::uint64_t>(*i));
    } else if (const auto* d = std::get_if<double>(&v)) {
      out += static_cast<char>(Tag::real);
      std::uint64_t bits;
      std::memcpy(&bits, d, sizeof bits);
      detail::put_u64(out, bits);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      out += static_cast<char>(Tag::text);
      detail::put_bytes(out, *s);
    } else if (const auto* b = std::get_if<BlobValue>(&v)) {
      out += static_cast<char>(Tag::blob);
      detail::put_bytes(out, b->bytes);
    } else {
      out += static_cast<char>(Tag::null);
    }
  }
  return out;
}

GOCP_INLINE std::optional<Decoded> Decoded::parse(std::string_view bytes, std::uint64_t schema_hash,
                                                  std::span<const ColumnInfo> columns) {
  if (bytes.size() < kHeaderSize || bytes[0] != 'g' || bytes[1] != 'C' ||
      static_cast<std::uint8_t>(bytes[2]) != kFormatVersion || detail::get_u64(bytes.data() + 3) != schema_hash)
    return std::nullopt;
  Decoded d;
  d.generation_ = detail::get_u64(bytes.data() + 11);
  const std::size_t count = static_cast<unsigned char>(bytes[19]) | (static_cast<unsigned char>(bytes[20]) << 8);
  if (count != columns.size()) return std::nullopt;
  if (count > kInlineFields) d.overflow_.reserve(count);
  std::size_t pos = kHeaderSize;
  for (std::size_t i = 0; i < count; ++i) {
    if (pos >= bytes.size()) return std::nullopt;
    const auto tag = static_cast<Tag>(bytes[pos++]);
    const ColumnInfo& col = columns[i];
    Field f{tag, nullptr, 0};
    switch (tag) {
      case Tag::null:
        if (!col.nullable) return std::nullopt;
        break;
      case Tag::integer:
      case Tag::real:
        if ((tag == Tag::integer) != (col.type == ColumnType::integer || col.type == ColumnType::timestamp ||
                                      col.type == ColumnType::date) ||
            (tag == Tag::real) != (col.type == ColumnType::real) || bytes.size() - pos < 8)
          return std::nullopt;
        f.data = bytes.data() + pos;
        f.size = 8;
        pos += 8;
        break;
      case Tag::text:
      case Tag::blob: {
        if (col.type != (tag == Tag::text ? ColumnType::text : ColumnType::blob) || bytes.size() - pos < 4)
          return std::nullopt;
        std::uint32_t n = 0;
        for (int k = 0; k < 4; ++k) n |= std::uint32_t{static_cast<unsigned char>(bytes[pos + k])} << (8 * k);
        pos += 4;
        if (bytes.size() - pos < n) return std::nullopt;
        f.data = bytes.data() + pos;
        f.size = n;
        pos += n;
        break;
      }
      default:
        return std::nullopt;
    }
    d.push(f);
  }
  if (pos != bytes.size()) return std::nullopt;
  return d;
}

}  // namespace gocp::codec
