#pragma once
// What a statement's SQL text depends on, as a short key, and the values it binds, both
// read straight from the condition nodes in one pass without writing SQL. A hot verb
// (get_or_create's SELECT, the create's INSERT) names its prepared statement by this key
// (Connection::query_keyed), so its text is written and hashed once per connection, not
// on every call, and its values are bound from where they are, never copied.
//
// The key holds everything that changes the text -- the model, the verb and its flags,
// each node's operator and column, whether a comparison with NULL became IS [NOT] NULL,
// each IN list's size, a subquery's table, selected column and nodes (spelled the same
// way, recursively) -- and nothing that is only a bound value. SqlWriter writes the
// text from the same nodes; the executor checks, when a connection first prepares a key,
// that the writer bound the very values this shape did, in the same order.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "../../model.hpp"
#include "../../query.hpp"
#include "../../detail/small_vector.hpp"

namespace gocp::detail {

/// `column == NULL` / `column != NULL`: written as IS [NOT] NULL, binding nothing (Django).
inline bool is_null_test(const Node& n) noexcept {
  return (n.op == Op::eq || n.op == Op::ne) && std::holds_alternative<std::monostate>(n.value);
}

/// The parameters of one statement, in placeholder order: pointers to values that
/// outlive its run (the conditions' nodes, the row being written).
using BoundValues = SmallVector<const Value*, 8>;

class StatementShape {
 public:
  /// `verb` names the statement's fixed text for `info`'s model (the model's address
  /// keeps two models' statements apart); the leading '\0' keeps every shape key apart
  /// from SQL text, which Connection::query_keyed also accepts as a key.
  StatementShape(const ModelInfo& info, char verb) {
    const ModelInfo* address = &info;
    key_[0] = '\0';
    std::memcpy(key_ + 1, &address, sizeof address);
    key_[1 + sizeof address] = verb;
    size_ = 2 + sizeof address;
  }

  /// A part of the text that is there or not (FOR UPDATE, an omitted auto key).
  void flag(bool on) { put(on ? 'y' : 'n'); }
  /// A column the verb's text names (an UPDATE's SET list, in order).
  void column(std::size_t c) { number(c); }
  /// A count or a number the text depends on (how many columns a SELECT lists).
  void count(std::size_t n) { number(n); }
  /// A one-byte choice the text depends on (a lock mode, an order key's direction).
  void code(char c) { put(c); }
  /// A value bound by the verb's fixed text (an INSERT's columns, in order).
  void bind(const Value& v) { params_.emplace_back(&v); }
  /// Room for `n` more bound values: one allocation for a statement that binds many.
  void reserve_binds(std::size_t n) { params_.reserve(params_.size() + n); }

  /// The conjunction SqlWriter::where() writes for `conditions`. Nodes are in prefix
  /// order, so one linear pass sees them in the order the writer binds them.
  template <class T>
  void where(std::initializer_list<const Expr<T>*> conditions) {
    for (const Expr<T>* e : conditions) {
      put(kConditionMark);
      for (const Node& n : e->nodes()) {
        // a subquery spells its own nodes: any number of bytes, each one checked
        if (n.op != Op::in_query && size_ + kMostBytesPerNode <= kInline) {  // the usual case: one room check per node, not per byte
          char* at = key_ + size_;
          node(n, [&](char c) { *at++ = c; });
          size_ = static_cast<std::size_t>(at - key_);
        } else {
          node(n, [&](char c) { put(c); });
        }
      }
    }
  }

  /// Valid while this shape lives.
  std::string_view key() const noexcept { return size_ <= kInline ? std::string_view(key_, size_) : spilled_; }
  std::span<const Value* const> params() const noexcept { return {params_.begin(), params_.size()}; }

 private:
  static constexpr char kConditionMark = 0x7f;  // never an Op: the key decodes one way only

  /// The operator byte, a column number (5 bytes at most) and an IN list's size (10).
  static constexpr std::size_t kMostBytesPerNode = 16;

  /// One node's bytes, each handed to `out(char)`; its values bound.
  template <class Out>
  void node(const Node& n, const Out& out) {
    out(static_cast<char>(n.op));
    switch (n.op) {
      case Op::and_:
      case Op::or_:
      case Op::not_:
      case Op::nothing:
        return;
      case Op::is_null:
      case Op::not_null:
        number(n.column, out);
        return;
      case Op::in:
        number(n.column, out);
        number(n.list.size(), out);
        for (const Value& v : n.list) bind(v);
        return;
      case Op::like:
        number(n.column, out);
        bind(n.value);
        return;
      case Op::in_query: {
        // the inner table by its ModelInfo's address (one per model, as the key's own
        // model), its selected column, how many nodes follow, then those nodes
        const Subquery& sub = *n.subquery;
        number(n.column, out);
        const auto address = reinterpret_cast<std::uintptr_t>(sub.model);
        for (std::size_t b = 0; b < sizeof address; ++b) out(static_cast<char>(address >> (8 * b)));
        number(sub.column, out);
        number(sub.nodes.size(), out);
        for (const Node& inner : sub.nodes) node(inner, out);
        return;
      }
      default:
        number(n.column, out);
        if (is_null_test(n)) {
          out('N');
        } else {
          out('V');
          bind(n.value);
        }
    }
  }

  /// A self-delimiting number (7 bits a byte, high bit: more follow).
  template <class Out>
  static void number(std::size_t v, const Out& out) {
    do {
      out(static_cast<char>((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
      v >>= 7;
    } while (v);
  }
  void number(std::size_t v) {
    number(v, [this](char c) { put(c); });
  }

  /// One byte of the key: inline up to kInline bytes (a few terms), then in spilled_.
  void put(char c) {
    if (size_ < kInline) {
      key_[size_++] = c;
      return;
    }
    if (size_++ == kInline) spilled_.assign(key_, kInline);
    spilled_ += c;
  }

  static constexpr std::size_t kInline = 48;
  char key_[kInline];
  std::size_t size_;
  std::string spilled_;
  BoundValues params_;
};

}  // namespace gocp::detail
