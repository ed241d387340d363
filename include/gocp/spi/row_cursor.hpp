#pragma once
/// \file
/// `gocp::RowCursor`: the extension point a backend implements so that a result can be
/// read one row at a time, without holding it all (Connection::open_cursor). Users meet
/// it through `Repository::iterate()` (object_cursor.hpp) or `gocp::DatabaseCursor`
/// (db/cursor.hpp), which also hold the connection it reads from.

#include "../value.hpp"

namespace gocp {

/// An open statement on one connection, read forward one row at a time. Made by
/// Connection::open_cursor; lives no longer than that connection, and is used by the
/// thread that uses the connection.
///
/// While it is open the connection may be busy with it: a backend that cannot run
/// another statement meanwhile (PostgreSQL) refuses one with a gocp::Error naming the
/// cursor, and never lets it corrupt the stream. Closing it, by close() or by reading
/// past the last row or by destroying it, leaves the connection usable again.
class RowCursor {
 public:
  /// Closes it (see close()); never throws.
  virtual ~RowCursor() = default;

  /// Moves to the next row: true when there is one, readable through row() until the
  /// next call; false past the last row, and from then on (the statement is then
  /// closed). An error the database reports mid-stream is thrown as the backend's
  /// usual DatabaseError subclass, and the cursor is closed.
  virtual bool next() = 0;

  /// The current row: valid after next() returned true, until next() or close().
  virtual const Row& row() const = 0;

  /// Ends the statement early, dropping the rows not read, so that the connection can
  /// run other statements again. Idempotent; never throws (a connection that cannot be
  /// brought back is marked unusable, and its pool then drops it).
  virtual void close() noexcept = 0;
};

}  // namespace gocp
