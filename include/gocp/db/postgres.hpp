#pragma once
// Moved to <gocp/backends/postgres.hpp>; kept so existing includes still compile.
#include "../backends/postgres.hpp"
#include "database.hpp"
