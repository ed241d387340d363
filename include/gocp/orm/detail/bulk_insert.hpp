#pragma once
// The SQL of bulk_create (bulk_create.hpp, Executor::bulk_insert): one multi-row
// `INSERT ... VALUES (...), (...) [ON CONFLICT ...] RETURNING <every column>` per batch,
// and what the executor needs around it — the options checked against the model, the
// rows as values, the keys an upsert is matched on, and (on a backend whose INSERT
// cannot tell an insert from an update) the SELECT of the keys that already had rows.
// Each statement is named by a shape (statement_shape.hpp), so a batch of the same size
// is prepared once per connection; its text and its shape bind the same values in the
// same order, which the executor checks when it prepares it.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "../../bulk_create.hpp"
#include "../../dialect.hpp"
#include "../../errors.hpp"
#include "../../model.hpp"
#include "sql.hpp"
#include "statement_shape.hpp"

namespace gocp::detail {

/// What a batch's INSERT does with a row that conflicts with a unique constraint.
enum class OnConflict : std::uint8_t { fail, ignore, update };

/// bulk_create's options, checked against the model and resolved to columns.
struct BulkPlan {
  OnConflict on_conflict = OnConflict::fail;
  std::vector<std::size_t> unique_columns;  ///< an upsert's conflict target, in schema order
  std::vector<std::size_t> update_columns;  ///< what an upsert sets, in the order given
  std::size_t batch_size = 0;               ///< 0: as many rows as a statement can bind
};

/// `(a, b)`: the names of `columns`, for errors.
inline std::string field_list(const ModelInfo& mi, std::span<const std::size_t> columns) {
  std::string out = "(";
  for (std::size_t i = 0; i < columns.size(); ++i) out += (i ? ", " : "") + std::string(mi.columns[columns[i]].name);
  return out + ")";
}

/// The plan of `options` for model `mi`; a ConfigurationError names what is wrong (both
/// conflict modes at once, unique_fields that are not one of the model's unique sets,
/// no update_fields, the primary key among them, a field listed twice).
template <class T>
BulkPlan bulk_plan(const ModelInfo& mi, const BulkCreate<T>& options) {
  BulkPlan plan;
  plan.batch_size = options.batch_size;
  const std::string model = "'" + std::string(mi.name) + "'";
  if (options.ignore_conflicts && options.update_conflicts)
    throw ConfigurationError("gocp: bulk_create on " + model +
                             ": ignore_conflicts and update_conflicts cannot be used together");
  if (options.ignore_conflicts) plan.on_conflict = OnConflict::ignore;
  if (!options.update_conflicts) return plan;
  plan.on_conflict = OnConflict::update;
  std::vector<std::size_t> unique = options.update_conflicts->unique_fields.columns;
  const std::vector<std::size_t>& update = options.update_conflicts->update_fields.columns;
  std::sort(unique.begin(), unique.end());
  const bool repeated = std::adjacent_find(unique.begin(), unique.end()) != unique.end();
  const bool is_a_unique_set = !repeated && std::any_of(mi.unique_sets.begin(), mi.unique_sets.end(), [&](auto set) {
    std::sort(set.begin(), set.end());
    return set == unique;
  });
  if (!is_a_unique_set) {
    std::string sets;
    for (const auto& set : mi.unique_sets) sets += (sets.empty() ? "" : ", ") + field_list(mi, set);
    throw ConfigurationError("gocp: bulk_create on " + model + ": update_conflicts' unique_fields " +
                             field_list(mi, options.update_conflicts->unique_fields.columns) +
                             " are not one of the model's unique sets (" + sets +
                             "); an upsert detects conflicts on exactly one");
  }
  if (update.empty())
    throw ConfigurationError("gocp: bulk_create on " + model +
                             ": update_conflicts needs at least one field in update_fields");
  for (std::size_t i = 0; i < update.size(); ++i) {
    if (update[i] == mi.pk)
      throw ConfigurationError("gocp: bulk_create on " + model + ": update_conflicts cannot update the primary key '" +
                               std::string(mi.columns[mi.pk].name) + "'");
    if (std::find(update.begin(), update.begin() + static_cast<std::ptrdiff_t>(i), update[i]) !=
        update.begin() + static_cast<std::ptrdiff_t>(i))
      throw ConfigurationError("gocp: bulk_create on " + model + ": update_fields lists '" +
                               std::string(mi.columns[update[i]].name) + "' twice");
  }
  plan.unique_columns = std::move(unique);
  plan.update_columns = update;
  return plan;
}

/// The rows of one bulk_create as values, row r's column c at values[r * width + c],
/// each validated before anything is written.
struct BulkRows {
  std::size_t width = 0;      ///< columns per row
  std::vector<Value> values;  ///< row-major
  std::vector<char> auto_pk;  ///< per row: its key is the database's to assign (an auto key left 0)
  std::size_t text_bytes = 0;  ///< the storage of the texts and bytes in `values`, as the writer counted it

