#pragma once
/// \file
/// The change stream: one per Database. Every write a repository makes (create, save,
/// update, remove, remove_all, the create of get_or_create, the update of
/// update_or_create) becomes a `RowChange` on it. Changes made inside a transaction are
/// buffered and delivered when the outermost level commits (dropped with a savepoint or
/// transaction that rolls back); outside one they are delivered as soon as the statement
/// has run. Caches of the table subscribe, so no write path can skip invalidation, and
/// a policy that must see every write (an audit log) subscribes the same way:
///
///     auto sub = db.changes().subscribe("library_author", [](const gocp::RowChange& c) {
///       std::printf("%s %s\n", c.before ? (c.after ? "update" : "delete") : "insert", c.table.c_str());
///     });
///
/// A subscription lasts as long as the returned handle (or, for the keyed form, as long
/// as the owner it names is alive).

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/call_each.hpp"
#include "../detail/config.hpp"
#include "../value.hpp"

namespace gocp {

/// One row written: `before` is the row's values before the write when known (a delete,
/// an update), `after` its values after (an insert, an update); both are in the
/// model's column order. A bulk update or delete knows the primary key of each row but
/// not always its old values: then `before` is empty and `had_row` is true. `had_row`
/// and `has_row` always say what the write did; the values are filled only while the
/// stream has a subscriber (one that subscribes inside an open transaction may receive
/// that transaction's earlier changes without them).
struct RowChange {
  std::string table;  ///< the table written, unquoted ("library_author", or a through table)
  Value pk;           ///< the row's primary key

  ///@{
  /// The row's values before and after the write, as described above; nullopt when the
  /// row did not exist (before) or no longer does (after), or the values are not known.
  std::optional<std::vector<Value>> before, after;
  ///@}

  /// The row existed before the write (an update or a delete), whether or not `before`
  /// carries its values.
  bool had_row = false;
  /// The row exists after the write (an insert or an update), whether or not `after`
  /// carries its values.
  bool has_row = false;

  /// Any row of the table may have changed, which ones is not known (`pk` is empty,
  /// `had_row` and `has_row` true): ALTER or DROP TABLE, a REPLACE's implicit deletes, a raw write to a
  /// table whose primary key is not its rowid (SQLite's hooks, backends/sqlite.hpp); a
  /// TRUNCATE, a statement of 1000 rows or more, or a listener that reconnected
  /// (PostgreSQL's `?watch=notify`, backends/postgres.hpp). A cache drops every entry of
  /// the table.
  bool whole_table = false;

  /// A change of `table` whose rows are not known (whole_table, as described above).
  static RowChange whole(std::string table) {
    RowChange c;
    c.table = std::move(table);
    c.had_row = c.has_row = c.whole_table = true;
    return c;
  }

  /// A new row (no row had this key before).
  bool is_insert() const noexcept { return !had_row && has_row; }
  /// The row is gone (a delete, a cascade, an unlink).
  bool is_delete() const noexcept { return had_row && !has_row; }
};

/// The stream of a Database's committed writes; see the file comment. Thread-safe: any
/// thread may subscribe, and handlers run on the thread whose write or commit made the
/// change, so they must be thread-safe and should be quick.
class ChangeStream {
 public:
  /// Receives one change.
  using Handler = std::function<void(const RowChange&)>;
  /// Receives the changes of one table that one write or one commit made, in order: a
  /// bulk update of N rows is one call, so a cache can invalidate them in one round trip.
  using BatchHandler = std::function<void(std::span<const RowChange>)>;

  /// Calls `handler` for every change of `table` until the returned handle is dropped.
  [[nodiscard]] std::shared_ptr<void> subscribe(std::string table, Handler handler) {
    auto owner = std::make_shared<int>(0);
    subscribe_keyed(std::move(table), owner.get(), owner, std::move(handler));
    return owner;
  }

  /// Calls `handler` for every change of `table` while `owner` lives. A second
  /// subscription with the same `key` and table replaces nothing and adds nothing: many
  /// repositories over one cache invalidate it once per change.
  void subscribe_keyed(std::string table, const void* key, std::weak_ptr<const void> owner, Handler handler);

  /// subscribe_keyed() for a handler that takes the changes of a write or a commit at once.
  void subscribe_keyed_batch(std::string table, const void* key, std::weak_ptr<const void> owner, BatchHandler handler);

  /// Asks every writer of `table` on this stream to report a row's values before an
  /// update (RowChange::before) from now on, reading the row first, in the update's
  /// transaction, where the update alone cannot tell them (a save, a bulk update that
  /// assigns values): the query cache needs them to bump the groups a row leaves.
  void want_old_values(std::string_view table);

  /// Whether a writer of `table` must report its rows' old values (want_old_values).
  bool wants_old_values(std::string_view table) const {
    if (!any_old_values_.load()) return false;
    std::lock_guard lock(mutex_);
    return std::find(old_values_tables_.begin(), old_values_tables_.end(), table) != old_values_tables_.end();
  }

  /// Whether anything may be subscribed (some subscriptions may have ended since): a
  /// writer fills a change's values only then, and a stream nobody hears is not
  /// published to. Sequentially consistent, as the store: a cache that subscribes and
  /// then reads the database, and a writer that commits and then asks, cannot both
  /// miss the other.
  bool has_subscribers() const noexcept { return subscribed_.load() != 0; }

  /// The tables that have a live subscriber, each once: what a source of changes that
  /// may have missed some (PostgreSQL's listener after a lost connection) invalidates
  /// whole, by publishing a RowChange::whole_table change for each.
  std::vector<std::string> subscribed_tables() const;

  /// Delivers `change` to every live subscriber of its table. A subscriber that throws
  /// does not keep the others from seeing the change; the first exception is rethrown.
  void publish(const RowChange& change) const { publish_many({&change, 1}); }

  /// publish() of each change, in order, each run of one table's changes handed to its
  /// subscribers in one call.
  void publish_many(std::span<const RowChange> changes) const;

 private:
  struct Subscriber {
    std::string table;
    const void* key;
    std::weak_ptr<const void> owner;
    std::shared_ptr<BatchHandler> handler;
  };

  void prune();

  mutable std::mutex mutex_;
  std::vector<Subscriber> subscribers_;
  std::atomic<std::size_t> subscribed_{0};  ///< subscribers_.size(), read without the lock
  std::vector<std::string> old_values_tables_;  ///< want_old_values
  std::atomic<bool> any_old_values_{false};     ///< old_values_tables_ is not empty
};

}  // namespace gocp

#if !defined(GOCP_COMPILED)
#include "change_stream-inl.hpp"
#endif
