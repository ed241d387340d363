#pragma once
// Evaluates an expression against an object in memory, with SQL's three-valued logic,
// exactly as the SQL writer's rendering would on the row. A cached lookup -> pk mapping
// is only trusted when the cached object still matches the lookup and filters.

#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../model.hpp"
#include "../query.hpp"

namespace gocp::detail {

enum class Truth : std::uint8_t { no, yes, unknown };

/// Compares column `column` of obj with v: <0, 0, >0, or nullopt when either is NULL.
template <class T>
std::optional<int> compare_column(const T& obj, std::size_t column, const Value& v) {
  std::optional<int> out;
  for_each_field<T>([&](const auto& f, std::size_t i) {
    if (i != column) return;
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    using traits = column_traits<M>;
    const M& member = obj.*f.member;
    const typename traits::base* x = nullptr;
    if constexpr (traits::nullable) {
      if (member) x = &*member;
    } else {
      x = &member;
    }
    if (!x) return;
    auto three_way = [](const auto& a, const auto& b) { return a < b ? -1 : (b < a ? 1 : 0); };
    if constexpr (traits::type == ColumnType::text) {
      if (const auto* s = std::get_if<std::string>(&v)) {
        const int c = std::string_view(*x).compare(*s);  // bytewise, as SQLite's BINARY collation
        out = c < 0 ? -1 : (c > 0 ? 1 : 0);
      }
    } else if constexpr (traits::type == ColumnType::integer) {
      if (const auto* n = std::get_if<std::int64_t>(&v)) out = three_way(static_cast<std::int64_t>(*x), *n);
      else if (const auto* d = std::get_if<double>(&v)) out = three_way(static_cast<double>(*x), *d);
    } else {
      if (const auto* d = std::get_if<double>(&v)) out = three_way(static_cast<double>(*x), *d);
      else if (const auto* n = std::get_if<std::int64_t>(&v)) out = three_way(static_cast<double>(*x), static_cast<double>(*n));
    }
  });
  return out;
}

/// The length of the UTF-8 character starting at s[i] (a lead byte and its continuation
/// bytes, as SQLite reads them; any other byte is a character of its own).
inline std::size_t utf8_char_length(std::string_view s, std::size_t i) {
  std::size_t n = 1;
  if (static_cast<unsigned char>(s[i]) >= 0xc0)
    while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xc0) == 0x80) ++n;
  return n;
}

/// SQL LIKE with '\' escapes, case-sensitive (as gocp configures every backend), as
/// SQLite and PostgreSQL evaluate it: '_' is one UTF-8 character, not one byte; a
/// pattern ending in a lone '\' matches nothing; text is read up to a NUL (SQLite's
/// LIKE sees C strings; PostgreSQL text cannot hold one).
inline bool like_match(std::string_view s, std::string_view p) {
  s = s.substr(0, s.find('\0'));
  p = p.substr(0, p.find('\0'));
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '\\') continue;
    if (i + 1 == p.size()) return false;
    ++i;
  }
  std::size_t si = 0, pi = 0, star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '%') {  // remember where to resume if what follows fails
      star_p = ++pi;
      star_s = si;
      continue;
    }
    if (pi < p.size()) {
      const bool escaped = p[pi] == '\\' && pi + 1 < p.size();
      if (!escaped && p[pi] == '_') {
        ++pi;
        si += utf8_char_length(s, si);
        continue;
      }
      if ((escaped ? p[pi + 1] : p[pi]) == s[si]) {  // bytewise: a multi-byte character matches byte by byte
        pi += escaped ? 2 : 1;
        ++si;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p;  // let the last '%' swallow one more character
    star_s += utf8_char_length(s, star_s);
    si = star_s;
  }
  while (pi < p.size() && p[pi] == '%') ++pi;
  return pi == p.size();
}

template <class T>
Truth evaluate(std::span<const Node> nodes, std::size_t& i, const T& obj) {
  const Node& n = nodes[i++];
  switch (n.op) {
    case Op::and_: {
      const Truth a = evaluate(nodes, i, obj), b = evaluate(nodes, i, obj);
      if (a == Truth::no || b == Truth::no) return Truth::no;
      return a == Truth::yes && b == Truth::yes ? Truth::yes : Truth::unknown;
    }
    case Op::or_: {
      const Truth a = evaluate(nodes, i, obj), b = evaluate(nodes, i, obj);
      if (a == Truth::yes || b == Truth::yes) return Truth::yes;
      return a == Truth::no && b == Truth::no ? Truth::no : Truth::unknown;
    }
    case Op::not_:
      return evaluate(nodes, i, obj) == Truth::yes ? Truth::no : Truth::yes;  // NOT COALESCE(x, FALSE)
    case Op::nothing:
      return Truth::no;
    case Op::is_null:
    case Op::not_null: {
      const bool null = std::holds_alternative<std::monostate>(get_column(obj, n.column));
      return null == (n.op == Op::is_null) ? Truth::yes : Truth::no;
    }
    case Op::in: {
      bool any_unknown = false;
      for (const Value& v : n.list) {
        const auto c = compare_column(obj, n.column, v);
        if (!c) any_unknown = true;
        else if (*c == 0) return Truth::yes;
      }
      return any_unknown ? Truth::unknown : Truth::no;
    }
    case Op::like: {
      const Value v = get_column(obj, n.column);
      const auto* s = std::get_if<std::string>(&v);
      if (!s) return Truth::unknown;
      return like_match(*s, std::get<std::string>(n.value)) ? Truth::yes : Truth::no;
    }
    default: {
      const bool null_value = std::holds_alternative<std::monostate>(n.value);
      if (null_value && (n.op == Op::eq || n.op == Op::ne)) {  // rendered as IS [NOT] NULL
        const bool null = std::holds_alternative<std::monostate>(get_column(obj, n.column));
        return null == (n.op == Op::eq) ? Truth::yes : Truth::no;
      }
      const auto c = compare_column(obj, n.column, n.value);
      if (n.op == Op::ne) return c && *c == 0 ? Truth::no : Truth::yes;  // IS DISTINCT FROM: NULL is "not equal"
      if (!c) return Truth::unknown;
      switch (n.op) {
        case Op::eq: return *c == 0 ? Truth::yes : Truth::no;
        case Op::lt: return *c < 0 ? Truth::yes : Truth::no;
        case Op::le: return *c <= 0 ? Truth::yes : Truth::no;
        case Op::gt: return *c > 0 ? Truth::yes : Truth::no;
        default: return *c >= 0 ? Truth::yes : Truth::no;
      }
    }
  }
}

/// Whether obj is a row the expression selects (an empty expression selects all).
template <class T>
bool matches(const Expr<T>& e, const T& obj) {
  if (e.empty()) return true;
  std::size_t i = 0;
  return evaluate(e.nodes(), i, obj) == Truth::yes;
}

}  // namespace gocp::detail
