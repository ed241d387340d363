#pragma once
// Bytes of the query cache: a query's exact key (every term, value, ordering, slice,
// verb and selected column: two queries share a key only if they are the same query),
// and a result's encoding on the byte tier (Redis, memcached). A result that does not
// decode, exactly and to its end, is a miss.

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../../detail/small_vector.hpp"
#include "../../errors.hpp"
#include "../../model.hpp"
#include "../../query.hpp"
#include "../../value.hpp"

namespace gocp::detail::query_bytes {

/// A std::string written through a buffer on the stack, spelling the appends the put_*
/// functions make as the string does (+= a char or a view, append): a query's key is mostly
/// one-byte pieces (an operator, a column, a count), and the string's push_back is a call
/// with a capacity check for each. flush() hands the buffer to the string: when it is full,
/// and once at the end, before the string is read.
class Appender {
 public:
  explicit Appender(std::string& out) noexcept : out_(out) {}
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;

  Appender& operator+=(char c) {
    if (n_ == kSize) flush();
    buf_[n_++] = c;
    return *this;
  }
  Appender& append(const char* p, std::size_t n) {
    if (n_ + n > kSize) {
      flush();
      if (n > kSize) {
        out_.append(p, n);
        return *this;
      }
    }
    std::memcpy(buf_ + n_, p, n);
    n_ += n;
    return *this;
  }
  Appender& operator+=(std::string_view s) { return append(s.data(), s.size()); }

  /// Everything appended so far, into the string.
  void flush() {
    out_.append(buf_, n_);
    n_ = 0;
  }

 private:
  static constexpr std::size_t kSize = 128;
  std::string& out_;
  std::size_t n_ = 0;
  char buf_[kSize];
};

// Each put_* writes to a std::string or an Appender (`Out`).

template <class Out>
inline void put_u64(Out& out, std::uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 8);
}