  std::size_t size() const noexcept { return auto_pk.size(); }
  const Value& at(std::size_t row, std::size_t column) const noexcept { return values[row * width + column]; }

  /// Room for `rows` rows of `columns` values, to be written over (assign_values):
  /// the Values already there, and their texts' storage, are kept.
  void resize(std::size_t rows, std::size_t columns) {
    width = columns;
    values.resize(rows * columns);
    auto_pk.clear();
    auto_pk.reserve(rows);
    text_bytes = 0;
  }

  /// Counts the storage of `v` (a value just written) in text_bytes.
  void count_storage(const Value& v) noexcept {
    if (const auto* text = std::get_if<std::string>(&v)) text_bytes += text->capacity();
    else if (const auto* blob = std::get_if<BlobValue>(&v)) text_bytes += blob->bytes.capacity();
  }

  /// The heap memory it holds: the values' storage and their texts'.
  std::size_t held_bytes() const noexcept { return values.capacity() * sizeof(Value) + auto_pk.capacity() + text_bytes; }
};

/// This thread's BulkRows, kept between bulk_create calls as a transaction's buffers
/// are: the next call writes its rows over the last one's (no allocation per text, and
/// no large block freed per call). One call holds it at a time (a call nested in a
/// change handler gets rows of its own); rows that grew past kKeptBytes, or that a
/// call left half written (it threw), are freed rather than kept.
class BulkRowsLease {
 public:
  BulkRowsLease() : rows_(std::move(spare())) {
    if (!rows_) rows_ = std::make_unique<BulkRows>();
  }
  BulkRowsLease(const BulkRowsLease&) = delete;
  BulkRowsLease& operator=(const BulkRowsLease&) = delete;
  ~BulkRowsLease() {
    if (!spare() && std::uncaught_exceptions() == 0 && rows_->held_bytes() <= kKeptBytes) spare() = std::move(rows_);
  }

  BulkRows& rows() noexcept { return *rows_; }

 private:
  static constexpr std::size_t kKeptBytes = std::size_t{1} << 20;
  static std::unique_ptr<BulkRows>& spare() {
    thread_local std::unique_ptr<BulkRows> kept;
    return kept;
  }
  std::unique_ptr<BulkRows> rows_;
};

/// A ValidationError for row `row` of `count`: `e`'s message (which names the field),
/// prefixed with the row's index in the caller's span.
[[noreturn]] inline void throw_row_invalid(std::size_t row, std::size_t count, const ValidationError& e) {
  std::string_view what = e.what();
  if (what.starts_with("gocp: ")) what.remove_prefix(6);
  throw ValidationError("gocp: bulk_create row " + std::to_string(row) + " of " + std::to_string(count) + ": " +
                        std::string(what) + "; nothing was written");
}

/// Whether `a` and `b` are the same value as the database stores it (a NaN is one).
inline bool same_value(const Value& a, const Value& b) {
  const auto* x = std::get_if<double>(&a);
  const auto* y = std::get_if<double>(&b);
  if (x && y && std::isnan(*x) && std::isnan(*y)) return true;
  return a == b;
}

/// A hash of `v` consistent with same_value().
inline std::size_t hash_value(const Value& v) {
  const std::size_t kind = v.index() * 0x9e3779b97f4a7c15ull;
  return kind ^ std::visit(
                    [](const auto& x) -> std::size_t {
                      using V = std::decay_t<decltype(x)>;
                      if constexpr (std::is_same_v<V, std::monostate>) return 0;
                      else if constexpr (std::is_same_v<V, std::int64_t>) return std::hash<std::int64_t>{}(x);
                      else if constexpr (std::is_same_v<V, double>) return std::isnan(x) ? 1 : std::hash<double>{}(x);
                      else if constexpr (std::is_same_v<V, std::string>) return std::hash<std::string>{}(x);
                      else if constexpr (std::is_same_v<V, BlobValue>) return std::hash<std::string>{}(x.bytes);
                      else if constexpr (std::is_same_v<V, TimestampValue>) return std::hash<std::int64_t>{}(x.micros);
                      else return std::hash<std::int64_t>{}(x.days);
                    },
                    v);
}

/// The unique-key values of rows, looked up by key: which rows of a call hold a key.
class KeyIndex {
 public:
  KeyIndex(const BulkRows& rows, std::span<const std::size_t> columns, std::size_t pk)
      : rows_(rows), columns_(columns), pk_(pk) {}

