#pragma once
/// \file
/// `gocp::Executor<M>`: turns a QuerySet and a verb into SQL on a Database, and every
/// write into RowChanges on the Database's change stream. It knows no policy and no
/// cache: the repository host (repository.hpp) drives it, and policies reach it through
/// `gocp::PolicyAccess`. Values never enter the SQL text; each is a bound parameter, and
/// each written value is validated against the schema first.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bulk_create.hpp"
#include "db/database.hpp"
#include "orm/detail/bulk_insert.hpp"
#include "orm/detail/cascade.hpp"
#include "detail/function_ref.hpp"
#include "detail/reported_writes.hpp"
#include "detail/small_vector.hpp"
#include "detail/chrono.hpp"
#include "orm/detail/select.hpp"
#include "orm/detail/sql.hpp"
#include "orm/detail/statement_shape.hpp"
#include "orm/detail/validation.hpp"
#include "errors.hpp"
#include "model.hpp"
#include "object_cursor.hpp"
#include "queryset.hpp"
#include "schema.hpp"
#include "stats.hpp"

namespace gocp {

namespace detail {
/// Django's MAX_GET_RESULTS: get() reads at most this many rows to report a count.
inline constexpr std::size_t max_get_results = 21;

/// get() saw `rows` rows (at most max_get_results) of `model_name`: Django's message.
[[noreturn]] inline void throw_multiple_objects(std::string_view model_name, std::size_t rows) {
  const std::string count =
      rows < max_get_results ? std::to_string(rows) : "more than " + std::to_string(max_get_results - 1);
  throw MultipleObjectsReturned(
      "get() returned more than one " + std::string(model_name) + " -- it returned " + count + "!", rows);
}
}  // namespace detail

/// The SQL of one model's verbs; see the file comment. A Repository owns one and a
/// policy reaches it through PolicyAccess::executor; every verb is const and may run on
/// any thread (each borrows that thread's connection from the Database).
template <class M>
class Executor {
 public:
  using pk_type = detail::pk_type<M>;  ///< the primary key member's type

  /// Made by the Repository, which shares `stats` with it; not for users.
  Executor(Database db, std::shared_ptr<detail::StatCounters> stats) : db_(std::move(db)), stats_(std::move(stats)) {}

  /// The database its statements run on.
  const Database& database() const noexcept { return db_; }
  /// The counters its statements are counted in (db_queries), shared with the host.
  const std::shared_ptr<detail::StatCounters>& counters() const noexcept { return stats_; }
  /// M's runtime description (the same object for every Executor of M).
  static const ModelInfo& info() noexcept { return model_info<M>(); }

  // ---- reads -----------------------------------------------------------------------

  /// The one row of `qs` matching `lookup`, or nullopt; several are MultipleObjectsReturned.
  std::optional<M> get_one(const QuerySet<M>& qs, const Expr<M>& lookup, bool for_update = false) const {
    std::optional<M> found{std::in_place};
    if (!find_into(*found, qs, lookup, for_update)) found.reset();
    return found;
  }

  /// get_one() read into `out` (left as it was when no row matches): false if none does.
  /// The row is locked when `for_update` (update_or_create, in its own transaction) or
  /// as the queryset's select_for_update says (checked: inside a transaction only).
  bool find_into(M& out, const QuerySet<M>& qs, const Expr<M>& lookup, bool for_update = false) const {
    const detail::LockMode mode = for_update ? detail::LockMode::plain : qs.lock();
    if (mode != detail::LockMode::none && !for_update) [[unlikely]]
      detail::require_lock_allowed(db_, info().name, mode, false);
    const std::string_view lock = detail::lock_clause(db_.dialect(), mode);
    detail::StatementShape shape(info(), 'G');
    shape.code(static_cast<char>('0' + (lock.empty() ? 0 : static_cast<int>(mode))));
    shape.where({&qs.scope(), &lookup});
    auto write = [&](detail::SqlWriter& w) {
      w.select_all_columns().where({&qs.scope(), &lookup});
      w.text(" LIMIT ").text(std::to_string(detail::max_get_results));
      w.text(lock);
    };
    std::size_t rows = 0;
    run(shape, write, [&](const Row& row) {
      if (rows++ == 0) detail::read_into(out, row);
      return true;
    });
    if (rows > 1) detail::throw_multiple_objects(info().name, rows);
    return rows == 1;
  }

  /// The row whose primary key is `pk`, ignoring any queryset.
  std::optional<M> get_by_pk(const Value& pk) const {
    return get_one(QuerySet<M>{}, Expr<M>(detail::Node{detail::Op::eq, pk_column(), pk}));
  }

  /// Every row of `qs`, in its order (by primary key when it has none), within its slice.
  std::vector<M> all(const QuerySet<M>& qs) const {
    std::vector<M> out;
    // a bounded slice says how many rows can come: room for them at once (up to a page's
    // worth), and each row read where it stays, so no object is moved
    if (const auto& slice = qs.slice(); slice.high)
      out.reserve(static_cast<std::size_t>(std::min<std::int64_t>(*slice.high - slice.low, kReservedRows)));
    select(qs, {.distinct = qs.is_distinct()}, [&](const Row& row) {
      detail::read_into(out.emplace_back(), row);
      return true;
    });
    return out;
  }

  /// The rows all() reads (the same SELECT: filters, order, slice, distinct, lock), one at
  /// a time through a cursor holding one connection while it is open (object_cursor.hpp);
  /// one statement, counted once.
  ObjectCursor<M> iterate(const QuerySet<M>& qs) const {
    detail::require_lock_allowed(db_, info().name, qs.lock(), qs.is_distinct());
    check_schema_once();
    const detail::SelectStatement<M> statement(qs, {.distinct = qs.is_distinct()}, db_.dialect());
    auto w = writer();
    statement.write(w);
    stats_->bump(detail::StatCounters::db_queries);
    return ObjectCursor<M>(DatabaseCursor::open_bound(db_, w.sql(), {w.params().begin(), w.params().size()}));
  }

