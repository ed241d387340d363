#pragma once
// Cache keys. Every key names the database (its identity, Database::id()), the model
// and its schema hash, so nothing collides across databases, models, apps or layouts:
//
//   gocp:<database id>:<model>:<schema hash>:o:<pk>       the object    (alias: the model's name)
//   gocp:<database id>:<model>:<schema hash>:g:<pk>       its generation (same alias)
//   gocp:<database id>:<model>:<schema hash>:l:<lookup>   lookup -> pk  (alias: default)
//
// A lookup entry holds the pk's *reference*, what follows `o:` / `g:` in its keys (`i42`,
// `s<text>`, `#<hash>` then a space and the pk encoded), so a cache can follow it to the
// object and its generation itself (Cache::get_following; a Redis script).
//
// <lookup> is a 128-bit hash of the repository's filters and the lookup, computed from
// the expression nodes without building text; AND / OR operands are combined without
// regard to order, so `a && b` and `b && a` share a key. A pk that is long, or holds bytes
// a memcached key may not (space, control, non-ASCII), is hashed the same way. A hash
// collision can cost a miss, never a wrong answer: a mapped object is checked against
// the lookup, and an object entry against its pk, before it is served.
//
// A condition with a subquery (Op::in_query) is never keyed: its answer depends on
// another table, whose writes no entry of this model hears of. The caching policies do
// not cache such lookups (reads_other_tables); the key functions refuse them, so that
// one reaching them by mistake fails loudly instead of serving a stale answer.

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "../../model.hpp"
#include "../../query.hpp"

