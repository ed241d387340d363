#pragma once
/// \file
/// Header-only or compiled: which of the two ways the library's non-template code is built.
///
/// By default gocp is header-only: every function is defined in the headers, `inline`, and
/// compiled again in every translation unit that includes them. A program with many
/// translation units can link the CMake target `gocp::gocp_compiled` instead of
/// `gocp::gocp` (fmt's and spdlog's pattern): its sources (src/*.cpp) compile the
/// non-template code of the URL parser, the SQLite backend, Database::open and
/// transactions, the cache registry, and the ORM's steps that are the same for every
/// model (schema checks, the query cache's versions and lookups, the delete cascade)
/// once, and it defines `GOCP_COMPILED` for its users, so the headers then only declare
/// those functions (their definitions live in the `*-inl.hpp` headers, which only the
/// header-only mode and the library's own sources include). Templates (the ORM's
/// per-model code) are compiled where they are used in both modes.

/// `inline` for a definition in a `*-inl.hpp` header in header-only mode; nothing in
/// compiled mode, where the library's sources hold the one definition.
#if defined(GOCP_COMPILED)
#define GOCP_INLINE
#else
#define GOCP_INLINE inline
#endif
