#pragma once
/// \file
/// A typed expression DSL over member pointers. `c(&Author::last_name)` names a column;
/// comparing it builds an `Expr<Author>`, and `&&`, `||`, `!` combine expressions:
///
///     using gocp::c;
///     auto tolstoys = c(&Author::last_name) == "Tolstoy" && c(&Author::books_in_store) > 0;
///     auto anywhere = c(&Author::store).is_null() || c(&Author::store).in({"Amazon", "Kiosk"});
///
/// A column may also be tested against another repository's rows, as a subquery
/// (Django's `user__in=` / `user__email__endswith=`): `in(repo)` tests the repository's
/// primary keys, `in(repo, &Other::field)` that field's values, each with the repository's
/// own filters and bound values:
///
///     auto theirs = c(&Link::user_id).in(users.filter(c(&User::email).endswith("@example.com")));
///     auto busy = c(&User::id).in(links.filter(c(&Link::clicks) > 100), &Link::user_id);
///
/// The same column assigned (`c(&Author::store) = "Amazon"`) is an `Assignment<Author>`,
/// used by `defaults(...)` and `update(...)`; a callable on the right is evaluated only
/// when the assignment is applied. `c(&Author::books_in_store) += 1` (or `-=`) adds to
/// what the row holds, in the database (`SET n = n + 1`, Django's F('n') + 1). Comparing or assigning a value of the wrong type, or
/// mixing two models' fields, does not compile.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <iterator>  // std::begin/end; not <ranges>, which costs every includer ~20k lines
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/small_vector.hpp"
#include "model.hpp"

namespace gocp {

namespace detail {

/// `in_query`: the column's value is among the values a subquery selects (Node::subquery).
enum class Op : std::uint8_t { eq, ne, lt, le, gt, ge, like, in, is_null, not_null, and_, or_, not_, nothing, in_query };

struct Subquery;

/// One node of an expression, stored in prefix order: an operator node is followed by
/// its operands' subtrees, so a whole expression is one flat vector. A subquery is one
/// node: its own nodes live in the Subquery it points to.
struct Node {
  Op op;
  std::uint32_t column = 0;
  Value value{};
  std::vector<Value> list{};  ///< the candidates of `in`
  /// What `in_query` tests against; null for every other operator (no heap work for them).
  std::shared_ptr<const Subquery> subquery{};
};

/// `SELECT <column> FROM <model's table> WHERE <nodes>`: the inner query of an `in_query`
/// node, as data (the SQL writer renders it, the statement shape spells it). Immutable
/// once made, so the expressions that copy it share it.
struct Subquery {
  const ModelInfo* model;   ///< the inner table
  std::uint32_t column;     ///< the column it selects, in model->columns
  std::vector<Node> nodes;  ///< its conditions in prefix order; empty: every row
};

/// Whether any node tests a subquery, here or inside an AND / OR / NOT: such a condition
/// reads other tables, so memory cannot evaluate it and no cache may answer for it.
inline bool reads_other_tables(std::span<const Node> nodes) noexcept {
  for (const Node& n : nodes)
    if (n.op == Op::in_query) return true;
  return false;
}

/// The index just past the subtree that starts at `i`.
inline std::size_t subtree_end(std::span<const Node> nodes, std::size_t i) {
  switch (nodes[i].op) {
    case Op::and_:
    case Op::or_:
      return subtree_end(nodes, subtree_end(nodes, i + 1));
    case Op::not_:
      return subtree_end(nodes, i + 1);
    default:
      return i + 1;
  }
}

inline std::string like_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

}  // namespace detail

template <class T>
class Expr;

namespace detail {
/// What Col::in accepts as a subquery: a repository-like value with a model type and a
/// queryset whose scope() is that model's condition (Repository, a RelatedSet).
template <class Q>
concept SubqueryOperand = requires(const Q& q) {
  typename Q::model_type;
  { q.queryset().scope() } -> std::convertible_to<const Expr<typename Q::model_type>&>;
};

/// `column IN (SELECT selected FROM inner WHERE nodes)` as an expression on T.
template <class T>
Expr<T> in_subquery(std::uint32_t column, const ModelInfo& inner, std::uint32_t selected, std::vector<Node> nodes) {
  Node n{Op::in_query, column};
  n.subquery = std::make_shared<const Subquery>(Subquery{&inner, selected, std::move(nodes)});
  return Expr<T>(std::move(n));
}
}  // namespace detail

/// A condition on rows of T. An empty expression matches every row.
template <class T>
class Expr {
 public:
  using model_type = T;  ///< the model whose rows it filters; && and || refuse two models

