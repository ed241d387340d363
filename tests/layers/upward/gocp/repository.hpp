#pragma once
#include "db/pool.hpp"
