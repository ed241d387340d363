#pragma once
/// \file
/// The definitions behind <gocp/backends/memcached.hpp>: included by it, or compiled once by
/// src/memcached.cpp for gocp::memcached_compiled (detail/config.hpp).

#include <libmemcached/memcached.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../cache/cache.hpp"
#include "../cache/registry.hpp"
#include "../cache/shared.hpp"
#include "../cache/detail/cache_keys.hpp"
#include "detail/handle_pool.hpp"
#include "../errors.hpp"
#include "../spi/registry.hpp"
#include "../spi/url.hpp"
#include "memcached.hpp"

namespace gocp {
namespace detail {

struct MemcachedDeleter {
  void operator()(memcached_st* m) const noexcept { memcached_free(m); }
};
using MemcachedPtr = std::unique_ptr<memcached_st, MemcachedDeleter>;

/// A result on the stack: libmemcached frees a result it allocated itself when a fetch
/// ends, so a heap one would be freed twice.
class MemcachedResult {
 public:
  explicit MemcachedResult(memcached_st* m) {
    if (!memcached_result_create(m, &result_)) throw std::bad_alloc();
  }
  MemcachedResult(const MemcachedResult&) = delete;
  MemcachedResult& operator=(const MemcachedResult&) = delete;
  ~MemcachedResult() { memcached_result_free(&result_); }
  memcached_result_st* get() noexcept { return &result_; }

 private:
  memcached_result_st result_;
};

inline constexpr std::string_view memcached_hashed_mark = "gocp#";

struct MemcachedServer {
  std::string host;
  int port = 11211;
};

}  // namespace detail

/// The `memcached://` cache (see the file comment): SharedCache's keys, circuit breaker
/// and replay over a pool of libmemcached handles sharing one server list. Thread-safe.
class MemcachedCache final : public SharedCache {
 public:
  /// Made by the scheme's factory from a URL (CacheRegistry does it); `retry_s` is how
  /// long a failed server stays out of the ring. Throws ConfigurationError if
  /// libmemcached refuses a setting.
  MemcachedCache(std::vector<detail::MemcachedServer> servers, std::size_t pool_size, std::int64_t retry_s,
                 std::string redacted_url, const SharedCacheOptions& options)
      : SharedCache(redacted_url, options),
        master_(memcached_create(nullptr)),
        pool_([this] { return clone(); }, pool_size, options.timeout, std::move(redacted_url)),
        single_server_(servers.size() == 1) {
    if (!master_) throw std::bad_alloc();
    memcached_st* m = master_.get();
    const auto set = [&](memcached_behavior_t b, std::uint64_t v) {
      if (memcached_behavior_set(m, b, v) != MEMCACHED_SUCCESS)
        throw ConfigurationError("gocp: libmemcached refused a setting for '" + url() + "'");
    };
    set(MEMCACHED_BEHAVIOR_NO_BLOCK, 1);  // the timeouts below apply only to non-blocking I/O
    set(MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    set(MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, static_cast<std::uint64_t>(options.connect_timeout.count()));
    set(MEMCACHED_BEHAVIOR_POLL_TIMEOUT, static_cast<std::uint64_t>(options.timeout.count()));
    set(MEMCACHED_BEHAVIOR_SND_TIMEOUT, static_cast<std::uint64_t>(options.timeout.count()) * 1000);
    set(MEMCACHED_BEHAVIOR_RCV_TIMEOUT, static_cast<std::uint64_t>(options.timeout.count()) * 1000);
    set(MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);  // consistent hashing: a lost server moves only its keys
    if (servers.size() > 1) {  // leave a failed server out, so its keys go to the others
      set(MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 1);
      set(MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 1);
      set(MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, static_cast<std::uint64_t>(retry_s));
      set(MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, static_cast<std::uint64_t>(retry_s));
    } else {  // one server: the circuit breaker paces retries; the client may always try
      set(MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 0);
    }
    set(MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    for (const auto& s : servers)
      if (memcached_server_add(m, s.host.c_str(), static_cast<in_port_t>(s.port)) != MEMCACHED_SUCCESS)
        throw ConfigurationError("gocp: libmemcached refused the server '" + s.host + ":" + std::to_string(s.port) +
                                 "' of '" + url() + "'");
  }

 protected:
  void fetch(std::span<const std::string> keys, std::span<std::string> values, std::span<bool> found) override {
    auto lease = pool_.acquire();
    memcached_st* m = lease.get();
    // memcached answers each distinct key once: ask for each once, copy to repeats
    thread_local std::vector<const char*> ptrs;
    thread_local std::vector<std::size_t> lens, first;
    ptrs.clear();
    lens.clear();
    first.assign(keys.size(), 0);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      found[i] = false;
      first[i] = i;
      for (std::size_t j = 0; j < i; ++j)
        if (keys[j] == keys[i]) {
          first[i] = j;
          break;
        }
      if (first[i] == i) {
        ptrs.push_back(keys[i].data());
        lens.push_back(keys[i].size());
      }
    }
    check(m, memcached_mget(m, ptrs.data(), lens.data(), ptrs.size()), "get");
    detail::MemcachedResult result(m);
    memcached_return_t rc = MEMCACHED_SUCCESS;
    while (memcached_fetch_result(m, result.get(), &rc)) {
      const std::string_view key(memcached_result_key_value(result.get()), memcached_result_key_length(result.get()));
      for (std::size_t i = 0; i < keys.size(); ++i)
        if (first[i] == i && keys[i] == key) {
          values[i].assign(memcached_result_value(result.get()), memcached_result_length(result.get()));
          found[i] = true;
        }
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND && rc != MEMCACHED_SUCCESS) check(m, rc, "get");
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (first[i] != i && found[first[i]]) {
        values[i] = values[first[i]];
        found[i] = true;
      }
  }

  void store(std::span<const std::pair<std::string_view, std::string_view>> items, Ttl ttl) override {
    auto lease = pool_.acquire();
    memcached_st* m = lease.get();
    for (const auto& [key, value] : items) {
      const auto rc = memcached_set(m, key.data(), key.size(), value.data(), value.size(), expiration(ttl), 0);
      if (too_big(rc)) {
        count_oversize();
        erase_one(m, key);  // the cache must never keep an older value than the one set
        continue;
      }
      check(m, rc, "set");
    }
  }

  bool store_if_absent(std::string_view key, std::string_view value, Ttl ttl) override {
    auto lease = pool_.acquire();
    memcached_st* m = lease.get();
    const auto rc = memcached_add(m, key.data(), key.size(), value.data(), value.size(), expiration(ttl), 0);
    if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS) return false;
    if (too_big(rc)) {
      count_oversize();
      return false;
    }
    check(m, rc, "add");
    return true;
  }

