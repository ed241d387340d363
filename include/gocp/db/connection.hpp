#pragma once
/// \file
/// What a SQL backend provides: a Connection that runs parameterised statements, and
/// the Dialect that tells the SQL writer how that backend spells things.

#include <cstddef>
#include <span>
#include <string_view>

#include "../detail/function_ref.hpp"
#include "../value.hpp"

namespace gocp {

struct Dialect {
  std::string_view name;                 ///< "sqlite", "postgresql"
  bool numbered_placeholders;            ///< `$1` rather than `?`
  bool supports_for_update;              ///< SELECT ... FOR UPDATE locks rows
  std::string_view begin_transaction;    ///< the outermost BEGIN
  std::string_view auto_primary_key;     ///< column type + constraint of an auto-increment key
  std::string_view integer_type;
  std::string_view real_type;
  std::string_view text_type;
  std::string_view distinct_from;        ///< NULL-safe "!=": IS NOT / IS DISTINCT FROM
};

/// One connection, used by one thread at a time (the pool and transactions see to it).
class Connection {
 public:
  virtual ~Connection() = default;

  /// Runs a statement without parameters or results (DDL, BEGIN, SAVEPOINT ...).
  virtual void execute(std::string_view sql) = 0;

  /// Runs a parameterised statement, calling `on_row` for each row until it returns
  /// false. Returns the rows a DML statement changed (0 for a SELECT).
  virtual std::size_t query(std::string_view sql, std::span<const Value> params,
                            detail::FunctionRef<bool(const Row&)> on_row) = 0;

  /// False once the connection is known to be unusable; the pool then drops it.
  virtual bool usable() const noexcept { return true; }

  /// Asked before the pool hands out a connection that sat idle in it; false if it is
  /// known to have died meanwhile (the pool then opens a fresh one in its place). Must
  /// be cheap: no round trip to the server.
  virtual bool revalidate() noexcept { return usable(); }
};

}  // namespace gocp
