#pragma once
// A Connection that reports each statement of the one it wraps to an EventSink, with
// its text and duration (events.hpp). Database::open wraps every connection in one when
// OpenOptions::on_event is set, and only then: a database without a sink pays nothing.
// A keyed statement (Connection::query_keyed) is named by a key, not its text, and its
// text is written only when a connection first prepares it; traced, the text is written
// on every call, so the sink can show it. That is the cost of tracing, paid only by it.

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "../../events.hpp"
#include "../../spi/connection.hpp"

namespace gocp::detail {

class TracedConnection final : public Connection {
  // first: the overrides below use timed()'s deduced return type
  /// Runs `fn`, reporting it as the statement `sql`: its duration, or its failure.
  template <class F>
  decltype(auto) timed(std::string_view sql, F&& fn) {
    const auto start = std::chrono::steady_clock::now();
    try {
      if constexpr (std::is_void_v<decltype(fn())>) {
        fn();
        report_done(sql, start);
      } else {
        decltype(auto) result = fn();
        report_done(sql, start);
        return result;
      }
    } catch (const std::exception& e) {
      report(sink_.get(), {.kind = Event::Kind::statement_failed, .source = *source_, .text = sql,
                           .detail = e.what(), .duration = std::chrono::steady_clock::now() - start});
      throw;
    }
  }

  void report_done(std::string_view sql, std::chrono::steady_clock::time_point start) const noexcept {
    report(sink_.get(), {.kind = Event::Kind::statement, .source = *source_, .text = sql,
                         .duration = std::chrono::steady_clock::now() - start});
  }

 public:
  TracedConnection(std::unique_ptr<Connection> inner, std::shared_ptr<const EventSink> sink,
                   std::shared_ptr<const std::string> source)
      : inner_(std::move(inner)), sink_(std::move(sink)), source_(std::move(source)) {}

  void execute(std::string_view sql) override {
    timed(sql, [&] { inner_->execute(sql); });
  }

  std::size_t query(std::string_view sql, std::span<const Value> params,
                    FunctionRef<bool(const Row&)> on_row) override {
    return timed(sql, [&] { return inner_->query(sql, params, on_row); });
  }

  std::size_t query_keyed(std::string_view key, FunctionRef<void(std::string&)> write_sql,
                          std::span<const Value* const> params, FunctionRef<bool(const Row&)> on_row) override {
    std::string sql;
    write_sql(sql);
    auto write_again = [&sql](std::string& out) { out = sql; };
    return timed(sql, [&] { return inner_->query_keyed(key, write_again, params, on_row); });
  }

  std::unique_ptr<RowCursor> open_cursor(std::string_view sql, std::span<const Value* const> params) override {
    return timed(sql, [&] { return inner_->open_cursor(sql, params); });
  }

  void transaction_step(TransactionStep step, const Dialect& dialect) override {
    const std::string_view sql = step == TransactionStep::begin    ? std::string_view(dialect.begin_transaction)
                                 : step == TransactionStep::commit ? std::string_view("COMMIT")
                                                                   : std::string_view("ROLLBACK");
    timed(sql, [&] { inner_->transaction_step(step, dialect); });
  }

  std::size_t max_parameters() noexcept override { return inner_->max_parameters(); }
  void* native_handle() noexcept override { return inner_->native_handle(); }
  bool usable() const noexcept override { return inner_->usable(); }
  bool revalidate() noexcept override { return inner_->revalidate(); }

 private:
  std::unique_ptr<Connection> inner_;
  std::shared_ptr<const EventSink> sink_;
  std::shared_ptr<const std::string> source_;  ///< the database's redacted URL
};

}  // namespace gocp::detail