  /// Whether row `r` has a key that can conflict: no NULL in it (a UNIQUE constraint
  /// admits many NULLs) and no key the database is yet to assign.
  bool keyed(std::size_t r) const {
    return std::none_of(columns_.begin(), columns_.end(), [&](std::size_t c) {
      return std::holds_alternative<std::monostate>(rows_.at(r, c)) || (c == pk_ && rows_.auto_pk[r]);
    });
  }

  /// Adds row `r` (keyed); returns the row added before it with the same key, or npos.
  std::size_t add(std::size_t r) {
    const std::size_t h = hash_row(r);
    for (auto [it, end] = by_hash_.equal_range(h); it != end; ++it)
      if (same_key(it->second, [&](std::size_t k) -> const Value& { return rows_.at(r, columns_[k]); }))
        return it->second;
    by_hash_.emplace(h, r);
    return npos;
  }

  /// The row added with the key whose k-th value is key(k), or npos.
  template <class Key>
  std::size_t find(const Key& key) const {
    std::size_t h = 0;
    for (std::size_t k = 0; k < columns_.size(); ++k) h = h * 31 + hash_value(key(k));
    for (auto [it, end] = by_hash_.equal_range(h); it != end; ++it)
      if (same_key(it->second, key)) return it->second;
    return npos;
  }

 private:
  std::size_t hash_row(std::size_t r) const {
    std::size_t h = 0;
    for (std::size_t c : columns_) h = h * 31 + hash_value(rows_.at(r, c));
    return h;
  }
  template <class Key>
  bool same_key(std::size_t r, const Key& key) const {
    for (std::size_t k = 0; k < columns_.size(); ++k)
      if (!same_value(rows_.at(r, columns_[k]), key(k))) return false;
    return true;
  }

  const BulkRows& rows_;
  std::span<const std::size_t> columns_;
  std::size_t pk_;
  std::unordered_multimap<std::size_t, std::size_t> by_hash_;
};

/// An upsert cannot affect one row twice (PostgreSQL refuses it within a statement):
/// a ValidationError names the first two rows of the call with the same unique key.
inline void refuse_repeated_keys(const ModelInfo& mi, const BulkRows& rows, std::span<const std::size_t> unique) {
  KeyIndex index(rows, unique, mi.pk);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (!index.keyed(r)) continue;
    if (const std::size_t first = index.add(r); first != npos)
      throw ValidationError("gocp: bulk_create on '" + std::string(mi.name) + "' with update_conflicts: rows " +
                            std::to_string(first) + " and " + std::to_string(r) + " of " + std::to_string(rows.size()) +
                            " have the same " + field_list(mi, unique) +
                            ", and an upsert cannot update one row twice; nothing was written");
  }
}

/// Whether the backend's INSERT ... ON CONFLICT DO UPDATE tells, per row, an insert
/// from an update: PostgreSQL does through the row's xmax (0 on a row this statement
/// inserted); elsewhere the keys are read first (write_existing_keys).
inline bool upsert_reports_inserted(const Dialect& d) { return d.name == "postgresql"; }

/// One statement's rows (indices into BulkRows, in the caller's order) and the columns
/// it writes (every column, or every column but an auto key the database assigns).
struct BulkBatch {
  std::span<const std::size_t> rows;
  std::span<const std::size_t> columns;
};

