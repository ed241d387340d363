// Debian's SOCI 4.0 was built with Boost, so its headers include Boost.Fusion unless told
// otherwise, and libsoci-dev does not depend on libboost-dev. Only the optional Boost
// type conversions (header templates) hang on it, none used here.
#include <soci/soci-config.h>
#undef SOCI_HAVE_BOOST
#undef SOCI_HAVE_BOOST_DATE_TIME
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <stdexcept>

#include "soci_peer.hpp"

namespace gocp::bench {

namespace {
constexpr int kConstraint = 19;  // SQLITE_CONSTRAINT (soci-sqlite3.h hides <sqlite3.h>'s macros)
}

struct SociPeer::Impl {
  soci::session sql;
  // exchanged with the statements by reference
  std::string first, last;
  int zero = 0;
  long long id = 0;
  std::string first_out, last_out, store;
  int books = 0;
  soci::indicator store_ind = soci::i_ok;
  std::optional<soci::statement> select, insert;

  Impl(const std::string& path, int busy_timeout_ms)
      : sql(soci::sqlite3, "dbname=" + path + " timeout=" + std::to_string(busy_timeout_ms / 1000)) {
    sql << "PRAGMA journal_mode=WAL";
    sql << "PRAGMA synchronous=NORMAL";
    sql << "PRAGMA foreign_keys=ON";
    select.emplace((sql.prepare << "SELECT id, first_name, last_name, books_in_store, store FROM library_author "
                                   "WHERE first_name = ? AND last_name = ? LIMIT 21",
                    soci::into(id), soci::into(first_out), soci::into(last_out), soci::into(books),
                    soci::into(store, store_ind), soci::use(first), soci::use(last)));
    insert.emplace((sql.prepare << "INSERT INTO library_author (books_in_store, first_name, last_name) "
                                   "VALUES (?, ?, ?) RETURNING id, first_name, last_name, books_in_store, store",
                    soci::into(id), soci::into(first_out), soci::into(last_out), soci::into(books),
                    soci::into(store, store_ind), soci::use(zero), soci::use(first), soci::use(last)));
  }

  SociAuthor current() const {
    return SociAuthor{id, first_out, last_out, books,
                      store_ind == soci::i_ok ? std::optional<std::string>(store) : std::nullopt};
  }
};

SociPeer::SociPeer(const std::string& path, int busy_timeout_ms)
    : impl_(std::make_unique<Impl>(path, busy_timeout_ms)) {}
SociPeer::~SociPeer() = default;

std::optional<SociAuthor> SociPeer::find(const std::string& first, const std::string& last) {
  Impl& m = *impl_;
  m.first = first;
  m.last = last;
  std::optional<SociAuthor> out;
  if (m.select->execute(true)) {
    out = m.current();
    if (m.select->fetch()) throw std::runtime_error("soci: several rows");
  }
  return out;
}

std::pair<SociAuthor, bool> SociPeer::get_or_create(const std::string& first, const std::string& last) {
  if (auto found = find(first, last)) return {std::move(*found), false};
  Impl& m = *impl_;
  m.sql << "BEGIN IMMEDIATE";
  try {
    if (!m.insert->execute(true)) throw std::runtime_error("soci: INSERT returned no row");
    SociAuthor created = m.current();
    m.insert->fetch();
    m.sql << "COMMIT";
    return {std::move(created), true};
  } catch (const soci::sqlite3_soci_error& e) {
    m.sql << "ROLLBACK";
    if ((e.result() & 0xff) == kConstraint) {
      if (auto found = find(first, last)) return {std::move(*found), false};
    }
    throw;
  }
}

void SociPeer::begin() { impl_->sql << "BEGIN IMMEDIATE"; }
void SociPeer::commit() { impl_->sql << "COMMIT"; }

}  // namespace gocp::bench