  std::size_t erase(std::span<const std::string> keys) override {
    auto lease = pool_.acquire();
    std::size_t n = 0;
    for (const auto& k : keys) n += erase_one(lease.get(), k) ? 1 : 0;
    return n;
  }

  std::optional<std::int64_t> add_to(std::string_view key, std::int64_t delta) override {
    // memcached's incr is unsigned, decr stops at 0, and its parser takes " 7" and "7 ":
    // read with the CAS token, add in int64, write back only if unchanged meanwhile.
    auto lease = pool_.acquire();
    memcached_st* m = lease.get();
    const char* ptr = key.data();
    const std::size_t len = key.size();
    detail::MemcachedResult result(m);
    for (int attempt = 0; attempt < 64; ++attempt) {
      check(m, memcached_mget(m, &ptr, &len, 1), "gets");
      memcached_return_t rc = MEMCACHED_SUCCESS;
      bool have = false;
      std::string current;
      std::uint64_t cas = 0;
      std::uint32_t flags = 0;
      while (memcached_fetch_result(m, result.get(), &rc)) {
        have = true;
        current.assign(memcached_result_value(result.get()), memcached_result_length(result.get()));
        cas = memcached_result_cas(result.get());
        flags = memcached_result_flags(result.get());
      }
      if (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND && rc != MEMCACHED_SUCCESS) check(m, rc, "gets");
      if (!have) return std::nullopt;
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(current.data(), current.data() + current.size(), n);
      if (current.empty() || ec != std::errc{} || end != current.data() + current.size()) return std::nullopt;
      std::int64_t sum = 0;
      if (__builtin_add_overflow(n, delta, &sum)) return std::nullopt;
      const std::string next = std::to_string(sum);
      const auto stored = memcached_cas(m, ptr, len, next.data(), next.size(), expiration(Ttl{0}), flags, cas);
      if (stored == MEMCACHED_SUCCESS) return sum;
      if (stored == MEMCACHED_NOTFOUND) return std::nullopt;
      if (stored != MEMCACHED_DATA_EXISTS) check(m, stored, "cas");
    }
    throw CacheError("gocp: memcached increment kept losing its compare-and-set race (" + url() + ")");
  }

  void ping() override {
    // a get, not `version`: it asks only the server a key maps to, so one dead server
    // among several (being left out) does not keep the circuit open
    static const std::string probe = "gocp#probe";
    std::string value;
    bool found = false;
    fetch({&probe, 1}, {&value, 1}, {&found, 1});
  }

  void erase_all() override {
    auto lease = pool_.acquire();
    check(lease.get(), memcached_flush(lease.get(), 0), "flush_all");
  }

  void adapt_key(std::string& key) const override {
    if (key.size() <= 250 && detail::key_safe(key) && !key.starts_with(detail::memcached_hashed_mark)) return;
    detail::Hash128 h;
    h.add(std::string_view(key));
    std::string out(detail::memcached_hashed_mark);
    detail::append_hex(out, h.finished());
    key = std::move(out);
  }