  /// Matches every row (a filter that removes nothing).
  Expr() = default;
  /// One term, as Col's comparisons build it; not for users (the node is internal).
  explicit Expr(detail::Node&& node) { nodes_.emplace_back(std::move(node)); }
  /// One node, the one make() returns, built in place: a comparison's value is written
  /// once, where it stays.
  template <class Make>
    requires std::is_invocable_r_v<detail::Node, Make&>
  Expr(std::in_place_t, Make&& make) {
    nodes_.emplace_back_with(make);
  }

  /// True for the match-everything expression.
  bool empty() const noexcept { return nodes_.empty(); }
  /// The terms in prefix order, for the SQL writer and the cache's matcher; valid while
  /// this Expr lives.
  std::span<const detail::Node> nodes() const noexcept { return nodes_; }

  /// `a op b` (AND or OR), an empty operand treated as TRUE; what && and || call.
  static Expr combine(detail::Op op, const Expr& a, const Expr& b) {
    if (a.empty()) return op == detail::Op::and_ ? b : a;  // TRUE && b == b; TRUE || b == TRUE
    if (b.empty()) return op == detail::Op::and_ ? a : b;
    return joined(op, a.nodes_.begin(), a.nodes_.end(), b.nodes_.begin(), b.nodes_.end());
  }

  /// As combine(), moving the operands' nodes.
  static Expr combine(detail::Op op, Expr&& a, Expr&& b) {
    if (a.empty()) return op == detail::Op::and_ ? std::move(b) : std::move(a);
    if (b.empty()) return op == detail::Op::and_ ? std::move(a) : std::move(b);
    return joined(op, std::make_move_iterator(a.nodes_.begin()), std::make_move_iterator(a.nodes_.end()),
                  std::make_move_iterator(b.nodes_.begin()), std::make_move_iterator(b.nodes_.end()));
  }

  /// NOT this; an empty expression stays empty, as Django's ~Q() filters nothing out.
  Expr negated() const {
    if (empty()) return {};
    Expr out;
    out.nodes_.reserve(1 + nodes_.size());
    out.nodes_.emplace_back_with([] { return detail::Node{detail::Op::not_}; });
    out.nodes_.append(nodes_.begin(), nodes_.end());
    return out;
  }

 private:
  /// `op` over two operands' nodes, built in place (one named result: no move on return).
  template <class It>
  static Expr joined(detail::Op op, It a_first, It a_last, It b_first, It b_last) {
    Expr out;
    out.nodes_.reserve(1 + static_cast<std::size_t>((a_last - a_first) + (b_last - b_first)));
    out.nodes_.emplace_back_with([op] { return detail::Node{op}; });  // in place: no move of a temporary
    out.nodes_.append(a_first, a_last);
    out.nodes_.append(b_first, b_last);
    return out;
  }

