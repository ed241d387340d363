#pragma once
// compile.layers_refuse_upward: the db layer including the ORM above it (refused)
#include "../repository.hpp"