/// The shape of write_bulk_insert's statement for `batch`, binding its values.
inline void bulk_insert_shape(StatementShape& shape, const BulkRows& rows, const BulkBatch& batch,
                              const BulkPlan& plan) {
  // the text depends on: the columns written (every one or all but the key), the
  // conflict clause with its columns, and the number of rows; numbers self-delimit
  shape.flag(batch.columns.size() == rows.width);
  shape.column(static_cast<std::size_t>(plan.on_conflict));
  shape.column(plan.unique_columns.size());
  for (std::size_t c : plan.unique_columns) shape.column(c);
  shape.column(plan.update_columns.size());
  for (std::size_t c : plan.update_columns) shape.column(c);
  shape.column(batch.rows.size());
  shape.reserve_binds(batch.rows.size() * batch.columns.size());
  for (std::size_t r : batch.rows)
    for (std::size_t c : batch.columns) shape.bind(rows.at(r, c));
}

/// `INSERT INTO t (a, b) VALUES (?, ?), (?, ?) [ON CONFLICT ...] RETURNING <every
/// column>`, plus, for an upsert on a backend that reports it, `(xmax = 0)::int` after
/// them (1 for a row inserted, 0 for one updated). Without columns to write (a model
/// that is only an auto key), one row: `DEFAULT VALUES`.
inline void write_bulk_insert(SqlWriter& w, const ModelInfo& mi, const Dialect& dialect, const BulkRows& rows,
                              const BulkBatch& batch, const BulkPlan& plan) {
  w.text("INSERT INTO ").table();
  if (batch.columns.empty()) {
    w.text(" DEFAULT VALUES");
  } else {
    w.text(" (");
    for (std::size_t i = 0; i < batch.columns.size(); ++i) (i ? w.text(", ") : w).column(batch.columns[i]);
    w.text(") VALUES ");
    for (std::size_t k = 0; k < batch.rows.size(); ++k) {
      w.text(k ? ", (" : "(");
      for (std::size_t i = 0; i < batch.columns.size(); ++i)
        (i ? w.text(", ") : w).param(rows.at(batch.rows[k], batch.columns[i]));
      w.text(")");
    }
    if (plan.on_conflict == OnConflict::ignore) {
      w.text(" ON CONFLICT DO NOTHING");
    } else if (plan.on_conflict == OnConflict::update) {
      w.text(" ON CONFLICT (");
      for (std::size_t i = 0; i < plan.unique_columns.size(); ++i) (i ? w.text(", ") : w).column(plan.unique_columns[i]);
      w.text(") DO UPDATE SET ");
      for (std::size_t i = 0; i < plan.update_columns.size(); ++i) {
        const std::size_t c = plan.update_columns[i];
        (i ? w.text(", ") : w).column(c).text(" = excluded.").column(c);
      }
    }
  }
  w.text(" RETURNING ");
  for (std::size_t i = 0; i < mi.columns.size(); ++i) (i ? w.text(", ") : w).column(i);
  if (plan.on_conflict == OnConflict::update && upsert_reports_inserted(dialect)) w.text(", (xmax = 0)::int");
}

/// The shape of write_existing_keys' statement over `keyed` rows.
inline void existing_keys_shape(StatementShape& shape, const BulkRows& rows, std::span<const std::size_t> keyed,
                                std::span<const std::size_t> unique) {
  shape.column(unique.size());
  for (std::size_t c : unique) shape.column(c);
  shape.column(keyed.size());
  for (std::size_t r : keyed)
    for (std::size_t c : unique) shape.bind(rows.at(r, c));
}

/// `SELECT a, b FROM t WHERE (a, b) IN (VALUES (?, ?), ...)`: which of the `keyed` rows'
/// unique keys already have a row (read inside the upsert's transaction, whose write
/// lock keeps them so until it ends).
inline void write_existing_keys(SqlWriter& w, const BulkRows& rows, std::span<const std::size_t> keyed,
                                std::span<const std::size_t> unique) {
  w.text("SELECT ");
  for (std::size_t i = 0; i < unique.size(); ++i) (i ? w.text(", ") : w).column(unique[i]);
  w.text(" FROM ").table().text(" WHERE (");
  for (std::size_t i = 0; i < unique.size(); ++i) (i ? w.text(", ") : w).column(unique[i]);
  w.text(") IN (VALUES ");
  for (std::size_t k = 0; k < keyed.size(); ++k) {
    w.text(k ? ", (" : "(");
    for (std::size_t i = 0; i < unique.size(); ++i) (i ? w.text(", ") : w).param(rows.at(keyed[k], unique[i]));
    w.text(")");
  }
  w.text(")");
}

}  // namespace gocp::detail
