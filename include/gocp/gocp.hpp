#pragma once
/// \file
/// Everything in gocp that needs no third-party client beyond SQLite: the core, the
/// SQLite backend and the in-process caches.
///
/// The layers, each including only itself and those below (CTest `compile.layers`
/// checks it against the table in cmake/gocpCheckLayers.cmake):
///
///     gocp.hpp     this umbrella
///     orm          repository.hpp policy.hpp queryset.hpp executor.hpp schema.hpp
///                  relations.hpp relations/ policies/ orm/detail/
///     backends/    sqlite postgres redis memcached, backends/detail/
///     cache/       registry, coherence protocol, codec, locmem, cache/detail/
///     db/          Database, Transaction, pool, change stream
///     spi/         Connection, Dialect hooks, the Cache interface, Url, SchemeRegistry
///     vocabulary   errors value field_traits dialect model (model/) query stats
///     detail/      leaf utilities only: they include nothing of gocp outside detail/
///
/// A layer's internals live in `<layer>/detail/`, beside the layer they serve.

#include "backends/sqlite.hpp"
#include "bulk_create.hpp"
#include "spi/cache.hpp"
#include "cache/codec.hpp"
#include "cache/dummy.hpp"
#include "cache/locmem.hpp"
#include "cache/registry.hpp"
#include "db/cursor.hpp"
#include "db/database.hpp"
#include "db/transaction.hpp"
#include "errors.hpp"
#include "model.hpp"
#include "policies/always_get_or_create.hpp"
#include "policies/cached_get_or_create.hpp"
#include "policies/cached_queries.hpp"
#include "policies/non_atomic_get_or_create.hpp"
#include "query.hpp"
#include "relations.hpp"
#include "repository.hpp"
#include "stats.hpp"
#include "value.hpp"