 private:
  using Pool = detail::HandlePool<detail::MemcachedPtr>;

  /// One server: a handle that saw it fail keeps it marked failed ("SERVER HAS FAILED AND
  /// IS DISABLED UNTIL TIMED RETRY") for a second or more, even after it is back, so after
  /// any failure every pooled handle is replaced, when next seen, by a fresh clone of the
  /// master (which never talks to a server): the first probe after a restart reaches it.
  /// Several: the handles keep what they learnt, a failed server left out of the ring
  /// for `retry_s` (a fresh clone would send its keys to it again).
  void on_failure() noexcept override {
    if (single_server_) pool_.retire_all();
  }

  detail::MemcachedPtr clone() {
    detail::MemcachedPtr c(memcached_clone(nullptr, master_.get()));
    if (!c) throw std::bad_alloc();
    return c;
  }

  time_t expiration(Ttl ttl) const noexcept {
    const Ttl t = ttl.count() == 0 ? options().default_ttl : ttl;
    // memcached reads more than 30 days as an absolute Unix time
    if (t.count() > 30LL * 24 * 60 * 60) return std::time(nullptr) + static_cast<time_t>(t.count());
    return static_cast<time_t>(t.count());
  }

  static bool too_big(memcached_return_t rc) noexcept { return rc == MEMCACHED_E2BIG; }

  bool erase_one(memcached_st* m, std::string_view key) {
    const auto rc = memcached_delete(m, key.data(), key.size(), 0);
    if (rc == MEMCACHED_NOTFOUND) return false;
    check(m, rc, "delete");
    return true;
  }

  /// Throws the typed error for a failed libmemcached call.
  void check(memcached_st* m, memcached_return_t rc, const char* verb) const {
    if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_STORED || rc == MEMCACHED_DELETED || rc == MEMCACHED_END ||
        rc == MEMCACHED_BUFFERED)
      return;
    const std::string what = std::string("gocp: memcached ") + verb + " failed: " + memcached_last_error_message(m) +
                             " (" + url() + ")";
    switch (rc) {
      case MEMCACHED_TIMEOUT:
        throw CacheTimeout(what);
      case MEMCACHED_CONNECTION_FAILURE:
      case MEMCACHED_CONNECTION_SOCKET_CREATE_FAILURE:
      case MEMCACHED_HOST_LOOKUP_FAILURE:
      case MEMCACHED_WRITE_FAILURE:
      case MEMCACHED_READ_FAILURE:
      case MEMCACHED_UNKNOWN_READ_FAILURE:
      case MEMCACHED_PARTIAL_READ:
      case MEMCACHED_ERRNO:
      case MEMCACHED_SERVER_MARKED_DEAD:
      case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
      case MEMCACHED_NO_SERVERS:
      case MEMCACHED_SOME_ERRORS:
      case MEMCACHED_IN_PROGRESS:
        throw CacheUnavailable(what);
      default:
        throw CacheError(what);
    }
  }

  detail::MemcachedPtr master_;
  Pool pool_;
  bool single_server_;  ///< one server in the URL: on_failure() replaces the pooled handles
};

namespace detail {

/// "h1:p1,h2:p2": Url reads the authority's last ':' as the port, so the list is put
/// back together from host and port, then split.
inline std::vector<MemcachedServer> memcached_servers(const Url& url) {
  const std::string all = url.host() + (url.port() ? ":" + std::to_string(url.port()) : std::string());
  std::vector<MemcachedServer> out;
  std::size_t at = 0;
  while (at <= all.size()) {
    const auto comma = all.find(',', at);
    const std::string one = all.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    const auto colon = one.rfind(':');
    MemcachedServer s;
    s.host = one.substr(0, colon);
    if (colon != std::string::npos) {
      const std::string port = one.substr(colon + 1);
      int n = 0;
      auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
      if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || n < 1 || n > 65535)
        throw ConfigurationError("gocp: bad port '" + port + "' for server '" + s.host + "' in URL '" +
                                 url.redacted() + "'");
      s.port = n;
    }
    if (s.host.empty())
      throw ConfigurationError("gocp: an empty server in URL '" + url.redacted() +
                               "' (expected memcached://host:port[,host:port...])");
    out.push_back(std::move(s));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

GOCP_MEMCACHED_INLINE std::shared_ptr<Cache> memcached_cache(Url& url) {
  if (!url.path().empty())
    throw ConfigurationError("gocp: a memcached URL has no path ('" + url.path() + "') in '" + url.redacted() + "'");
  auto servers = memcached_servers(url);
  const auto pool = static_cast<std::size_t>(url.take_int("pool", 8, 1, 1024));
  const auto retry_s = url.take_int("retry_s", 1, 1, 3600);
  const auto options = SharedCacheOptions::from(url);
  return std::make_shared<MemcachedCache>(std::move(servers), pool, retry_s, url.redacted(), options);
}

}  // namespace detail

}  // namespace gocp
