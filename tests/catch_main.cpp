// The one translation unit that instantiates Catch2's main(); every gocp test
// binary links it (Catch2 v2 ships no Catch2WithMain library).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
