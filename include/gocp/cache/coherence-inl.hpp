#pragma once
/// \file
/// The definitions behind <gocp/cache/coherence.hpp>: included by it in header-only mode,
/// compiled once by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp).

#include <cstdint>
#include <random>

#include "coherence.hpp"

namespace gocp::detail {

GOCP_INLINE std::int64_t fresh_generation() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32)};
  return static_cast<std::int64_t>(rng() >> 2) + 1;  // positive, far from small counters
}

}  // namespace gocp::detail
