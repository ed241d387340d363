#pragma once
// Moved to <gocp/backends/sqlite.hpp>; kept so existing includes still compile.
#include "../backends/sqlite.hpp"
#include "database.hpp"