  // Prefix order, held inline up to `a && b`: building a two-term lookup allocates nothing.
  detail::SmallVector<detail::Node, 3> nodes_;
};

///@{
/// Both conditions (SQL AND); an empty side is TRUE. Conditions on two different models
/// do not compile, with a static_assert saying so. The && overloads move their operands'
/// terms when given temporaries, so `c(a) == 1 && c(b) == 2` copies no value.
template <class A, class B>
Expr<A> operator&&(const Expr<A>& a, const Expr<B>& b) {
  if constexpr (std::is_same_v<A, B>) {
    return Expr<A>::combine(detail::Op::and_, a, b);
  } else {
    static_assert(detail::always_false<B>, "gocp: cannot combine conditions on two different models with &&");
    return a;
  }
}
template <class A, class B>
Expr<A> operator&&(Expr<A>&& a, Expr<B>&& b) {
  if constexpr (std::is_same_v<A, B>) {
    return Expr<A>::combine(detail::Op::and_, std::move(a), std::move(b));
  } else {
    static_assert(detail::always_false<B>, "gocp: cannot combine conditions on two different models with &&");
    return std::move(a);
  }
}
///@}

///@{
/// Either condition (SQL OR); an empty side is TRUE, so the result matches every row.
/// Conditions on two different models do not compile.
template <class A, class B>
Expr<A> operator||(Expr<A>&& a, Expr<B>&& b) {
  if constexpr (std::is_same_v<A, B>) {
    return Expr<A>::combine(detail::Op::or_, std::move(a), std::move(b));
  } else {
    static_assert(detail::always_false<B>, "gocp: cannot combine conditions on two different models with ||");
    return std::move(a);
  }
}
template <class A, class B>
Expr<A> operator||(const Expr<A>& a, const Expr<B>& b) {
  if constexpr (std::is_same_v<A, B>) {
    return Expr<A>::combine(detail::Op::or_, a, b);
  } else {
    static_assert(detail::always_false<B>, "gocp: cannot combine conditions on two different models with ||");
    return a;
  }
}
///@}

/// Rows for which `e` is not true, including rows where it is NULL (as Django's exclude).
template <class T>
Expr<T> operator!(const Expr<T>& e) {
  return e.negated();
}

/// `column = value`, applied by a create, an update or defaults. A callable value is
/// called only when the assignment is applied. With `increment`, the value is added to
/// the column's current value (`column += value`) rather than stored.
template <class T>
struct Assignment {
  std::size_t column;             ///< index in ModelInfo::columns
  Value value{};                  ///< the value, already checked against the field (unused when `lazy`)
  std::function<Value()> lazy{};  ///< the user's callable, checked when called; empty: use `value`
  bool increment = false;         ///< add `value` to the column instead of storing it

  /// The value to write: calls `lazy` if set (so a callable runs once per resolve, and
  /// may throw ValidationError for a value outside the field's range or length).
  Value resolve() const { return lazy ? lazy() : value; }
};

/// What gocp::defaults returns: assignments get_or_create applies only when it creates,
/// and update_or_create also applies as its update.
template <class T>
struct Defaults {
  std::vector<Assignment<T>> items;  ///< in the order given; a later one for the same column wins
};

/// Like Defaults, but only for a create (update_or_create's create_defaults).
template <class T>
struct CreateDefaults {
  std::vector<Assignment<T>> items;  ///< in the order given; a later one for the same column wins
};

namespace detail {
/// One key of an ordering, as a value: the column, its direction and where its NULLs
/// go. What a QuerySet keeps (no SQL text) and what the SQL writer renders.
struct OrderTerm {
  std::uint32_t column = 0;  ///< index in ModelInfo::columns
  bool descending = false;   ///< DESC rather than ASC
  bool nulls_first = false;  ///< NULLs before every value (else after)

  /// The same key the other way round, its NULLs moving to the other end (Django's reverse()).
  constexpr OrderTerm flipped() const noexcept { return {column, !descending, !nulls_first}; }
  friend constexpr bool operator==(const OrderTerm&, const OrderTerm&) = default;
};
}  // namespace detail

/// One key of an ordering on rows of T, for Repository::order_by: `c(&Link::created_at).desc()`.
/// NULLs sort as the largest value unless told otherwise (ASC puts them last, DESC
/// first; PostgreSQL's default, made the same on SQLite); `.nulls_first()` /
/// `.nulls_last()` place them explicitly.
template <class T>
class Order {
 public:
  using model_type = T;  ///< the model whose rows it orders; order_by refuses another model's

  /// Made by Col::asc() / Col::desc(); not for users.
  constexpr explicit Order(detail::OrderTerm term) noexcept : term_(term) {}

  /// This key with NULLs before every value.
  constexpr Order nulls_first() const noexcept { return Order({term_.column, term_.descending, true}); }
  /// This key with NULLs after every value.
  constexpr Order nulls_last() const noexcept { return Order({term_.column, term_.descending, false}); }

  /// The key as the QuerySet keeps it.
  constexpr const detail::OrderTerm& term() const noexcept { return term_; }

 private:
  detail::OrderTerm term_;
};

/// A column of T backed by a member of type M.
template <class T, class M>
class Col {
  using traits = column_traits<M>;

