#pragma once
/// \file
/// Everything in gocp that needs no third-party client beyond SQLite: the core, the
/// SQLite backend and the in-process caches.

#include "backends/sqlite.hpp"
#include "spi/cache.hpp"
#include "cache/codec.hpp"
#include "cache/dummy.hpp"
#include "cache/locmem.hpp"
#include "cache/registry.hpp"
#include "db/database.hpp"
#include "db/transaction.hpp"
#include "errors.hpp"
#include "model.hpp"
#include "policies/always_get_or_create.hpp"
#include "policies/cached_get_or_create.hpp"
#include "policies/non_atomic_get_or_create.hpp"
#include "query.hpp"
#include "relations.hpp"
#include "repository.hpp"
#include "stats.hpp"
#include "value.hpp"
