#pragma once
// The database a backend-neutral test runs against: a fresh SQLite file inside `dir`, or,
// with GOCP_TEST_DATABASE=postgres in the environment, a fresh database on the process's
// throwaway PostgreSQL cluster (started on first use). One binary serves both
// (test_repository runs as test_repository.* and test_repository_pg.*).

#include <string>

#include "backend_under_test.hpp"
#include "temp_dir.hpp"

#ifdef GOCP_TEST_HAVE_POSTGRES
#include <gocp/backends/postgres.hpp>

#include "postgres_server.hpp"
#endif

namespace gocp::test {

/// True when this run is on PostgreSQL.
inline bool testing_postgres() {
  static const bool postgres = backend_from_environment("GOCP_TEST_DATABASE", "sqlite",
                                                        {"sqlite",
#ifdef GOCP_TEST_HAVE_POSTGRES
                                                         "postgres"
#endif
                                                        }) == "postgres";
  return postgres;
}

inline std::string database_url([[maybe_unused]] const TempDir& dir) {
#ifdef GOCP_TEST_HAVE_POSTGRES
  if (testing_postgres()) return PostgresServer::instance().create_database();
#endif
  return dir.sqlite_url();
}

}  // namespace gocp::test
