#pragma once
// The database a backend-neutral test runs against: a fresh SQLite file inside `dir`,
// or, in a binary compiled with GOCP_TEST_POSTGRES, a fresh database on the process's
// throwaway PostgreSQL cluster (started on first use). The same test source is built
// once per backend (test_repository / test_repository_pg).

#include <string>

#include "temp_dir.hpp"

#ifdef GOCP_TEST_POSTGRES
#include <gocp/backends/postgres.hpp>

#include "postgres_server.hpp"
#endif

namespace gocp::test {

inline std::string database_url([[maybe_unused]] const TempDir& dir) {
#ifdef GOCP_TEST_POSTGRES
  return PostgresServer::instance().create_database();
#else
  return dir.sqlite_url();
#endif
}

}  // namespace gocp::test