namespace gocp::detail {

inline constexpr std::size_t kMaxKeyLength = 200;  // memcached allows 250

inline std::uint64_t mix64(std::uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Two independent 64-bit streams, each a multiply-rotate per word (cheap on the hit
/// path), mixed thoroughly once at the end by finished(): 128 bits of key.
struct Hash128 {
  std::uint64_t a = 0x9e3779b97f4a7c15ull, b = 0xc2b2ae3d27d4eb4full;

  void add(std::uint64_t x) {
    a = std::rotl((a ^ x) * 0x87c37b91114253d5ull, 31);
    b = std::rotl((b + x) * 0x4cf5ad432745937full, 29);  // independent of a: the two chains run in parallel
  }
  Hash128 finished() const { return {mix64(a ^ 0x632be59bd9b4e019ull), mix64(b + a)}; }
  void add(std::string_view s) {
    text_words(s, [this](std::uint64_t word) { add(word); });
  }
  void add(const Value& v) {
    value_words(v, [this](std::uint64_t word) { add(word); });
  }

  /// Calls add(word) for the words that make up v: its kind, then its payload. The one
  /// way a value is read into a hash (this one, and the hit memo's cheaper key).
  template <class Add>
  static void value_words(const Value& v, Add&& add) {
    add(static_cast<std::uint64_t>(v.index()));
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
      add(static_cast<std::uint64_t>(*i));
    } else if (const auto* d = std::get_if<double>(&v)) {
      add(std::bit_cast<std::uint64_t>(*d));
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      text_words(*s, add);
    } else if (const auto* b = std::get_if<BlobValue>(&v)) {
      text_words(b->bytes, add);
    } else if (const auto* t = std::get_if<TimestampValue>(&v)) {
      add(static_cast<std::uint64_t>(t->micros));
    } else if (const auto* day = std::get_if<DateValue>(&v)) {
      add(static_cast<std::uint64_t>(day->days));
    }
  }

  /// Calls add(word) for s's length, then its bytes as 64-bit words: whole words, then
  /// the last bytes as one word read with fixed-size loads that may overlap what was
  /// read before (the length tells such tails apart). No variable-length memcpy.
  template <class Add>
  static void text_words(std::string_view s, Add&& add) {
    const char* p = s.data();
    const std::size_t n = s.size();
    add(n);
    if (n >= 8) {
      for (std::size_t i = 0; i + 8 < n; i += 8) add(load<8>(p + i));
      add(load<8>(p + n - 8));
    } else if (n >= 4) {
      add(load<4>(p) << 32 | load<4>(p + n - 4));
    } else if (n > 0) {
      add(std::uint64_t{static_cast<unsigned char>(p[0])} << 16 | std::uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 |
          static_cast<unsigned char>(p[n - 1]));
    }
  }

 private:
  template <std::size_t Bytes>
  static std::uint64_t load(const char* p) {
    std::conditional_t<Bytes == 8, std::uint64_t, std::uint32_t> word;
    std::memcpy(&word, p, Bytes);
    return word;
  }
};

/// What a key function does with a subquery term: an internal error (see the file comment).
[[noreturn]] inline void refuse_subquery_key() {
  throw Error("gocp: internal error: a condition with a subquery reached a cache key; such lookups are never cached");
}

inline void append_hex(std::string& out, std::uint64_t v) {
  static constexpr char hex[] = "0123456789abcdef";
  char digits[16];
  for (int i = 0; i < 16; ++i) digits[i] = hex[(v >> (60 - 4 * i)) & 0xf];
  out.append(digits, sizeof digits);
}

inline void append_hex(std::string& out, const Hash128& h) {
  append_hex(out, h.a);
  append_hex(out, h.b);
}

/// The hash of the subtree at `i` (advancing i past it).
inline Hash128 hash_nodes(std::span<const Node> nodes, std::size_t& i) {
  const Node& n = nodes[i++];
  Hash128 h;
  h.add(static_cast<std::uint64_t>(n.op) << 32 | n.column);
  if (n.op == Op::and_ || n.op == Op::or_) {
    // Sum the (finished, well-mixed) operand hashes over the whole chain of this
    // operator: order-free.
    Hash128 sum{0, 0};
    std::uint64_t count = 0;
    auto collect = [&](auto&& self, std::size_t& at) -> void {
      if (nodes[at].op == n.op) {
        ++at;
        self(self, at);
        self(self, at);
        return;
      }
      const Hash128 operand = hash_nodes(nodes, at);
      sum.a += operand.a;
      sum.b += operand.b;
      ++count;
    };
    collect(collect, i);
    collect(collect, i);
    h.add(sum.a);
    h.add(sum.b);
    h.add(count);
  } else if (n.op == Op::not_) {
    const Hash128 inner = hash_nodes(nodes, i);
    h.add(inner.a);
    h.add(inner.b);
  } else {
    if (n.op == Op::in_query) [[unlikely]] refuse_subquery_key();
    h.add(n.value);
    if (n.op == Op::in) {
      h.add(static_cast<std::uint64_t>(n.list.size()));
      for (const Value& v : n.list) h.add(v);
    }
  }
  return h.finished();
}

inline Hash128 hash_expression(std::span<const Node> nodes) {
  if (nodes.empty()) return Hash128{};
  std::size_t i = 0;
  return hash_nodes(nodes, i);
}

/// `gocp:<database id>:<model>:<schema hash>:` — shared by every key of the model in
/// that database.
inline std::string key_prefix(const ModelInfo& info, std::string_view database_id) {
  std::string prefix = "gocp:" + std::string(database_id) + ":" + std::string(info.name) + ":";
  append_hex(prefix, info.schema_hash);
  return prefix + ":";
}

/// The hash of a lookup on top of a repository's filters: what its key is made of.
template <class T>
Hash128 lookup_hash(const Expr<T>& filters, const Expr<T>& lookup) {
  const Hash128 f = hash_expression(filters.nodes()), l = hash_expression(lookup.nodes());
  Hash128 h;
  h.add(f.a);
  h.add(f.b);
  h.add(l.a);
  h.add(l.b);
  return h.finished();
}

/// Writes `<prefix>l:<lookup hash>` into out (reusing its capacity).
inline void write_lookup_key(std::string& out, const std::string& prefix, const Hash128& lookup) {
  out.assign(prefix);
  out += "l:";
  append_hex(out, lookup);
}

inline bool key_safe(std::string_view s) {
  for (char ch : s)
    if (ch <= ' ' || ch >= 127) return false;
  return true;
}

/// Appends `pk` as a key names it: `i42` for an integer, `s<text>` for a short safe text
/// (the whole key, `out` included, within kMaxKeyLength), `#<hash>` for anything else.
inline void append_key_value(std::string& out, const Value& pk) {
  if (const auto* i = std::get_if<std::int64_t>(&pk)) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, *i);
    out += 'i';
    out.append(digits, end);
    return;
  }
  if (const auto* s = std::get_if<std::string>(&pk); s && key_safe(*s) && out.size() + 1 + s->size() <= kMaxKeyLength) {
    out += 's';
    out += *s;
    return;
  }
  Hash128 h;
  h.add(pk);
  out += '#';
  append_hex(out, h.finished());
}

/// Writes `<prefix><kind>:<pk>` into out, `pk` as append_key_value writes it.
inline void write_entry_key(std::string& out, const std::string& prefix, char kind, const Value& pk) {
  out.assign(prefix);
  out += kind;
  out += ':';
  append_key_value(out, pk);
}

inline std::string entry_key(const std::string& prefix, char kind, const Value& pk) {
  std::string out;
  write_entry_key(out, prefix, kind, pk);
  return out;
}

template <class T>
std::string lookup_key(const std::string& prefix, const Expr<T>& filters, const Expr<T>& lookup) {
  std::string out;
  write_lookup_key(out, prefix, lookup_hash(filters, lookup));
  return out;
}

}  // namespace gocp::detail
