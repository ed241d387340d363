#pragma once
// compile.layers_refuse_upward: the ground floor including the vocabulary (refused)
#include "../model.hpp"
