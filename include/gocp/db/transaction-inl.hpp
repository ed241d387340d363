#pragma once
/// \file
/// The definitions behind <gocp/db/transaction.hpp>'s Transaction: included by it in
/// header-only mode, compiled once by src/gocp.cpp for gocp::gocp_compiled
/// (detail/config.hpp).

#include <algorithm>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "../errors.hpp"
#include "transaction.hpp"

namespace gocp {

GOCP_INLINE Transaction::Transaction(const Database& db) : db_(db) {
  if (auto* tx = db_.transaction_state()) {
    state_ = tx;
    depth_ = tx->depth + 1;
    (*tx->lease).execute("SAVEPOINT " + detail::savepoint_name(depth_));
    db_.state_->savepoints.fetch_add(1, std::memory_order_relaxed);
    tx->savepoint_marks.push_back({tx->on_commit.size(), tx->changes.size()});
    tx->depth = depth_;
    return;
  }
  auto& spare = detail::spare_transaction_state();
  auto owned = spare ? std::move(spare) : std::make_unique<detail::TransactionState>();
  owned->lease = db_.state_->pool.acquire();
  owned->db = db_.state_.get();
  try {
    (*owned->lease).transaction_step(Connection::TransactionStep::begin, db_.dialect());
  } catch (...) {
    owned->clear();
    spare = std::move(owned);
    throw;
  }
  db_.state_->transactions.fetch_add(1, std::memory_order_relaxed);
  state_ = owned.release();
  detail::open_transactions().push_back(state_);
}

GOCP_INLINE void Transaction::commit() {
  require_innermost("commit");
  finished_ = true;
  Connection& c = *state_->lease;
  state_->end_cursors(depth_);
  if (depth_ > 1) {
    try {
      c.execute("RELEASE SAVEPOINT " + detail::savepoint_name(depth_));
    } catch (...) {
      undo_savepoint();
      throw;
    }
    state_->savepoint_marks.pop_back();
    state_->depth = depth_ - 1;
    return;
  }
  try {
    c.transaction_step(Connection::TransactionStep::commit, db_.dialect());
  } catch (...) {
    try {
      c.transaction_step(Connection::TransactionStep::rollback, db_.dialect());
    } catch (...) {  // the connection is already out of its transaction, or broken
    }
    close();
    throw;
  }
  auto hooks = std::move(state_->on_commit);
  decltype(state_->changes) changes;
  if (db_.state_->changes->has_subscribers()) changes = std::move(state_->changes);  // else nobody hears them
  close();
  // Changes first: caches are invalidated before any on_commit hook refills them.
  std::exception_ptr first;
  try {
    db_.state_->changes->publish_many(changes);
  } catch (...) {
    first = std::current_exception();
  }
  detail::call_each(hooks, [](const std::function<void()>& hook) { hook(); }, first);
  if (first) std::rethrow_exception(first);
}

GOCP_INLINE void Transaction::rollback() noexcept {
  if (finished_ || !is_innermost()) return;  // a misuse must not throw from a destructor
  finished_ = true;
  if (depth_ > 1) {
    undo_savepoint();
    return;
  }
  state_->end_cursors(depth_);
  try {
    (*state_->lease).transaction_step(Connection::TransactionStep::rollback, db_.dialect());
  } catch (...) {  // a connection that cannot roll back is closed by the pool
  }
  close();
}

GOCP_INLINE void Transaction::require_innermost(const char* verb) const {
  if (finished_) throw Error(std::string("gocp: ") + verb + " on a transaction that has already ended");
  if (!is_innermost())
    throw Error(std::string("gocp: ") + verb + " on a transaction while a nested one is still open");
}

GOCP_INLINE void Transaction::undo_savepoint() noexcept {
  state_->end_cursors(depth_);
  const auto name = detail::savepoint_name(depth_);
  try {
    (*state_->lease).execute("ROLLBACK TO SAVEPOINT " + name);
    (*state_->lease).execute("RELEASE SAVEPOINT " + name);
  } catch (...) {  // the outer level will roll back what is left
  }
  const auto mark = state_->savepoint_marks.back();
  state_->on_commit.resize(mark.hooks);
  state_->changes.truncate(mark.changes);
  state_->savepoint_marks.pop_back();
  state_->depth = depth_ - 1;
}

GOCP_INLINE void Transaction::close() noexcept {
  auto& open = detail::open_transactions();
  open.erase(std::remove(open.begin(), open.end(), state_), open.end());
  state_->clear();
  auto& spare = detail::spare_transaction_state();
  if (spare) delete state_;
  else spare.reset(state_);
  state_ = nullptr;
}

GOCP_INLINE void Database::on_commit(std::function<void()> fn) const {
  if (auto* tx = transaction_state()) {
    tx->on_commit.push_back(std::move(fn));
  } else {
    fn();
  }
}

}  // namespace gocp
