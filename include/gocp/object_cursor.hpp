#pragma once
/// \file
/// `gocp::ObjectCursor<M>`: what `Repository::iterate()` returns — the rows of a
/// queryset read one at a time as objects, without holding the whole result:
///
///     for (const Link& link : links.filter(c(&Link::user_id) == 7).iterate()) {
///       if (done(link)) break;   // the query is closed and the connection given back here
///     }
///
/// It runs the same SELECT as all() (the filters, bound values and order) as one
/// statement, counted once in stats().db_queries, and always reads the database (no
/// cache answers it). While it is open it holds one database connection: its own,
/// borrowed from the pool (a statement run inside the loop outside a transaction takes
/// another one), or, inside a transaction, the transaction's (on PostgreSQL no other
/// statement may then run until the cursor is finished or closed: it is refused with a
/// gocp::Error). Finishing the loop, breaking out of it, or destroying the cursor
/// closes it and gives the connection back usable; a cursor still open when its
/// transaction ends is closed then, and reading on throws. See db/cursor.hpp.

#include <cstddef>
#include <iterator>
#include <string>
#include <utility>

#include "db/cursor.hpp"
#include "errors.hpp"
#include "model.hpp"

namespace gocp {

/// A single-pass range of M read from an open cursor; see the file comment. Move-only;
/// begin() may be called once.
template <class M>
class ObjectCursor {
 public:
  /// An input iterator over the objects; `*it` is valid until the next `++it`.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;  ///< single pass
    using value_type = M;                               ///< the model
    using difference_type = std::ptrdiff_t;             ///< as std::input_iterator asks
    using pointer = const M*;                           ///< operator->'s
    using reference = const M&;                         ///< operator*'s

    iterator() = default;
    /// The current object.
    const M& operator*() const { return cursor_->current_; }
    /// The current object's members.
    const M* operator->() const { return &cursor_->current_; }
    /// Reads the next row (a database error mid-stream is thrown from here).
    iterator& operator++() {
      if (!cursor_->advance()) cursor_ = nullptr;
      return *this;
    }
    /// As ++it (an input iterator's copies all see the one cursor).
    void operator++(int) { ++*this; }
    /// True past the last row.
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.cursor_ == nullptr; }

   private:
    friend class ObjectCursor;
    explicit iterator(ObjectCursor* cursor) : cursor_(cursor) {}
    ObjectCursor* cursor_ = nullptr;
  };

  /// Made by Executor::iterate() over a cursor whose columns are M's fields in schema order.
  explicit ObjectCursor(DatabaseCursor rows) : rows_(std::move(rows)) {}
  /// Moves the open cursor (an iterator from begin() keeps pointing at the old object).
  ObjectCursor(ObjectCursor&&) noexcept = default;
  /// Closes this cursor, then takes the other's.
  ObjectCursor& operator=(ObjectCursor&&) noexcept = default;

  /// Reads the first row. A second call is an error: the rows are read once.
  iterator begin() {
    if (begun_)
      throw Error("gocp: iterate() on '" + std::string(model<M>::name) +
                  "' was read twice; its rows are read once, as they come: call iterate() again for a new query");
    begun_ = true;
    return iterator(advance() ? this : nullptr);
  }
  /// Past the last row.
  std::default_sentinel_t end() const noexcept { return {}; }

  /// True until the last row was read or close() was called (its connection is held).
  bool is_open() const noexcept { return rows_.is_open(); }

  /// Ends the query now and gives its connection back; never throws. A loop that
  /// breaks out need not call it: the destructor does the same.
  void close() noexcept { rows_.close(); }

 private:
  bool advance() {
    if (!rows_.next()) return false;
    current_ = detail::read_object<M>(rows_.row());
    return true;
  }

  DatabaseCursor rows_;
  M current_{};
  bool begun_ = false;
};

}  // namespace gocp
