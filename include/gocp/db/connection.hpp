#pragma once
// Moved to <gocp/spi/connection.hpp>; kept so existing includes still compile.
#include "../spi/connection.hpp"
