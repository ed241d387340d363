// gocp::gocp_compiled: the library's non-template code, compiled once (detail/config.hpp).
// Built with GOCP_COMPILED defined, so the headers only declare these functions and the
// `*-inl.hpp` headers below hold their one definition each.
#if !defined(GOCP_COMPILED)
#error "src/gocp.cpp is built by the gocp::gocp_compiled target, which defines GOCP_COMPILED"
#endif

#include <gocp/backends/sqlite-inl.hpp>
#include <gocp/spi/url-inl.hpp>
#include <gocp/db/pool-inl.hpp>
#include <gocp/db/database-inl.hpp>
#include <gocp/db/transaction-inl.hpp>
#include <gocp/db/change_stream-inl.hpp>
#include <gocp/db/detail/identity-inl.hpp>
#include <gocp/cache/coherence-inl.hpp>
#include <gocp/cache/registry-inl.hpp>
#include <gocp/cache/query_cache-inl.hpp>
#include <gocp/spi/registry-inl.hpp>
#include <gocp/cache/codec-inl.hpp>
#include <gocp/orm/detail/sql-inl.hpp>
#include <gocp/orm/detail/cascade-inl.hpp>
#include <gocp/orm/detail/select-inl.hpp>
#include <gocp/schema-inl.hpp>
#include <gocp/detail/reverse_relations-inl.hpp>
#include <gocp/model/info-inl.hpp>
#include <gocp/cache/detail/query_dependencies-inl.hpp>
#include <gocp/cache/detail/reference_hints-inl.hpp>
#include <gocp/cache/detail/fill_turns-inl.hpp>
