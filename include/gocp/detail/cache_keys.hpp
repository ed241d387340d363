#pragma once
// Cache keys. Every key names the model and its schema hash, so nothing collides across
// models, apps or layouts:
//
//   gocp:<model>:<schema hash>:o:<pk>       the object            (alias: the model's name)
//   gocp:<model>:<schema hash>:g:<pk>       its generation        (same alias)
//   gocp:<model>:<schema hash>:l:<lookup>   lookup -> pk          (alias: default)
//
// <lookup> is the canonical form of the repository's filters and the lookup: AND / OR
// operands are sorted, so `a && b` and `b && a` share a key. A key longer than
// kMaxKeyLength, or holding bytes a memcached key may not (space, control, non-ASCII),
// keeps its readable prefix and replaces the rest by a 128-bit hash.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "../model.hpp"
#include "../query.hpp"

namespace gocp::detail {

inline constexpr std::size_t kMaxKeyLength = 200;  // memcached allows 250

inline std::uint64_t mix64(std::uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline std::string hash128_hex(std::string_view s) {
  std::uint64_t a = 0x9e3779b97f4a7c15ull, b = 0xc2b2ae3d27d4eb4full;
  for (unsigned char ch : s) {
    a = mix64(a ^ ch);
    b = (b ^ ch) * 0x100000001b3ull;
  }
  a = mix64(a ^ s.size());
  b = mix64(b ^ a);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[i] = hex[(a >> (60 - 4 * i)) & 0xf];
    out[16 + i] = hex[(b >> (60 - 4 * i)) & 0xf];
  }
  return out;
}

inline std::string hex64(std::uint64_t v) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i) out[i] = hex[(v >> (60 - 4 * i)) & 0xf];
  return out;
}

/// Values with a type tag and, for text, a length: `i42`, `d<bits>`, `s3:abc`, `n`.
inline void append_value(std::string& out, const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    out += 'i';
    out += std::to_string(*i);
  } else if (const auto* d = std::get_if<double>(&v)) {
    std::uint64_t bits;
    std::memcpy(&bits, d, sizeof bits);
    out += 'd';
    out += hex64(bits);
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    out += 's';
    out += std::to_string(s->size());
    out += ':';
    out += *s;
  } else {
    out += 'n';
  }
}

inline std::string canonical(const std::vector<Node>& nodes, std::size_t& i, const ModelInfo& info) {
  const Node& n = nodes[i++];
  auto column = [&] { return std::string(info.columns[n.column].name); };
  switch (n.op) {
    case Op::and_:
    case Op::or_: {
      // flatten a chain of the same operator, then sort its operands
      std::vector<std::string> operands;
      auto collect = [&](auto&& self, std::size_t& at) -> void {
        if (nodes[at].op == n.op) {
          ++at;
          self(self, at);
          self(self, at);
        } else {
          operands.push_back(canonical(nodes, at, info));
        }
      };
      collect(collect, i);
      collect(collect, i);
      std::sort(operands.begin(), operands.end());
      std::string out = n.op == Op::and_ ? "&(" : "|(";
      for (const auto& o : operands) out += o + ",";
      return out + ")";
    }
    case Op::not_:
      return "!(" + canonical(nodes, i, info) + ")";
    case Op::nothing:
      return "0";
    case Op::in: {
      std::string out = column() + " in(";
      for (const auto& v : n.list) {
        append_value(out, v);
        out += ',';
      }
      return out + ")";
    }
    default: {
      static constexpr const char* names[] = {"=", "!=", "<", "<=", ">", ">=", " like ", "", " null", " notnull"};
      std::string out = column() + names[static_cast<int>(n.op)];
      if (n.op != Op::is_null && n.op != Op::not_null) append_value(out, n.value);
      return out;
    }
  }
}

inline std::string canonical(const std::vector<Node>& nodes, const ModelInfo& info) {
  if (nodes.empty()) return "*";
  std::size_t i = 0;
  return canonical(nodes, i, info);
}

inline bool key_safe(std::string_view s) {
  return s.size() <= kMaxKeyLength &&
         std::all_of(s.begin(), s.end(), [](char ch) { return ch > ' ' && ch < 127; });
}

/// `gocp:<model>:<schema hash>:` — shared by every key of the model.
inline std::string key_prefix(const ModelInfo& info) {
  return "gocp:" + std::string(info.name) + ":" + hex64(info.schema_hash) + ":";
}

inline std::string finish_key(std::string key, std::size_t prefix_length) {
  if (key_safe(key)) return key;
  return key.substr(0, prefix_length + 2) + "#" + hash128_hex(std::string_view(key).substr(prefix_length + 2));
}

inline std::string entry_key(const std::string& prefix, char kind, const Value& pk) {
  std::string key = prefix;
  key += kind;
  key += ':';
  append_value(key, pk);
  return finish_key(std::move(key), prefix.size());
}

template <class T>
std::string lookup_key(const std::string& prefix, const Expr<T>& filters, const Expr<T>& lookup) {
  const ModelInfo& info = model_info<T>();
  return finish_key(prefix + "l:" + canonical(filters.nodes(), info) + "/" + canonical(lookup.nodes(), info),
                    prefix.size());
}

}  // namespace gocp::detail
