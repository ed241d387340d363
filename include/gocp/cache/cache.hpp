#pragma once
// The Cache interface lives in spi/cache.hpp (the extension points); kept for includes of the old path.
#include "../spi/cache.hpp"