 public:
  /// Throws ConfigurationError, naming the model, when the schema does not list `member`.
  explicit Col(M T::*member) : column_(static_cast<std::uint32_t>(detail::column_index<T>(member))) {
    if (detail::column_index<T>(member) == detail::npos)
      throw ConfigurationError("gocp: a member of '" + std::string(model<T>::name) +
                               "' used in a query is not listed in gocp::model<...>::schema");
  }

  /// The column's index in ModelInfo::columns (its position in the schema).
  std::size_t index() const noexcept { return column_; }

  /// `column == v`; with std::nullopt, IS NULL (as Django's `field=None`). A value of a type
  /// the field cannot hold does not compile; one it cannot represent (an integer out of
  /// range, a text over max_length) throws ValidationError naming the field.
  template <class V>
  Expr<T> operator==(V&& v) const { return compare<V>(detail::Op::eq, std::forward<V>(v)); }
  /// `column != v`, true for NULL rows too (IS DISTINCT FROM), as Django's exclude(field=v).
  template <class V>
  Expr<T> operator!=(V&& v) const { return compare<V>(detail::Op::ne, std::forward<V>(v)); }
  ///@{
  /// An ordering comparison (SQL's; a NULL row never matches). Type rules as for ==.
  template <class V>
  Expr<T> operator<(V&& v) const { return compare<V>(detail::Op::lt, std::forward<V>(v)); }
  template <class V>
  Expr<T> operator<=(V&& v) const { return compare<V>(detail::Op::le, std::forward<V>(v)); }
  template <class V>
  Expr<T> operator>(V&& v) const { return compare<V>(detail::Op::gt, std::forward<V>(v)); }
  template <class V>
  Expr<T> operator>=(V&& v) const { return compare<V>(detail::Op::ge, std::forward<V>(v)); }
  ///@}

  /// `column IN (values...)`; an empty list matches no row.
  template <class R>
    requires requires(const R& r) { std::begin(r) != std::end(r); }
  Expr<T> in(const R& values) const {
    using V = std::remove_cvref_t<decltype(*std::begin(values))>;
    if constexpr (!traits::template accepts<V>) {
      static_assert(detail::always_false<V>, "gocp: in(...) with values of a type this field cannot hold");
      return {};
    } else {
      detail::Node n{detail::Op::in, column_};
      for (const auto& v : values) {
        auto [value, exact] = traits::for_comparison(v, name());
        if (exact) n.list.push_back(std::move(value));  // a time between two microseconds equals no stored one
      }
      return Expr<T>(std::move(n));
    }
  }
  /// `c(&Author::id).in({1, 2, 3})`: the braced list, of the field's own type.
  Expr<T> in(std::initializer_list<typename traits::base> values) const {
    return in(std::vector<typename traits::base>(values));
  }

  /// `column IN (SELECT pk FROM ...)`: the column holds the primary key of one of the rows
  /// `inner` (a Repository, or anything with queryset() and model_type) sees, through its
  /// filters and bound values. The key's type must be this column's (std::optional<T> and
  /// T match), else it does not compile. An inner set with no row matches no row; the
  /// query runs in the database with the outer one, when that one is read.
  template <class Q>
    requires detail::SubqueryOperand<Q>
  Expr<T> in(const Q& inner) const {
    using Inner = typename Q::model_type;
    return in_values_of<Inner, detail::pk_type<Inner>>(inner.queryset().scope(), detail::pk_index<Inner>);
  }

  /// `column IN (SELECT field FROM ...)`: the column holds `field`'s value on one of the
  /// rows `inner` sees (`c(&User::id).in(links.filter(...), &Link::user_id)`). `field`
  /// must be a field of inner's model with this column's type (optional or not).
  template <class Q, class IM, class IT>
    requires detail::SubqueryOperand<Q>
  Expr<T> in(const Q& inner, IM IT::*field) const {
    using Inner = typename Q::model_type;
    if constexpr (!std::is_same_v<IT, Inner>) {
      static_assert(detail::always_false<IT>, "gocp: in(subquery, &Model::field): the field is not on the subquery's model");
      return {};
    } else {
      return in_values_of<Inner, IM>(inner.queryset().scope(), detail::column_index<Inner>(field));
    }
  }