  /// The first row of `qs` in its order (by primary key when it has none) within its
  /// slice, or nullopt: one statement reading at most one row.
  std::optional<M> first(const QuerySet<M>& qs) const {
    detail::Slice one = qs.slice();
    const std::int64_t end = one.low == std::numeric_limits<std::int64_t>::max() ? one.low : one.low + 1;
    one.high = one.high ? std::min(*one.high, end) : end;
    std::optional<M> out;
    select(qs, {.distinct = qs.is_distinct(), .slice = &one}, [&](const Row& row) {
      detail::read_into(out.emplace(), row);
      return false;
    });
    return out;
  }

  /// The listed columns of each row of `qs` (its filters, order, slice and distinct()),
  /// as tuples of the members' types; `columns[i]` is the column of As...[i].
  template <class... As>
  std::vector<std::tuple<As...>> values(const QuerySet<M>& qs, std::span<const std::uint32_t> columns) const {
    std::vector<std::tuple<As...>> out;
    select(qs, {.columns = columns, .distinct = qs.is_distinct()}, [&](const Row& row) {
      auto& t = out.emplace_back();
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (read_column<As>(std::get<I>(t), row, I, columns[I]), ...);
      }(std::index_sequence_for<As...>{});
      return true;
    });
    return out;
  }

  /// One column of each row of `qs`, flat (values_list of one member).
  template <class A>
  std::vector<A> values_list(const QuerySet<M>& qs, std::uint32_t column) const {
    std::vector<A> out;
    select(qs, {.columns = {&column, 1}, .distinct = qs.is_distinct()}, [&](const Row& row) {
      read_column<A>(out.emplace_back(), row, 0, column);
      return true;
    });
    return out;
  }

  /// Runs the SELECT of `qs` that `options` describe (orm/detail/select.hpp: columns,
  /// WHERE, ORDER BY with the tie-break, LIMIT/OFFSET, the row lock), handing each row
  /// to `on_row` until it returns false. Named by its shape: each connection keeps it
  /// prepared and its text is written only the first time. An empty slice runs nothing.
  template <class OnRow>
  void select(const QuerySet<M>& qs, const detail::SelectOptions& options, OnRow&& on_row) const {
    if (options.locked) detail::require_lock_allowed(db_, info().name, qs.lock(), options.distinct);
    if ((options.slice ? *options.slice : qs.slice()).empty()) return;
    const detail::SelectStatement<M> statement(qs, options, db_.dialect());
    detail::StatementShape shape(info(), 'Q');
    statement.shape(shape);
    auto write = [&](detail::SqlWriter& w) { statement.write(w); };
    run(shape, write, on_row);
  }

  /// How many rows `qs` matches (SELECT COUNT(*)); within its slice when it has one.
  std::size_t count(const QuerySet<M>& qs) const {
    if (qs.sliced()) return count_sliced(qs);
    auto w = writer();
    w.text("SELECT COUNT(*) FROM ").table().where({&qs.scope()});
    std::size_t n = 0;
    run(w, [&](const Row& row) {
      n = static_cast<std::size_t>(row.integer(0));
      return false;
    });
    return n;
  }

  /// Whether `qs` matches any row (SELECT 1 ... LIMIT 1); within its slice when it has one.
  bool exists(const QuerySet<M>& qs) const {
    if (qs.sliced()) return exists_sliced(qs);
    auto w = writer();
    w.text("SELECT 1 FROM ").table().where({&qs.scope()}).text(" LIMIT 1");
    bool found = false;
    run(w, [&](const Row&) { return !(found = true); });
    return found;
  }

  /// The rows of `qs` whose primary key is in `pks`, keyed by primary key (locked as
  /// the queryset's select_for_update says): one statement, `pk IN (...)`, unless the
  /// pks and the queryset's own values bind more parameters than the connection takes
  /// (SQLite's SQLITE_LIMIT_VARIABLE_NUMBER, PostgreSQL's 65535); then one per slice of
  /// pks that fits.
  template <class R>
  std::unordered_map<pk_type, M> in_bulk(const QuerySet<M>& qs, const R& pks) const {
    detail::require_lock_allowed(db_, info().name, qs.lock(), false);
    std::unordered_map<pk_type, M> out;
    std::vector<pk_type> all;
    for (const auto& pk : pks) all.push_back(pk);
    if (all.empty()) return out;
    const std::size_t limit = db_.with_connection([](Connection& c) { return c.max_parameters(); });
    std::size_t own = 0;  // the queryset's own parameters; the rest are the pks'
    {
      auto scope = writer();
      scope.where({&qs.scope()});
      own = scope.params().size();
    }
    const std::size_t per_statement = limit > own ? limit - own : 1;
    for (std::size_t at = 0; at < all.size(); at += per_statement) {
      const auto first = all.begin() + static_cast<std::ptrdiff_t>(at);
      const Expr<M> in = Col<M, pk_type>(pk_member()).in(
          std::vector<pk_type>(first, first + static_cast<std::ptrdiff_t>(std::min(per_statement, all.size() - at))));
      auto w = writer();
      w.select_all_columns().where({&qs.scope(), &in}).text(detail::lock_clause(db_.dialect(), qs.lock()));
      run(w, [&](const Row& row) {
        M obj = detail::read_object<M>(row);
        out.emplace(detail::pk_of(obj), std::move(obj));
        return true;
      });
    }
    return out;
  }

  /// Runs a read of this model's table that `write(SqlWriter&)` writes, handing each row
  /// to `on_row` (which returns false to stop): for reads whose SQL lives in a header of
  /// its own (aggregates and grouped queries: orm/detail/aggregate_sql.hpp). One statement.
  template <class Write, class OnRow>
  void select(Write&& write, OnRow&& on_row) const {
    auto w = writer();
    write(w);
    run(w, on_row);
  }

  /// select(write, on_row) of a statement named by `shape` (its key holds everything
  /// the text depends on, its binds the values `write` binds, in order): each connection
  /// keeps it prepared, and `write` runs only when one prepares it for the first time.
  template <class Write, class OnRow>
  void select(const detail::StatementShape& shape, Write&& write, OnRow&& on_row) const {
    run(shape, write, on_row);
  }

  // ---- writes: each one a RowChange per row --------------------------------------

  /// INSERT of every column (an auto primary key only when it is set), RETURNING the
  /// object exactly as the database stored it.
  M insert(const M& obj) const {
    M stored{};  // returned by name: no move of the object
    insert_into(stored, obj);
    return stored;
  }