/// A number of a key, in as few bytes as it needs (7 bits a byte, the high bit: more
/// follow): self-delimiting, so a key still reads one way only, and a short key is
/// quicker to write, hash and compare.
template <class Out>
inline void put_varint(Out& out, std::uint64_t v) {
  if (v < 0x80) {  // a count, a column, a flag: one byte
    out += static_cast<char>(v);
    return;
  }
  char b[10];
  std::size_t n = 0;
  do {
    b[n++] = static_cast<char>((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  out.append(b, n);
}

inline bool get_u64(std::string_view& in, std::uint64_t& v) {
  if (in.size() < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  in.remove_prefix(8);
  return true;
}

template <class Out>
inline void put_text(Out& out, std::string_view s) {
  put_u64(out, s.size());
  out += s;
}

inline bool get_text(std::string_view& in, std::string& s) {
  std::uint64_t n = 0;
  if (!get_u64(in, n) || in.size() < n) return false;
  s.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

/// A Value as its variant index and payload.
template <class Out>
inline void put_value(Out& out, const Value& v) {
  out += static_cast<char>(v.index());
  std::visit(
      [&](const auto& x) {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, std::int64_t>) put_u64(out, static_cast<std::uint64_t>(x));
        else if constexpr (std::is_same_v<X, double>) {
          std::uint64_t bits = 0;
          std::memcpy(&bits, &x, 8);
          put_u64(out, bits);
        } else if constexpr (std::is_same_v<X, std::string>) put_text(out, x);
        else if constexpr (std::is_same_v<X, BlobValue>) put_text(out, x.bytes);
        else if constexpr (std::is_same_v<X, TimestampValue>) put_u64(out, static_cast<std::uint64_t>(x.micros));
        else if constexpr (std::is_same_v<X, DateValue>) put_u64(out, static_cast<std::uint64_t>(x.days));
      },
      v);
}

inline bool get_value(std::string_view& in, Value& v) {
  if (in.empty()) return false;
  const auto index = static_cast<unsigned char>(in[0]);
  in.remove_prefix(1);
  std::uint64_t n = 0;
  switch (index) {
    case 0: v = std::monostate{}; return true;
    case 1: if (!get_u64(in, n)) return false; v = static_cast<std::int64_t>(n); return true;
    case 2: {
      if (!get_u64(in, n)) return false;
      double d = 0;
      std::memcpy(&d, &n, 8);
      v = d;
      return true;
    }
    case 3: { std::string s; if (!get_text(in, s)) return false; v = std::move(s); return true; }
    case 4: { BlobValue b; if (!get_text(in, b.bytes)) return false; v = std::move(b); return true; }
    case 5: if (!get_u64(in, n)) return false; v = TimestampValue{static_cast<std::int64_t>(n)}; return true;
    case 6: if (!get_u64(in, n)) return false; v = DateValue{static_cast<std::int64_t>(n)}; return true;
    default: return false;
  }
}

/// Appends the condition `nodes` exactly (prefix order, operators, columns, values,
/// lists; a subquery as its table, schema, column and own nodes).
template <class Out>
inline void put_nodes(Out& out, std::span<const Node> nodes) {
  put_varint(out, nodes.size());
  for (const Node& n : nodes) {
    out += static_cast<char>(n.op);
    put_varint(out, n.column);
    put_value(out, n.value);
    put_varint(out, n.list.size());
    for (const Value& v : n.list) put_value(out, v);
    if (n.subquery) {
      put_text(out, n.subquery->model->name);
      put_u64(out, n.subquery->model->schema_hash);
      put_varint(out, n.subquery->column);
      put_nodes(out, n.subquery->nodes);
    }
  }
}

/// A model object's encoded columns (put_value's: each Value's index, then its payload)
/// as a Row, so it decodes through read_into() as a database row does: text straight
/// into the member, every conversion and check of a read, no Value in between. A column
/// read as another type than it was written throws (the entry is then a miss).
class BytesRow final : public Row {
 public:
  /// Takes `columns` encoded values from the front of `in`; false if they are not there.
  bool parse(std::string_view& in, std::size_t columns) {
    columns_.clear();
    for (std::size_t c = 0; c < columns; ++c) {
      if (in.empty()) return false;
      const auto index = static_cast<unsigned char>(in[0]);
      in.remove_prefix(1);
      std::size_t size = 8;
      if (index == 0) {
        size = 0;
      } else if (index == 3 || index == 4) {  // text, blob: a length first
        std::uint64_t n = 0;
        if (!get_u64(in, n) || in.size() < n) return false;
        size = static_cast<std::size_t>(n);
      } else if (index > 6) {
        return false;
      }
      if (in.size() < size) return false;
      columns_.emplace_back(Column{index, in.substr(0, size)});
      in.remove_prefix(size);
    }
    return true;
  }

  bool is_null(int c) const override { return columns_.begin()[c].index == 0; }
  std::int64_t integer(int c) const override { return static_cast<std::int64_t>(number(c, 1)); }
  double real(int c) const override {
    const std::uint64_t bits = number(c, 2);
    double d = 0;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  std::string_view text(int c) const override { return payload(c, 3); }
  std::string_view blob(int c) const override { return payload(c, 4); }
  std::int64_t timestamp(int c) const override { return static_cast<std::int64_t>(number(c, 5)); }
  std::int64_t date(int c) const override { return static_cast<std::int64_t>(number(c, 6)); }

 private:
  struct Column {
    unsigned char index;  ///< the Value alternative written
    std::string_view payload;
  };
  std::string_view payload(int c, unsigned char index) const {
    const Column& col = columns_.begin()[c];
    if (col.index != index)
      throw DatabaseError("gocp: a cached query result holds another type in column " + std::to_string(c));
    return col.payload;
  }
  std::uint64_t number(int c, unsigned char index) const {
    std::string_view bytes = payload(c, index);
    std::uint64_t v = 0;
    get_u64(bytes, v);
    return v;
  }
  SmallVector<Column, 16> columns_;
};

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
inline constexpr bool optional_model = false;
template <class M>
inline constexpr bool optional_model<std::optional<M>> = ModelType<M>;
template <class T>
struct is_tuple : std::false_type {};
template <class... T>
struct is_tuple<std::tuple<T...>> : std::true_type {};

/// A result of type R as bytes, and back: a model object column by column; optional,
/// vector, tuple, by their parts; a count, a bool; any field type by its Value.
template <class R>
struct Codec {
  template <class Out>
  static void put(Out& out, const R& r) {
    if constexpr (ModelType<R>) {
      for (std::size_t c = 0; c < model_info<R>().columns.size(); ++c) put_value(out, get_column(r, c));
    } else if constexpr (optional_model<R>) {
      out += r ? '\1' : '\0';
      if (r) Codec<typename R::value_type>::put(out, *r);
    } else if constexpr (is_vector<R>::value) {
      put_u64(out, r.size());
      for (const auto& x : r) Codec<typename R::value_type>::put(out, x);
    } else if constexpr (is_tuple<R>::value) {
      std::apply([&](const auto&... x) { (Codec<std::decay_t<decltype(x)>>::put(out, x), ...); }, r);
    } else if constexpr (std::is_same_v<R, bool> || std::is_same_v<R, std::size_t>) {
      put_u64(out, static_cast<std::uint64_t>(r));
    } else {
      put_value(out, column_traits<R>::to_value(r));
    }
  }

  /// False (r unspecified) for bytes that are not such a result.
  static bool get(std::string_view& in, R& r) {
    if constexpr (ModelType<R>) {
      thread_local BytesRow row;
      if (!row.parse(in, field_count<R>)) return false;
      read_into(r, row);
      return true;
    } else if constexpr (optional_model<R>) {
      if (in.empty()) return false;
      const bool has = in[0] == '\1';
      in.remove_prefix(1);
      if (!has) {
        r.reset();
        return true;
      }
      r.emplace();
      return Codec<typename R::value_type>::get(in, *r);
    } else if constexpr (is_vector<R>::value) {
      std::uint64_t n = 0;
      if (!get_u64(in, n) || n > in.size()) return false;  // every element takes a byte at least
      r.clear();
      r.reserve(n);
      for (std::uint64_t k = 0; k < n; ++k) {
        r.emplace_back();
        if (!Codec<typename R::value_type>::get(in, r.back())) return false;
      }
      return true;
    } else if constexpr (is_tuple<R>::value) {
      return std::apply([&](auto&... x) { return (Codec<std::decay_t<decltype(x)>>::get(in, x) && ...); }, r);
    } else if constexpr (std::is_same_v<R, bool> || std::is_same_v<R, std::size_t>) {
      std::uint64_t n = 0;
      if (!get_u64(in, n)) return false;
      r = static_cast<R>(n);
      return true;
    } else {
      Value v;
      if (!get_value(in, v)) return false;
      r = column_traits<R>::from_value(v, UnnamedField{});
      return true;
    }
  }
};

}  // namespace gocp::detail::query_bytes