  /// This column ascending, NULLs last (as the largest value): a key for order_by().
  Order<T> asc() const noexcept { return Order<T>({column_, false, false}); }
  /// This column descending, NULLs first (as the largest value): a key for order_by().
  Order<T> desc() const noexcept { return Order<T>({column_, true, true}); }

  /// `column IS NULL`, or with `false` IS NOT NULL (Django's `__isnull`).
  Expr<T> is_null(bool null = true) const {
    return Expr<T>(detail::Node{null ? detail::Op::is_null : detail::Op::not_null, column_});
  }

  /// SQL LIKE with '\' as the escape character; case-sensitive on every backend.
  Expr<T> like(std::string_view pattern) const {
    static_assert(traits::type == ColumnType::text, "gocp: like/startswith/contains apply only to text fields");
    return Expr<T>(detail::Node{detail::Op::like, column_, Value{std::string(pattern)}});
  }
  ///@{
  /// A case-sensitive LIKE on the literal text (its % and _ are escaped, not wildcards).
  Expr<T> startswith(std::string_view prefix) const { return like(detail::like_escape(prefix) + "%"); }
  Expr<T> endswith(std::string_view suffix) const { return like("%" + detail::like_escape(suffix)); }
  Expr<T> contains(std::string_view part) const { return like("%" + detail::like_escape(part) + "%"); }
  ///@}

  /// `column += delta` for update(...) and defaults(...): computed by the database from
  /// the row's current value, so concurrent increments all count. A result outside the
  /// member type's range is a ValidationError and no row changes. On a create (the
  /// create of get_or_create / update_or_create) it adds to the new object's value.
  template <class V>
  Assignment<T> operator+=(V&& delta) const {
    return increment(std::forward<V>(delta), false);
  }
  /// `column -= delta`, as += with the delta negated (the most negative integer throws
  /// ValidationError: it has no negation).
  template <class V>
  Assignment<T> operator-=(V&& delta) const {
    return increment(std::forward<V>(delta), true);
  }

  /// An assignment for defaults(...) / update(...); a callable is evaluated lazily.
  template <class V>
  Assignment<T> operator=(V&& v) const {
    using U = std::remove_cvref_t<V>;
    if constexpr (traits::template accepts<V>) {
      return {column_, traits::from_user(std::forward<V>(v), name())};
    } else if constexpr (std::is_invocable_v<U&>) {
      using R = std::invoke_result_t<U&>;
      static_assert(traits::template accepts<R>,
                    "gocp: this callable returns a type the field cannot hold");
      return {column_, Value{},
              [fn = std::forward<V>(v), what = name()]() mutable { return traits::from_user(fn(), what); }};
    } else {
      static_assert(detail::always_false<V>,
                    "gocp: cannot assign a value of this type to this field (check the field's type)");
      return {column_};
    }
  }

 private:
  /// The in_query term over `scope`'s rows of Inner, selecting `selected` (a member of type IM).
  template <class Inner, class IM>
  Expr<T> in_values_of(const Expr<Inner>& scope, std::size_t selected) const {
    if constexpr (!std::is_same_v<typename column_traits<IM>::base, typename traits::base>) {
      static_assert(detail::always_false<IM>,
                    "gocp: in(subquery): the subquery selects values of another type than this field's (select "
                    "a field of the same type: in(repo, &Other::field))");
      return {};
    } else {
      if (selected == detail::npos)
        throw ConfigurationError("gocp: a member of '" + std::string(model<Inner>::name) +
                                 "' selected by a subquery is not listed in gocp::model<...>::schema");
      return detail::in_subquery<T>(column_, model_info<Inner>(), static_cast<std::uint32_t>(selected),
                                    {scope.nodes().begin(), scope.nodes().end()});
    }
  }

  template <class V>
  Expr<T> compare(detail::Op op, V&& v) const {
    if constexpr (!traits::template accepts<V>) {
      static_assert(detail::always_false<V>,
                    "gocp: cannot compare this field with a value of that type (e.g. a text field with a "
                    "number, or a number field with a string)");
      return {};
    } else if constexpr (traits::type == ColumnType::timestamp) {
      // a pair, not a structured binding: clang 14 cannot capture one in the lambda
      auto compared = traits::for_comparison(std::forward<V>(v), name());
      if (!compared.second) return between_micros(op, std::move(compared.first));
      return Expr<T>(std::in_place, [&] { return detail::Node{op, column_, std::move(compared.first)}; });
    } else {
      return Expr<T>(std::in_place,
                     [&] { return detail::Node{op, column_, traits::from_user(std::forward<V>(v), name())}; });
    }
  }

