#pragma once
/// \file
/// Everything in gocp that needs no third-party client beyond SQLite.

#include "db/database.hpp"
#include "db/sqlite.hpp"
#include "db/transaction.hpp"
#include "errors.hpp"
#include "model.hpp"
#include "query.hpp"
#include "repository.hpp"
#include "value.hpp"