  /// insert(), the stored object read into `stored` (left as it was if the INSERT fails).
  void insert_into(M& stored, const M& obj) const {
    detail::SmallVector<Value, 8> values;  // on the stack, not the heap
    detail::append_values(obj, values);
    detail::BoundValues row;
    for (const Value& v : values) row.emplace_back(&v);
    insert_row_into(stored, row);
  }

  /// insert_into() of the row whose column c has the value *row[c] (auto_now columns
  /// are pointed at the current time); every value is validated and bound where it is.
  void insert_row_into(M& stored, detail::BoundValues& row) const {
    Value at;  // one reading: created_at == updated_at on a create
    if (const auto& stamped = auto_now_columns(/*creating=*/true); !stamped.empty()) {
      at = now();
      for (std::size_t i : stamped) row[i] = &at;
    }
    const ModelInfo& mi = info();
    constexpr std::size_t pk = detail::pk_index<M>;
    const auto* key = std::get_if<std::int64_t>(row[pk]);
    const bool auto_pk = mi.columns[pk].auto_increment && key && *key == 0;
    auto written = [&](std::size_t i) { return !(i == pk && auto_pk); };
    detail::StatementShape shape(mi, 'I');  // the text depends only on whether the key is written
    shape.flag(auto_pk);
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (!written(i)) continue;
      detail::validate_value(mi, db_.dialect(), i, *row[i]);
      shape.bind(*row[i]);
    }
    auto write = [&](detail::SqlWriter& w) {
      w.text("INSERT INTO ").table();
      bool any = false;
      for (std::size_t i = 0; i < row.size(); ++i) {
        if (!written(i)) continue;
        (any ? w.text(", ") : w.text(" (")).column(i);
        any = true;
      }
      if (!any) {
        w.text(" DEFAULT VALUES");
      } else {
        w.text(") VALUES (");
        any = false;
        for (std::size_t i = 0; i < row.size(); ++i) {
          if (!written(i)) continue;
          (any ? w.text(", ") : w).param(*row[i]);
          any = true;
        }
        w.text(")");
      }
      returning(w);
    };
    bool returned = false;
    run(shape, write, [&](const Row& r) {
      detail::read_into(stored, r);
      returned = true;
      return true;
    });
    if (!returned) throw DatabaseError("gocp: INSERT into '" + mi.table + "' returned no row");
    emit(detail::pk_value(stored), /*had_row=*/false, nullptr, &stored);
  }

  /// UPDATE of `values` on the row whose primary key is `pk`; the row as stored after
  /// the update goes to `stored`, when given. Returns the rows changed (0 or 1).
  /// The auto_now columns are set to the current time.
  std::size_t update_row(const Value& pk, const detail::ColumnValues& values_, M* stored = nullptr) const {
    if (wants_old_values() && !before_increments_known(values_)) [[unlikely]] {
      return db_.atomic([&] {
        std::optional<M> old;
        {
          M row{};
          if (find_into(row, QuerySet<M>{}, Expr<M>(detail::Node{detail::Op::eq, pk_column(), pk}), true))
            old = std::move(row);
        }
        if (!old) return std::size_t{0};
        return update_row_known(pk, values_, stored, &*old);
      });
    }
    return update_row_known(pk, values_, stored, nullptr);
  }

  /// update_row() with the row's values before it when known (`old`), for its RowChange.
  std::size_t update_row_known(const Value& pk, const detail::ColumnValues& values_, M* stored, const M* old) const {
    detail::ColumnValues stamped;
    if (!auto_now_columns(false).empty()) {
      stamped = values_;
      const Value at = now();
      for (std::size_t i : auto_now_columns(false)) detail::assign(stamped, i, at);
    }
    const detail::ColumnValues& values = auto_now_columns(false).empty() ? values_ : stamped;
    validate(values);
    auto write = [&](detail::SqlWriter& w) {
      w.text("UPDATE ").table().text(" SET ");
      if (!set_list(w, values)) w.column(info().pk).text(" = ").column(info().pk);  // a key-only model
      w.where_pk(pk);
    };
    // emitted once the statement has run: outside a transaction SQLite commits an
    // UPDATE ... RETURNING only when its last step is done, and a cache invalidated
    // before that could be refilled with the row as it was
    std::optional<M> row;
    if (values.increments.empty()) {
      // a save's UPDATE: named by its shape (the columns it sets), its text written once
      // per connection, its values bound where they are
      detail::StatementShape shape(info(), 'U');
      for (const auto& [column, v] : values) {
        shape.column(column);
        shape.bind(v);
      }
      shape.bind(pk);
      auto write_returning = [&](detail::SqlWriter& w) {
        write(w);
        returning(w);
      };
      run(shape, write_returning, [&](const Row& r) {
        detail::read_into(row.emplace(), r);
        return true;
      });
    } else {
      auto w = writer();
      write(w);
      run_returning(w, values, [&](M r) { row.emplace(std::move(r)); });
    }
    if (!row) return 0;
    emit_update(pk, *row, values, nullptr, old);
    if (stored) *stored = std::move(*row);
    return 1;
  }

  /// UPDATE of every column but the key on the row whose key is obj's, to obj's values
  /// (a save); false when no row has that key. Without auto_now columns the database
  /// sets nothing of its own, so obj is the row as stored and no RETURNING is read back
  /// (SQLite builds a temporary table for one); with them, obj becomes the row as stored.
  bool update_object(M& obj) const {
    constexpr std::size_t pk = detail::pk_index<M>;
    // with auto_now columns, or when the row's old values are wanted (update_row reads
    // them first, locked, in the update's transaction)
    if (!auto_now_columns(false).empty() || wants_old_values()) {
      const std::vector<Value> all = detail::object_values(obj);
      detail::ColumnValues set;
      for (std::size_t i = 0; i < all.size(); ++i)
        if (i != pk) set.emplace_back(i, all[i]);
      return update_row(all[pk], set, &obj) == 1;
    }
    detail::SmallVector<Value, 8> values;  // bound by pointer: on the stack, not the heap
    detail::append_values(obj, values);
    detail::StatementShape shape(info(), 'S');  // one text per model: every column is set
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i == pk) continue;
      validate(i, values[i]);
      shape.bind(values[i]);
    }
    shape.bind(values[pk]);
    auto write = [&](detail::SqlWriter& w) {
      w.text("UPDATE ").table().text(" SET ");
      bool any = false;
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (i == pk) continue;
        (any ? w.text(", ") : w).column(i).text(" = ").param(values[i]);
        any = true;
      }
      if (!any) w.column(pk).text(" = ").column(pk);  // a key-only model
      w.where_pk(values[pk]);
    };
    // emitted once the statement has run (and, outside a transaction, committed)
    if (run(shape, write, [](const Row&) { return true; }) == 0) return false;
    emit(values[pk], /*had_row=*/true, nullptr, &obj);
    return true;
  }

  /// UPDATE of `values` on every row of `qs`; returns how many rows changed. An
  /// assignment to the primary key moves the row (Django's update(id=...)): the old key
  /// is read first, in the same transaction, so both keys are reported.
  std::size_t update_where(const QuerySet<M>& qs, const detail::ColumnValues& values) const {
    validate(values);
    if (values.empty()) return 0;
    const bool moves_pk = std::any_of(values.begin(), values.end(), [](const auto& v) { return v.first == info().pk; });
    auto update = [&] {
      auto w = writer();
      w.text("UPDATE ").table().text(" SET ");
      set_list(w, values);
      w.where({&qs.scope()});
      std::vector<M> rows;
      run_returning(w, values, [&](M row) { rows.push_back(std::move(row)); });
      return rows;
    };
    if (!moves_pk && wants_old_values() && !before_increments_known(values)) [[unlikely]] {
      // the rows read first, locked, in the update's transaction: their old values
      return db_.atomic([&] {
        std::vector<M> old;
        select(qs.locking(db_.dialect().supports_for_update ? detail::LockMode::plain : detail::LockMode::none)
                   .ordered_by({}),
               detail::SelectOptions{}, [&](const Row& row) {
                 detail::read_into(old.emplace_back(), row);
                 return true;
               });
        // by key, sorted: each row updated finds its old values in log time (a statement
        // may change thousands of rows, and its write lock is held meanwhile)
        std::vector<std::pair<Value, const M*>> old_by_pk;
        old_by_pk.reserve(old.size());
        for (const M& o : old) old_by_pk.emplace_back(detail::get_column(o, info().pk), &o);
        std::sort(old_by_pk.begin(), old_by_pk.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        const auto rows = update();
        std::vector<RowChange> batch;
        for (const M& row : rows) {
          const Value pk = detail::get_column(row, info().pk);
          const auto it = std::lower_bound(old_by_pk.begin(), old_by_pk.end(), pk,
                                           [](const auto& entry, const Value& key) { return entry.first < key; });
          emit_update(pk, row, values, &batch, it != old_by_pk.end() && it->first == pk ? it->second : nullptr);
        }
        detail::DatabaseAccess::emit_many(db_, &info(), std::move(batch));
        return rows.size();
      });
    }
    if (!moves_pk) {
      const auto rows = update();
      std::vector<RowChange> batch;  // one publish for the statement: caches invalidate in one call
      for (const M& row : rows) emit_update(detail::get_column(row, info().pk), row, values, &batch);
      detail::DatabaseAccess::emit_many(db_, &info(), std::move(batch));
      return rows.size();
    }
    return db_.atomic([&] {
      std::vector<Value> old_pks;
      auto w = writer();
      w.text("SELECT ").column(info().pk).text(" FROM ").table().where({&qs.scope()});
      run(w, [&](const Row& row) {
        old_pks.push_back(detail::read_value(row, 0, info().columns[info().pk].type));
        return true;
      });
      std::sort(old_pks.begin(), old_pks.end());  // searched once per row below: log time each
      const auto rows = update();
      // a key that held a row before is an update; a new key an insert; a key left empty a delete
      std::vector<Value> new_pks;
      std::vector<RowChange> batch;
      for (const M& row : rows) {
        new_pks.push_back(detail::get_column(row, info().pk));
        emit(new_pks.back(), std::binary_search(old_pks.begin(), old_pks.end(), new_pks.back()), nullptr, &row, &batch);
      }
      std::sort(new_pks.begin(), new_pks.end());
      for (const Value& pk : old_pks)
        if (!std::binary_search(new_pks.begin(), new_pks.end(), pk)) emit(pk, /*had_row=*/true, nullptr, nullptr, &batch);
      detail::DatabaseAccess::emit_many(db_, &info(), std::move(batch));
      return rows.size();
    });
  }

  /// DELETE of the row whose primary key is `pk`; false if there was none.
  bool delete_row(const Value& pk) const {
    return delete_matching([&](detail::SqlWriter& w) { w.where_pk(pk); }) > 0;
  }

  /// DELETE of every row of `qs`; returns how many.
  std::size_t delete_where(const QuerySet<M>& qs) const {
    return delete_matching([&](detail::SqlWriter& w) { w.where({&qs.scope()}); });
  }

  // ---- bulk create (bulk_create.hpp; the SQL in orm/detail/bulk_insert.hpp) -----------

  /// Repository::bulk_create: `objs`, with the `bound` columns set and the auto_now ones
  /// stamped (one time for the call), every value validated before anything is written;
  /// then, in one transaction (a savepoint inside the caller's), the rows that set their
  /// key and then those whose auto key is left 0, each group by one multi-row INSERT
  /// per batch. Returns every row as stored, in the order of `objs` (a row an ignored
  /// conflict skipped: as given), and sets `written` to the rows written. Each
  /// statement's rows are one batch of RowChanges.
  std::vector<M> bulk_insert(std::span<const M> objs, const detail::ColumnValues& bound, const BulkCreate<M>& options,
                             std::size_t& written) const {
    written = 0;
    if (objs.empty()) return {};
    const detail::BulkPlan plan = detail::bulk_plan(info(), options);
    detail::BulkRowsLease lease;
    const detail::BulkRows& rows = bulk_rows(objs, bound, lease.rows());
    if (plan.on_conflict == detail::OnConflict::update) detail::refuse_repeated_keys(info(), rows, plan.unique_columns);
    std::vector<M> out(objs.size());
    std::vector<char> stored(objs.size(), 0);
    db_.atomic([&] {
      const std::size_t limit = db_.with_connection([](Connection& c) { return c.max_parameters(); });
      std::vector<std::size_t> columns, batch;
      for (const bool auto_pk : {false, true}) {
        columns.clear();
        for (std::size_t c = 0; c < rows.width; ++c)
          if (!(auto_pk && c == info().pk)) columns.push_back(c);
        const std::size_t most = columns.empty() ? 1 : std::max<std::size_t>(1, limit / columns.size());
        const std::size_t size = plan.batch_size ? std::min(plan.batch_size, most) : most;
        batch.clear();
        for (std::size_t r = 0; r <= rows.size(); ++r) {
          if (r < rows.size() && static_cast<bool>(rows.auto_pk[r]) == auto_pk) batch.push_back(r);
          if (batch.size() == size || (r == rows.size() && !batch.empty())) {
            written += insert_batch(rows, {batch, columns}, plan, out, stored);
            batch.clear();
          }
        }
      }
    });
    for (std::size_t i = 0; i < objs.size(); ++i)
      if (!stored[i]) out[i] = objs[i];
    return out;
  }

  // ---- the table itself (schema.hpp) ---------------------------------------------------

  /// CREATE TABLE IF NOT EXISTS with the schema's constraints, the foreign keys'
  /// indexes and the many-to-many through tables; a table that was there already is
  /// then checked against the model.
  void create_table() const {
    for (const std::string& sql : detail::schema_sql(db_.dialect(), info())) db_.execute(sql);
    detail::watch_tables(db_, info());  // every writer seen, where the URL asks for it (Database::watch_table)
    check_schema();
  }

  /// ConfigurationError when the table is missing or differs from the model. Run once
  /// per database and model, before the first statement of the first executor that
  /// needs it (and again whenever called).
  void check_schema() const {
    gocp::check_schema(db_, info());
    detail::DatabaseAccess::schemas_checked(db_).add(&info());
  }

  /// Adds what the table lacks (never drops or changes anything), then checks it.
  SchemaChanges sync_schema() const {
    auto changes = gocp::sync_schema(db_, info(), detail::object_values(detail::default_object<M>()));
    detail::DatabaseAccess::schemas_checked(db_).add(&info());
    return changes;
  }

 private:
  static constexpr std::int64_t kReservedRows = 1000;  ///< all()'s most rows reserved ahead, from a slice's bound

  static std::uint32_t pk_column() noexcept { return static_cast<std::uint32_t>(detail::pk_index<M>); }
  static auto pk_member() { return std::get<detail::pk_index<M>>(model<M>::schema.fields).member; }

  /// Before an executor's first statement: its table against the model (schema.hpp),
  /// unless another executor of the model already checked it on this database.
  /// The tables its relations need are checked then too, once per database: not by
  /// create_table() or check_schema(), so tables may be created in any order.
  void check_schema_once() const {
    if (schema_checked_->load(std::memory_order_acquire)) return;
    auto& checked = detail::DatabaseAccess::schemas_checked(db_);
    if (!checked.contains(&info())) check_schema();
    const void* relations = &info().foreign_keys;  // the key of "its relations' tables checked"
    if (!checked.contains(relations)) {
      gocp::check_related_tables(db_, info());
      checked.add(relations);
    }
    schema_checked_->store(true, std::memory_order_release);
  }

  detail::SqlWriter writer() const { return detail::SqlWriter(db_.dialect(), info()); }

  /// Reads column `i` of `row` (the model's column `column`) into `out`.
  template <class A>
  static void read_column(A& out, const Row& row, std::size_t i, std::uint32_t column) {
    column_traits<A>::read_into(out, row, static_cast<int>(i),
                                [&] { return detail::qualified_name(info().name, info().columns[column].name); });
  }

  /// COUNT(*) of a sliced queryset: the rows of its slice, counted in a subquery.
  std::size_t count_sliced(const QuerySet<M>& qs) const {
    std::size_t n = 0;
    select_wrapped(qs, 'C', "SELECT COUNT(*) FROM (", ") AS s", [&](const Row& row) {
      n = static_cast<std::size_t>(row.integer(0));
      return false;
    });
    return n;
  }

  /// Whether the slice of a sliced queryset holds a row, in a subquery.
  bool exists_sliced(const QuerySet<M>& qs) const {
    bool found = false;
    select_wrapped(qs, 'E', "SELECT 1 FROM (", ") AS s LIMIT 1", [&](const Row&) { return !(found = true); });
    return found;
  }

  /// `before` + the SELECT of qs's primary keys in its slice (no order: it does not
  /// change how many rows a slice holds) + `after`, named by a shape of verb `verb`.
  template <class OnRow>
  void select_wrapped(const QuerySet<M>& qs, char verb, std::string_view before, std::string_view after,
                      OnRow&& on_row) const {
    if (qs.slice().empty()) {
      // nothing to read: the wrapper's answer for no row (COUNT(*) = 0, no row for EXISTS)
      return;
    }
    const std::uint32_t pk = pk_column();
    const detail::SelectStatement<M> statement(qs, {.columns = {&pk, 1}, .ordered = false, .locked = false}, db_.dialect());
    detail::StatementShape shape(info(), verb);
    statement.shape(shape);
    auto write = [&](detail::SqlWriter& w) {
      w.text(before);
      statement.write(w);
      w.text(after);
    };
    run(shape, write, on_row);
  }

  /// Runs the statement `w` wrote, its text as its key. The callbacks of run() are
  /// references (FunctionRef), not template parameters: one run() per model, not one per
  /// call site and lambda.
  std::size_t run(detail::SqlWriter& w, detail::FunctionRef<bool(const Row&)> on_row) const {
    check_schema_once();
    stats_->bump(detail::StatCounters::db_queries);
    return db_.with_connection([&](Connection& c) { return detail::run_sql(c, w, on_row); });
  }

  /// Runs the statement `shape` names, binding its values; `write(SqlWriter&)` writes
  /// its text only when a connection prepares the shape for the first time.
  std::size_t run(const detail::StatementShape& shape, detail::FunctionRef<void(detail::SqlWriter&)> write,
                  detail::FunctionRef<bool(const Row&)> on_row) const {
    check_schema_once();
    stats_->bump(detail::StatCounters::db_queries);
    auto write_sql = [&](std::string& sql) {
      auto w = writer();
      write(w);
      const std::span<const Value* const> bound{w.params().begin(), w.params().size()};
      if (!std::equal(bound.begin(), bound.end(), shape.params().begin(), shape.params().end()))
        throw Error("gocp: internal error: the SQL of a '" + info().table + "' statement binds other values than its shape");
      sql = std::move(w.sql());
    };
    const detail::ReportedWrites reported;  // the repository publishes the rows it writes itself
    return db_.with_connection(
        [&](Connection& c) { return c.query_keyed(shape.key(), write_sql, shape.params(), on_row); });
  }

  /// bulk_insert's rows as values, written over `rows` (returned): each object's, its
  /// bound columns set, its auto_now columns stamped with one time; each value
  /// validated, a ValidationError naming the row's index and the field.
  const detail::BulkRows& bulk_rows(std::span<const M> objs, const detail::ColumnValues& bound,
                                    detail::BulkRows& rows) const {
    const ModelInfo& mi = info();
    constexpr std::size_t pk = detail::pk_index<M>;
    rows.resize(objs.size(), mi.columns.size());
    const std::vector<std::size_t>& stamped = auto_now_columns(/*creating=*/true);
    const Value at = stamped.empty() ? Value{} : now();
    for (std::size_t r = 0; r < objs.size(); ++r) {
      try {
        Value* row = rows.values.data() + r * rows.width;
        detail::assign_values(objs[r], row);
        for (const auto& [column, v] : bound) row[column] = v;
        for (std::size_t c : stamped) row[c] = at;
        const auto* key = std::get_if<std::int64_t>(&row[pk]);
        const bool auto_pk = mi.columns[pk].auto_increment && key && *key == 0;
        rows.auto_pk.push_back(auto_pk);
        for (std::size_t c = 0; c < rows.width; ++c)
          if (!(auto_pk && c == pk)) detail::validate_value(mi, db_.dialect(), c, row[c]);
        for (std::size_t c : stored_as_bytes()) rows.count_storage(row[c]);
      } catch (const ValidationError& e) {
        detail::throw_row_invalid(r, objs.size(), e);
      }
    }
    return rows;
  }

  /// One batch's INSERT: each row the database returns read into `out` at its index in
  /// the call, marked in `stored`, and a RowChange (made in the transaction's buffer);
  /// returns how many rows it wrote. The rows come back in the order the INSERT
  /// processed them (its VALUES order), less those an ignored conflict skipped; that is
  /// checked on every row (the key it set, the key an auto key batch assigns in
  /// increasing order, an upsert's unique key), and a row that does not match is an
  /// error that rolls the whole call back rather than a row put in the wrong place.
  std::size_t insert_batch(const detail::BulkRows& rows, const detail::BulkBatch& batch, const detail::BulkPlan& plan,
                           std::vector<M>& out, std::vector<char>& stored) const {
    const ModelInfo& mi = info();
    constexpr std::size_t pk = detail::pk_index<M>;
    const bool upsert = plan.on_conflict == detail::OnConflict::update;
    const bool ignore = plan.on_conflict == detail::OnConflict::ignore;
    const bool reports_inserted = upsert && detail::upsert_reports_inserted(db_.dialect());
    const bool auto_pk = batch.columns.size() != rows.width;
    std::vector<char> had_row;  // by position in the batch, for an upsert that cannot report it
    if (upsert && !reports_inserted) had_row = existing_keys(rows, batch, plan);
    const detail::KeyIndex unique_key(rows, plan.unique_columns, pk);
    std::optional<std::int64_t> last_auto_pk;
    // whether `got`, returned by the database, is the row at batch position `at`
    auto is_row = [&](std::size_t at, const M& got) {
      const std::size_t r = batch.rows[at];
      if (upsert)
        return !unique_key.keyed(r) || std::all_of(plan.unique_columns.begin(), plan.unique_columns.end(), [&](std::size_t c) {
                 return detail::same_value(detail::get_column(got, c), rows.at(r, c));
               });
      if (!auto_pk) return detail::same_value(detail::pk_value(got), rows.at(r, pk));
      if (!ignore) return true;
      const auto& identifying = conflict_columns();
      return std::all_of(identifying.begin(), identifying.end(),
                         [&](std::size_t c) { return detail::same_value(detail::get_column(got, c), rows.at(r, c)); });
    };
    auto unmatched = [&] {
      throw DatabaseError("gocp: bulk_create on '" + std::string(mi.name) +
                          "': the database returned the rows of a multi-row INSERT in an order that does not match "
                          "the rows given; nothing was written");
    };
    detail::StatementShape shape(mi, 'B');
    detail::bulk_insert_shape(shape, rows, batch, plan);
    auto write = [&](detail::SqlWriter& w) { detail::write_bulk_insert(w, mi, db_.dialect(), rows, batch, plan); };
    // the changes made where the transaction (bulk_insert's atomic()) keeps them, from
    // the first row written: a batch whose rows were all skipped wrote nothing
    detail::SmallVector<RowChange, 1>* changes = nullptr;
    const bool subscribed = db_.changes().has_subscribers();
    std::size_t at = 0;  // the batch position of the next row the database may return
    std::size_t returned = 0;
    M got{};  // where an ignore_conflicts row is read until its place is known
    run(shape, write, [&](const Row& row) {
      if (at >= batch.rows.size()) unmatched();
      // without skipped rows, the next row's place is known: read it there
      M& read = ignore ? got : out[batch.rows[at]];
      detail::read_into(read, row);
      const Value key = detail::pk_value(read);
      if (auto_pk && !upsert) {  // an auto key batch's keys increase in the order its rows are inserted
        const auto* assigned = std::get_if<std::int64_t>(&key);
        if (!assigned || (last_auto_pk && *assigned <= *last_auto_pk)) unmatched();
        last_auto_pk = *assigned;
      }
      while (!is_row(at, read))
        if (!ignore || ++at == batch.rows.size()) unmatched();
      const std::size_t r = batch.rows[at];
      if (ignore) out[r] = std::move(got);
      stored[r] = 1;
      const bool had = upsert && (reports_inserted ? row.integer(static_cast<int>(rows.width)) == 0 : had_row[at] != 0);
      if (!changes && !(changes = detail::DatabaseAccess::change_buffer(db_, &mi, batch.rows.size() - at)))
        throw Error("gocp: internal error: a bulk_create batch ran outside its transaction");
      changes->emplace_back_with([&] { return make_change(key, had, nullptr, &out[r], subscribed); });
      ++at;
      ++returned;
      return true;
    });
    if (!ignore && returned != batch.rows.size()) unmatched();
    return returned;
  }

  /// For an upsert on a backend that cannot report it: which rows of `batch` (by
  /// position) have a unique key that already has a row, read inside the upsert's
  /// transaction, before its INSERT.
  std::vector<char> existing_keys(const detail::BulkRows& rows, const detail::BulkBatch& batch,
                                  const detail::BulkPlan& plan) const {
    std::vector<char> had(batch.rows.size(), 0);
    detail::KeyIndex index(rows, plan.unique_columns, detail::pk_index<M>);
    std::vector<std::size_t> keyed;
    std::unordered_map<std::size_t, std::size_t> position;  // row -> batch position
    for (std::size_t at = 0; at < batch.rows.size(); ++at) {
      const std::size_t r = batch.rows[at];
      if (!index.keyed(r)) continue;
      keyed.push_back(r);
      index.add(r);
      position.emplace(r, at);
    }
    if (keyed.empty()) return had;
    detail::StatementShape shape(info(), 'E');
    detail::existing_keys_shape(shape, rows, keyed, plan.unique_columns);
    auto write = [&](detail::SqlWriter& w) { detail::write_existing_keys(w, rows, keyed, plan.unique_columns); };
    std::vector<Value> key(plan.unique_columns.size());
    run(shape, write, [&](const Row& row) {
      for (std::size_t k = 0; k < key.size(); ++k)
        key[k] = detail::read_value(row, static_cast<int>(k), info().columns[plan.unique_columns[k]].type);
      if (const std::size_t r = index.find([&](std::size_t k) -> const Value& { return key[k]; }); r != detail::npos)
        had[position.at(r)] = 1;
      return true;
    });
    return had;
  }

  /// The columns of the unique sets other than the primary key: what tells apart the
  /// rows of an auto key batch, where only they can conflict.
  static const std::vector<std::size_t>& conflict_columns() {
    static const std::vector<std::size_t> columns = [] {
      std::vector<std::size_t> out;
      for (const auto& set : info().unique_sets)
        for (std::size_t c : set)
          if (c != info().pk && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
      return out;
    }();
    return columns;
  }

  /// ` RETURNING` every column.
  static void returning(detail::SqlWriter& w) {
    w.text(" RETURNING ");
    for (std::size_t i = 0; i < info().columns.size(); ++i) (i ? w.text(", ") : w).column(i);
  }

  /// Runs `w` with `RETURNING` every column, handing each row to `on_object`.
  template <class OnObject>
  void run_returning(detail::SqlWriter& w, OnObject&& on_object) const {
    returning(w);
    run(w, [&](const Row& row) {
      on_object(detail::read_object<M>(row));
      return true;
    });
  }

  /// DELETE ... WHERE (what `where` writes). When foreign keys point at this table, the
  /// rows the database will cascade to or set NULL in are read first, in the same
  /// transaction, and reported as changes of their own tables (orm/detail/cascade.hpp).
  template <class Where>
  std::size_t delete_matching(Where&& where) const {
    auto remove = [&] {
      auto w = writer();
      w.text("DELETE FROM ").table();
      where(w);
      return delete_returning(w);
    };
    if (detail::ReverseRelations::global().of(info().table).empty()) return remove();
    return db_.atomic([&] {
      auto w = writer();
      w.text("SELECT ").column(info().pk).text(" FROM ").table();
      where(w);
      if (db_.dialect().supports_for_update) w.text(" FOR UPDATE");
      std::vector<Value> pks;
      run(w, [&](const Row& row) {
        pks.push_back(detail::read_value(row, 0, info().columns[info().pk].type));
        return true;
      });
      detail::Dependents dependents;
      detail::collect_dependents(db_, info(), pks, dependents);
      return detail::delete_with_dependents(db_, dependents, remove);
    });
  }

  /// As run_returning, for an UPDATE setting `values`: the error an increment's range
  /// guard raises (see set_list) becomes a ValidationError naming the fields.
  template <class OnObject>
  void run_returning(detail::SqlWriter& w, const detail::ColumnValues& values, OnObject&& on_object) const {
    if (values.increments.empty()) return run_returning(w, on_object);
    try {
      // in a transaction, inside a savepoint: PostgreSQL would otherwise abort the whole
      // transaction when the guard refuses, where the caller expects only a ValidationError
      if (db_.in_transaction()) db_.atomic([&] { run_returning(w, on_object); });
      else run_returning(w, on_object);
    } catch (const DatabaseError& e) {
      const std::string_view what = e.what();
      // SQLite's "integer overflow", PostgreSQL's 22003 "bigint out of range": only the guard's abs() raises them
      if (what.find("integer overflow") == std::string_view::npos && what.find(" 22003") == std::string_view::npos)
        throw;
      std::string fields;
      for (std::size_t c : values.increments) {
        const ColumnInfo& col = info().columns[c];
        fields += (fields.empty() ? "'" : ", '") + detail::qualified_name(info().name, col.name) + "' (range [" +
                  std::to_string(col.min_value) + ", " + std::to_string(col.max_value) + "])";
      }
      throw ValidationError("gocp: an increment would take " + fields +
                            " out of its range on at least one row; no row was changed");
    }
  }

  /// The columns set to the current time on a create (auto_now and auto_now_add) or on
  /// a save (auto_now).
  static const std::vector<std::size_t>& auto_now_columns(bool creating) {
    static const auto columns = [](bool create) {
      std::vector<std::size_t> out;
      for (std::size_t i = 0; i < info().columns.size(); ++i)
        if (info().columns[i].auto_now || (create && info().columns[i].auto_now_add)) out.push_back(i);
      return out;
    };
    static const std::vector<std::size_t> on_create = columns(true), on_save = columns(false);
    return creating ? on_create : on_save;
  }
  static Value now() { return Value{TimestampValue{detail::now_micros()}}; }

  /// The text and blob columns: the values that hold heap storage (BulkRows counts it).
  static const std::vector<std::size_t>& stored_as_bytes() {
    static const std::vector<std::size_t> columns = [] {
      std::vector<std::size_t> out;
      for (std::size_t i = 0; i < info().columns.size(); ++i)
        if (info().columns[i].type == ColumnType::text || info().columns[i].type == ColumnType::blob) out.push_back(i);
      return out;
    }();
    return columns;
  }

  /// The row before an update that only incremented integer columns: `after` less each
  /// increment (exact, since the range guard held); nullopt for any other update.
  static std::optional<M> before_increments(const M& after, const detail::ColumnValues& values) {
    if (values.increments.size() != values.size()) return std::nullopt;
    M before = after;
    for (const auto& [column, delta] : values) {
      const auto* d = std::get_if<std::int64_t>(&delta);
      if (!d) return std::nullopt;
      const Value now = detail::get_column(after, column);
      if (const auto* n = std::get_if<std::int64_t>(&now)) detail::set_column(before, column, Value{*n - *d});
    }
    return before;
  }

  std::size_t delete_returning(detail::SqlWriter& w) const {
    std::vector<M> gone;
    run_returning(w, [&](M row) { gone.push_back(std::move(row)); });
    std::vector<RowChange> batch;
    for (const M& row : gone) emit(detail::get_column(row, info().pk), /*had_row=*/true, &row, nullptr, &batch);
    detail::DatabaseAccess::emit_many(db_, &info(), std::move(batch));
    return gone.size();
  }

  /// An update of the row that had key `old_pk` by `values`; when the key changed, a
  /// delete of the old key and an insert of the new one. Into `batch` when given.
  void emit_update(const Value& old_pk, const M& after, const detail::ColumnValues& values,
                   std::vector<RowChange>* batch = nullptr, const M* old = nullptr) const {
    const Value pk = detail::get_column(after, info().pk);
    const bool moved = pk != old_pk;
    if (moved) emit(old_pk, /*had_row=*/true, old, nullptr, batch);
    const std::optional<M> before = moved || old ? std::nullopt : before_increments(after, values);
    emit(pk, /*had_row=*/!moved, moved ? nullptr : old ? old : before ? &*before : nullptr, &after, batch);
  }

  /// Whether a subscriber of this table needs an update's old values (ChangeStream::want_old_values).
  bool wants_old_values() const { return db_.changes().wants_old_values(info().table); }

  /// Whether before_increments() can tell an update's old values by `values` alone.
  static bool before_increments_known(const detail::ColumnValues& values) {
    if (values.increments.size() != values.size()) return false;
    for (const auto& [column, delta] : values)
      if (!std::holds_alternative<std::int64_t>(delta)) return false;
    return true;
  }

  /// One RowChange: `had_row` whether `pk` held a row before the write; `before` /
  /// `after` the row's values, where known (`after` null: no row is left). Added to
  /// `batch` when given (the caller emits the batch), else emitted at once. The values
  /// are copied only when someone may read them (ChangeStream::has_subscribers).
  void emit(const Value& pk, bool had_row, const M* before, const M* after,
            std::vector<RowChange>* batch = nullptr) const {
    const auto make = [&] { return make_change(pk, had_row, before, after, db_.changes().has_subscribers()); };
    if (batch) batch->push_back(make());
    else detail::DatabaseAccess::emit_made(db_, &info(), make);
  }

  /// emit()'s RowChange, its values filled when `subscribed`.
  static RowChange make_change(const Value& pk, bool had_row, const M* before, const M* after, bool subscribed) {
    RowChange change{info().table, pk, std::nullopt, std::nullopt, had_row, after != nullptr};
    if (subscribed) {
      if (before) change.before = detail::object_values(*before);
      if (after) change.after = detail::object_values(*after);
    }
    return change;
  }

  void validate(std::size_t column, const Value& v) const { detail::validate_value(info(), db_.dialect(), column, v); }
  void validate(const detail::ColumnValues& values) const {
    for (const auto& [column, v] : values)
      if (!values.is_increment(column)) validate(column, v);  // a delta is no value of the column
  }

  /// ` "a" = ?, "b" = ?`; false when there is nothing to set.
  static bool set_list(detail::SqlWriter& w, const detail::ColumnValues& values) {
    bool any = false;
    for (const auto& [column, v] : values) {
      (any ? w.text(", ") : w).column(column).text(" = ");
      any = true;
      if (!values.is_increment(column)) {
        w.param(v);
      } else if (const auto* d = std::get_if<std::int64_t>(&v)) {
        increment_guarded(w, column, *d);
      } else {
        w.column(column).text(" + ").param(v);
      }
    }
    return any;
  }

  /// `column + delta`, or an error when that leaves the member type's range: the
  /// guard compares the current value with the bound computed here (so neither side
  /// can overflow) and otherwise evaluates abs(INT64_MIN), which both SQLite ("integer
  /// overflow") and PostgreSQL (22003) refuse. The operand depends on the row so that
  /// PostgreSQL cannot fold it at plan time. NULL stays NULL, as NULL + 1 in SQL.
  static void increment_guarded(detail::SqlWriter& w, std::size_t column, std::int64_t delta) {
    const ColumnInfo& col = info().columns[column];
    std::int64_t bound = 0;
    const bool up = delta >= 0;
    if (up) bound = col.max_value - delta;  // max >= 0 and delta >= 0: no overflow
    else if (__builtin_sub_overflow(col.min_value, delta, &bound)) bound = std::numeric_limits<std::int64_t>::max();
    w.text("CASE WHEN ").column(column).text(" IS NULL OR ").column(column).text(up ? " <= " : " >= ").param_owned(Value{bound});
    w.text(" THEN ").column(column).text(" + ").param_owned(Value{delta});
    w.text(" ELSE abs(").column(column).text(" * 0 + ").param_owned(Value{std::numeric_limits<std::int64_t>::min()});
    w.text(") END");
  }

  Database db_;
  std::shared_ptr<detail::StatCounters> stats_;
  /// Set once the table was found to match the model, shared by copies (a policy's
  /// commit hook holds one); two threads racing the first statement may both check,
  /// which is harmless.
  std::shared_ptr<std::atomic<bool>> schema_checked_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace gocp
