#pragma once
// Evaluates an expression against an object in memory, with SQL's three-valued logic,
// exactly as the database would on the row, or answers `undecided` where memory cannot
// know the database's answer (a collation's order, NaN, text SQLite reads as other
// characters, a subquery: another table's rows). A cached lookup -> pk mapping is only trusted when the cached object
// matches the lookup and filters with a decided yes.

#include <cmath>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../../dialect.hpp"
#include "../../model.hpp"
#include "../../query.hpp"
#include "../../detail/utf8.hpp"

namespace gocp::detail {

/// `unknown` is SQL's NULL truth; `undecided`: only the database can tell.
enum class Truth : std::uint8_t { no, yes, unknown, undecided };

/// A comparison's outcome: an order, NULL, or one memory cannot tell.
enum class Order : std::int8_t { less = -1, equal = 0, greater = 1, null, undecided };

/// Compares two values of one column as both backends do: numbers by value (NaN
/// `undecided`), text bytewise (`undecided` when unequal and the order is not known),
/// bytes bytewise (SQLite's memcmp and PostgreSQL's bytea order agree), timestamps and
/// dates by their counts; NULL is `null`.
inline Order compare_values(const Value& a, const Value& b, bool text_order_known) {
  if (std::holds_alternative<std::monostate>(a)) return Order::null;
  auto three_way = [](const auto& x, const auto& y) {
    if constexpr (std::is_floating_point_v<std::remove_cvref_t<decltype(x)>>) {
      if (std::isnan(x) || std::isnan(y)) return Order::undecided;
    }
    return x < y ? Order::less : (y < x ? Order::greater : Order::equal);
  };
  if (const auto* s = std::get_if<std::string>(&a)) {
    const auto* t = std::get_if<std::string>(&b);
    if (!t) return Order::undecided;
    const int c = std::string_view(*s).compare(*t);
    return c == 0 ? Order::equal : !text_order_known ? Order::undecided : c < 0 ? Order::less : Order::greater;
  }
  if (const auto* x = std::get_if<BlobValue>(&a)) {
    const auto* y = std::get_if<BlobValue>(&b);
    if (!y) return Order::undecided;
    const int c = std::string_view(x->bytes).compare(y->bytes);  // unsigned bytes, then length
    return c == 0 ? Order::equal : c < 0 ? Order::less : Order::greater;
  }
  if (const auto* x = std::get_if<TimestampValue>(&a)) {
    const auto* y = std::get_if<TimestampValue>(&b);
    return y ? three_way(x->micros, y->micros) : Order::undecided;
  }
  if (const auto* x = std::get_if<DateValue>(&a)) {
    const auto* y = std::get_if<DateValue>(&b);
    return y ? three_way(x->days, y->days) : Order::undecided;
  }
  if (const auto* i = std::get_if<std::int64_t>(&a)) {
    if (const auto* n = std::get_if<std::int64_t>(&b)) return three_way(*i, *n);
    if (const auto* d = std::get_if<double>(&b)) return three_way(static_cast<double>(*i), *d);
    return Order::undecided;
  }
  const double x = std::get<double>(a);
  if (const auto* d = std::get_if<double>(&b)) return three_way(x, *d);
  if (const auto* n = std::get_if<std::int64_t>(&b)) return three_way(x, static_cast<double>(*n));
  return Order::undecided;
}

/// Compares column `column` of obj with v. Unequal texts are `undecided` unless
/// `text_order_known` (the backend orders text bytewise, or only equality matters);
/// NaN is `undecided` (SQLite binds it as NULL, PostgreSQL orders it above every number).
template <class T>
Order compare_column(const T& obj, std::size_t column, const Value& v, bool text_order_known) {
  Order out = Order::null;
  for_each_field<T>([&](const auto& f, std::size_t i) {
    if (i != column) return;
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    using traits = column_traits<M>;
    const M& member = obj.*f.member;
    if constexpr (kind_of<typename traits::base>() == Kind::mapped || traits::type == ColumnType::blob ||
                  traits::type == ColumnType::timestamp || traits::type == ColumnType::date) {
      out = compare_values(traits::to_value(member), v, text_order_known);  // through its stored form
      return;
    } else {
    const typename traits::base* x = nullptr;
    if constexpr (traits::nullable) {
      if (member) x = &*member;
    } else {
      x = &member;
    }
    if (!x) return;
    auto three_way = [](const auto& a, const auto& b) {
      if constexpr (std::is_floating_point_v<std::remove_cvref_t<decltype(a)>>) {
        if (std::isnan(a) || std::isnan(b)) return Order::undecided;
      }
      return a < b ? Order::less : (b < a ? Order::greater : Order::equal);
    };
    if constexpr (traits::type == ColumnType::text) {
      if (const auto* s = std::get_if<std::string>(&v)) {
        const int c = std::string_view(*x).compare(*s);  // bytewise, as SQLite's BINARY collation
        out = c == 0 ? Order::equal : !text_order_known ? Order::undecided : c < 0 ? Order::less : Order::greater;
      }
    } else if constexpr (traits::type == ColumnType::integer) {
      if (const auto* n = std::get_if<std::int64_t>(&v)) out = three_way(static_cast<std::int64_t>(*x), *n);
      else if (const auto* d = std::get_if<double>(&v)) out = three_way(static_cast<double>(*x), *d);
    } else {
      if (const auto* d = std::get_if<double>(&v)) out = three_way(static_cast<double>(*x), *d);
      else if (const auto* n = std::get_if<std::int64_t>(&v)) out = three_way(static_cast<double>(*x), static_cast<double>(*n));
    }
    }
  });
  return out;
}

/// Whether a text value may make the database refuse the whole statement:
/// PostgreSQL takes no NUL and only UTF-8; a LIKE pattern ending in a lone '\' is an
/// error there, one over 50000 bytes on SQLite. Memory then decides nothing: an AND or
/// OR it short-circuits would hide the error.
inline bool may_be_refused(const Value& v, bool pattern) {
  const auto* s = std::get_if<std::string>(&v);
  if (!s) return false;
  if (s->find('\0') != std::string::npos || !strict_utf8(*s)) return true;
  if (!pattern) return false;
  if (s->size() > 50000) return true;
  for (std::size_t i = 0; i < s->size(); ++i) {
    if ((*s)[i] != '\\') continue;
    if (i + 1 == s->size()) return true;
    ++i;
  }
  return false;
}

inline bool may_be_refused(std::span<const Node> nodes) {
  for (const Node& n : nodes) {
    if (may_be_refused(n.value, n.op == Op::like)) return true;
    for (const Value& v : n.list)
      if (may_be_refused(v, false)) return true;
  }
  return false;
}

/// SQL LIKE with '\' escapes, case-sensitive (as gocp configures every backend), as
/// SQLite and PostgreSQL evaluate it on strict UTF-8 (see strict_utf8) and a pattern
/// they accept (see may_be_refused): '_' is one character, others match bytewise.
inline bool like_match(std::string_view s, std::string_view p) {
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

/// What `obj` makes of the subtree at nodes[i] (advancing i past it) on a backend of
/// `dialect`.
template <class T>
Truth evaluate(std::span<const Node> nodes, std::size_t& i, const T& obj, const Dialect& dialect) {
  const Node& n = nodes[i++];
  switch (n.op) {
    case Op::and_: {
      const Truth a = evaluate(nodes, i, obj, dialect), b = evaluate(nodes, i, obj, dialect);
      if (a == Truth::no || b == Truth::no) return Truth::no;
      if (a == Truth::undecided || b == Truth::undecided) return Truth::undecided;
      return a == Truth::yes && b == Truth::yes ? Truth::yes : Truth::unknown;
    }
    case Op::or_: {
      const Truth a = evaluate(nodes, i, obj, dialect), b = evaluate(nodes, i, obj, dialect);
      if (a == Truth::yes || b == Truth::yes) return Truth::yes;
      if (a == Truth::undecided || b == Truth::undecided) return Truth::undecided;
      return a == Truth::no && b == Truth::no ? Truth::no : Truth::unknown;
    }
    case Op::not_: {
      const Truth a = evaluate(nodes, i, obj, dialect);
      if (a == Truth::undecided) return a;
      return a == Truth::yes ? Truth::no : Truth::yes;  // NOT COALESCE(x, FALSE)
    }
    case Op::nothing:
      return Truth::no;
    case Op::in_query:
      return Truth::undecided;  // the answer is in another table (verdict() stops before this)
    case Op::is_null:
    case Op::not_null: {
      const bool null = std::holds_alternative<std::monostate>(get_column(obj, n.column));
      return null == (n.op == Op::is_null) ? Truth::yes : Truth::no;
    }
    case Op::in: {
      Truth out = Truth::no;
      for (const Value& v : n.list) {
        const Order c = compare_column(obj, n.column, v, /*text_order_known=*/true);
        if (c == Order::equal) return Truth::yes;
        if (c == Order::undecided) out = Truth::undecided;
        else if (c == Order::null && out == Truth::no) out = Truth::unknown;
      }
      return out;
    }
    case Op::like: {
      const Value v = get_column(obj, n.column);
      const auto* text = std::get_if<std::string>(&v);
      if (!text) return Truth::unknown;
      std::string_view s = *text;
      s = s.substr(0, s.find('\0'));  // SQLite's LIKE reads C strings; PostgreSQL text holds no NUL
      if (!strict_utf8(s)) return Truth::undecided;  // SQLite reads other characters than its bytes
      return like_match(s, std::get<std::string>(n.value)) ? Truth::yes : Truth::no;
    }
    default: {
      const bool null_value = std::holds_alternative<std::monostate>(n.value);
      if (null_value && (n.op == Op::eq || n.op == Op::ne)) {  // rendered as IS [NOT] NULL
        const bool null = std::holds_alternative<std::monostate>(get_column(obj, n.column));
        return null == (n.op == Op::eq) ? Truth::yes : Truth::no;
      }
      const bool equality = n.op == Op::eq || n.op == Op::ne;
      const Order c = compare_column(obj, n.column, n.value, equality || dialect.bytewise_text_order);
      if (c == Order::undecided) return Truth::undecided;
      if (n.op == Op::ne) return c == Order::equal ? Truth::no : Truth::yes;  // IS DISTINCT FROM: NULL is "not equal"
      if (c == Order::null) return Truth::unknown;
      switch (n.op) {
        case Op::eq: return c == Order::equal ? Truth::yes : Truth::no;
        case Op::lt: return c == Order::less ? Truth::yes : Truth::no;
        case Op::le: return c != Order::greater ? Truth::yes : Truth::no;
        case Op::gt: return c == Order::greater ? Truth::yes : Truth::no;
        default: return c != Order::less ? Truth::yes : Truth::no;
      }
    }
  }
}

/// What the database makes of `e` on obj's row, as far as memory can tell (an empty
/// expression selects every row). A condition with a subquery is `undecided` as a whole:
/// even where another term would decide it, the database may refuse the subquery's values.
template <class T>
Truth verdict(const Expr<T>& e, const T& obj, const Dialect& dialect) {
  if (e.empty()) return Truth::yes;
  if (reads_other_tables(e.nodes()) || may_be_refused(e.nodes())) return Truth::undecided;
  std::size_t i = 0;
  return evaluate(e.nodes(), i, obj, dialect);
}

/// Whether obj is a row the expression certainly selects on a backend of `dialect`:
/// false when it does not, and when only the database can tell.
template <class T>
bool matches(const Expr<T>& e, const T& obj, const Dialect& dialect) {
  return verdict(e, obj, dialect) == Truth::yes;
}

}  // namespace gocp::detail