  /// A comparison with a time between the stored microseconds `floor` and floor + 1,
  /// kept exact: `< t` and `<= t` are `<= floor`, `> t` and `>= t` are `> floor`, `== t`
  /// matches no row and `!= t` (IS DISTINCT FROM) every row.
  Expr<T> between_micros(detail::Op op, Value floor) const {
    using detail::Op;
    switch (op) {
      case Op::eq: return Expr<T>(detail::Node{Op::nothing});
      case Op::ne: return !Expr<T>(detail::Node{Op::nothing});
      case Op::lt:
      case Op::le: return Expr<T>(detail::Node{Op::le, column_, std::move(floor)});
      default: return Expr<T>(detail::Node{Op::gt, column_, std::move(floor)});
    }
  }

  template <class V>
  Assignment<T> increment(V&& delta, bool negate) const {
    using U = std::remove_cvref_t<V>;
    static_assert(traits::type == ColumnType::integer || traits::type == ColumnType::real,
                  "gocp: += and -= apply only to integer and floating-point fields");
    static_assert(std::is_arithmetic_v<U> && !std::is_same_v<U, bool> &&
                      (traits::type == ColumnType::real || std::is_integral_v<U>),
                  "gocp: += and -= take a number (an integer for an integer field)");
    Value v = traits::from_user(std::forward<V>(delta), name());
    if (negate) {
      if (auto* i = std::get_if<std::int64_t>(&v)) {
        if (*i == std::numeric_limits<std::int64_t>::min())
          throw ValidationError("gocp: '" + name()() + "' -= " + std::to_string(*i) + " cannot be negated");
        *i = -*i;
      } else if (auto* d = std::get_if<double>(&v)) {
        *d = -*d;
      }
    }
    return {column_, std::move(v), {}, /*increment=*/true};
  }

  /// Names the field in a ValidationError; called only when one is raised.
  auto name() const {
    return [column = column_] { return detail::qualified_name(model<T>::name, model_info<T>().columns[column].name); };
  }

  std::uint32_t column_;
};

/// The column backed by `member`: `c(&Author::first_name) == "Leo"`.
template <ModelType T, class M>
Col<T, M> c(M T::*member) {
  return Col<T, M>(member);
}

/// Values used only when get_or_create / update_or_create create (and, for
/// update_or_create, the fields it updates).
template <class T, class... Ts>
Defaults<T> defaults(Assignment<T> first, Assignment<Ts>... rest) {
  static_assert((std::is_same_v<T, Ts> && ...), "gocp::defaults: all assignments must be on the same model");
  return {{std::move(first), std::move(rest)...}};
}

/// update_or_create's values for a create only; without it, create uses `defaults`.
template <class T, class... Ts>
CreateDefaults<T> create_defaults(Assignment<T> first, Assignment<Ts>... rest) {
  static_assert((std::is_same_v<T, Ts> && ...), "gocp::create_defaults: all assignments must be on the same model");
  return {{std::move(first), std::move(rest)...}};
}

namespace detail {

/// Calls `fn(column, value)` for each `column == value` term joined by AND at the top
/// of an expression, in order: what get_or_create copies into a new row (terms under OR
/// or NOT only filter, and a subquery term fixes no value: it is never copied). The values are the nodes' own: nothing is copied.
template <class F>
void for_each_equality_term(std::span<const Node> nodes, std::size_t i, F&& fn) {
  if (i >= nodes.size()) return;
  const Node& n = nodes[i];
  if (n.op == Op::and_) {
    for_each_equality_term(nodes, i + 1, fn);
    for_each_equality_term(nodes, subtree_end(nodes, i + 1), fn);
  } else if (n.op == Op::eq) {
    fn(static_cast<std::size_t>(n.column), n.value);
  }
}

}  // namespace detail
}  // namespace gocp
