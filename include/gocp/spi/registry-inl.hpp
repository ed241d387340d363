#pragma once
/// \file
/// The definitions behind <gocp/spi/registry.hpp>: included by it in header-only mode,
/// compiled once by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp).

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "registry.hpp"

namespace gocp {

template <class F>
bool SchemeRegistry::add(std::string scheme, F Entry::*kind, F factory) {
  std::lock_guard lock(mutex_);
  entries_[std::move(scheme)].*kind = std::move(factory);
  return true;
}

template <class F>
F SchemeRegistry::find(std::string_view scheme, F Entry::*kind) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(scheme);
  return it == entries_.end() ? F{} : it->second.*kind;
}

template <class F>
std::string SchemeRegistry::list(F Entry::*kind) const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [scheme, entry] : entries_)
    if (entry.*kind) out += (out.empty() ? "" : ", ") + scheme;
  return out;
}

GOCP_INLINE SchemeRegistry& SchemeRegistry::global() {
  static SchemeRegistry registry;
  return registry;
}

GOCP_INLINE bool SchemeRegistry::add_database(std::string scheme, DatabaseFactory factory) {
  return add(std::move(scheme), &Entry::database, std::move(factory));
}

GOCP_INLINE bool SchemeRegistry::add_cache(std::string scheme, CacheFactory factory) {
  return add(std::move(scheme), &Entry::cache, std::move(factory));
}

GOCP_INLINE SchemeRegistry::DatabaseFactory SchemeRegistry::database(std::string_view scheme) const { return find(scheme, &Entry::database); }

GOCP_INLINE SchemeRegistry::CacheFactory SchemeRegistry::cache(std::string_view scheme) const { return find(scheme, &Entry::cache); }

GOCP_INLINE std::string SchemeRegistry::database_schemes() const { return list(&Entry::database); }

GOCP_INLINE std::string SchemeRegistry::cache_schemes() const { return list(&Entry::cache); }

}  // namespace gocp
