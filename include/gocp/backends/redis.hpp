#pragma once
/// \file
/// The Redis cache, over hiredis (0.14, RESP2). Including this header registers the
/// `redis://` and `redis+unix://` cache schemes; link `gocp::redis`.
///
///     #include <gocp/backends/redis.hpp>
///     gocp::CacheRegistry caches{{"default", "redis://127.0.0.1:6379/0?timeout_ms=100"},
///                                {"library.author", "redis://:secret@cache1:6379/1?key_prefix=shop"}};
///
/// URLs: `redis://[[user]:password@]host[:port][/db]` (port 6379, db 0) and
/// `redis+unix:///path/to/redis.sock?db=N` (not `unix://`: a socket path says nothing
/// about which server speaks on it, and memcached listens on sockets too). Options:
/// `pool` (connections, 8; a caller waits up to timeout_ms for one), and SharedCache's
/// (cache/shared.hpp): timeout_ms, connect_timeout_ms, key_prefix, version, ttl_s,
/// retry_ms, max_retry_ms, max_pending.
///
/// One round trip per verb: get_many is MGET; set_many one pipeline of `SET k v [EX t]`;
/// add is `SET NX`; increment a script that never creates a missing key (INCRBY would)
/// and answers nullopt for a non-integer or an overflow, as memcached and Django do.
/// A failed connection is closed, and after any failure every pooled one is replaced.

#include <hiredis/hiredis.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/time.h>
#include <utility>
#include <vector>

#include "../cache/cache.hpp"
#include "../cache/registry.hpp"
#include "../cache/shared.hpp"
#include "../detail/handle_pool.hpp"
#include "../errors.hpp"
#include "../spi/registry.hpp"
#include "../spi/url.hpp"

namespace gocp {
namespace detail {

struct RedisContextDeleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
struct RedisReplyDeleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

inline timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

/// Where and how to connect, from the URL.
struct RedisEndpoint {
  std::string host;  // empty for a Unix socket
  int port = 6379;
  std::string socket_path;
  std::string user, password;
  std::int64_t db = 0;
};

}  // namespace detail

/// The `redis://` / `redis+unix://` cache (see the file comment): SharedCache's keys,
/// circuit breaker and replay over a pool of hiredis connections. Thread-safe.
class RedisCache final : public SharedCache {
 public:
  /// Made by the scheme's factory from a URL (CacheRegistry does it); connects lazily,
  /// up to `pool_size` connections.
  RedisCache(detail::RedisEndpoint endpoint, std::size_t pool_size, std::string redacted_url,
             const SharedCacheOptions& options)
      : SharedCache(redacted_url, options),
        endpoint_(std::move(endpoint)),
        pool_([this] { return connect(); }, pool_size, options.timeout, std::move(redacted_url)) {}

  /// Round trips made so far (every command or pipeline sent), for benchmarks and tests.
  std::uint64_t round_trips() const noexcept { return round_trips_.load(std::memory_order_relaxed); }

 protected:
  void fetch(std::span<const std::string> keys, std::span<std::string> values, std::span<bool> found) override {
    Args& a = args();
    a.start("MGET");
    for (const auto& k : keys) a.add(k);
    auto reply = run(a);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != keys.size())
      throw CacheError("gocp: redis answered MGET with a malformed reply (" + url() + ")");
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const redisReply* r = reply->element[i];
      found[i] = r->type == REDIS_REPLY_STRING;
      if (found[i]) values[i].assign(r->str, r->len);
      else if (r->type != REDIS_REPLY_NIL)
        throw CacheError("gocp: redis answered MGET with a non-string (" + url() + ")");
    }
  }

  void store(std::span<const std::pair<std::string_view, std::string_view>> items, Ttl ttl) override {
    auto lease = pool_.acquire();
    redisContext* c = lease.get();
    const std::string seconds = std::to_string(ttl.count());
    Args& a = args();
    for (const auto& [key, value] : items) {
      a.start("SET");
      a.add(key);
      a.add(value);
      if (ttl.count() > 0) {
        a.add("EX");
        a.add(seconds);
      }
      if (redisAppendCommandArgv(c, a.argc(), a.argv(), a.lens()) != REDIS_OK) fail_io(lease, c);
    }
    round_trips_.fetch_add(1, std::memory_order_relaxed);
    std::string error;
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto reply = read_reply(lease, c);  // read every reply, so the connection stays in step
      if (reply->type == REDIS_REPLY_ERROR && error.empty()) error.assign(reply->str, reply->len);
    }
    if (!error.empty()) throw CacheError("gocp: redis refused SET: " + error + " (" + url() + ")");
  }

  bool store_if_absent(std::string_view key, std::string_view value, Ttl ttl) override {
    Args& a = args();
    a.start("SET");
    a.add(key);
    a.add(value);
    a.add("NX");
    const std::string seconds = std::to_string(ttl.count());
    if (ttl.count() > 0) {
      a.add("EX");
      a.add(seconds);
    }
    auto reply = run(a);
    if (reply->type == REDIS_REPLY_NIL) return false;
    if (reply->type == REDIS_REPLY_STATUS) return true;
    throw CacheError("gocp: redis answered SET NX with a malformed reply (" + url() + ")");
  }

  std::size_t erase(std::span<const std::string> keys) override {
    Args& a = args();
    a.start("DEL");
    for (const auto& k : keys) a.add(k);
    auto reply = run(a);
    if (reply->type != REDIS_REPLY_INTEGER) throw CacheError("gocp: redis answered DEL with a non-integer (" + url() + ")");
    return static_cast<std::size_t>(reply->integer);
  }

  std::optional<std::int64_t> add_to(std::string_view key, std::int64_t delta) override {
    // INCRBY would create a missing key, and fails on a non-integer or an overflow:
    // the script makes those nullopt (nil), in one round trip. It answers the stored
    // text, not INCRBY's number: Lua's numbers are doubles, exact only to 2^53.
    static constexpr std::string_view script =
        "if redis.call('exists', KEYS[1]) == 0 then return false end "
        "local r = redis.pcall('incrby', KEYS[1], ARGV[1]) "
        "if type(r) == 'table' and r.err then return false end "
        "return redis.call('get', KEYS[1])";
    const std::string d = std::to_string(delta);
    Args& a = args();
    a.start("EVAL");
    a.add(script);
    a.add("1");
    a.add(key);
    a.add(d);
    auto reply = run(a);
    if (reply->type == REDIS_REPLY_NIL) return std::nullopt;
    std::int64_t n = 0;
    if (reply->type == REDIS_REPLY_STRING) {
      auto [end, ec] = std::from_chars(reply->str, reply->str + reply->len, n);
      if (ec == std::errc{} && end == reply->str + reply->len) return n;
    }
    throw CacheError("gocp: redis answered the increment script with a malformed reply (" + url() + ")");
  }

  void ping() override {
    Args& a = args();
    a.start("PING");
    auto reply = run(a);
    if (reply->type != REDIS_REPLY_STATUS) throw CacheError("gocp: redis answered PING oddly (" + url() + ")");
  }

  void erase_all() override {
    // SCAN ... MATCH <escaped key head>*, deleting each batch
    std::string pattern;
    for (char ch : key_head()) {
      if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') pattern += '\\';
      pattern += ch;
    }
    pattern += '*';
    std::string cursor = "0";
    do {
      Args& a = args();
      a.start("SCAN");
      a.add(cursor);
      a.add("MATCH");
      a.add(pattern);
      a.add("COUNT");
      a.add("1000");
      auto reply = run(a);
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_STRING ||
          reply->element[1]->type != REDIS_REPLY_ARRAY)
        throw CacheError("gocp: redis answered SCAN with a malformed reply (" + url() + ")");
      cursor.assign(reply->element[0]->str, reply->element[0]->len);
      std::vector<std::string> keys;
      for (std::size_t i = 0; i < reply->element[1]->elements; ++i)
        keys.emplace_back(reply->element[1]->element[i]->str, reply->element[1]->element[i]->len);
      if (!keys.empty()) erase(keys);
    } while (cursor != "0");
  }

  void on_failure() noexcept override { pool_.retire_all(); }

 private:
  /// A command's arguments, binary-safe (hiredis's argv form), reused per thread.
  struct Args {
    std::vector<const char*> ptrs;
    std::vector<std::size_t> lengths;
    void start(std::string_view command) {
      ptrs.clear();
      lengths.clear();
      add(command);
    }
    void add(std::string_view s) {
      ptrs.push_back(s.data());
      lengths.push_back(s.size());
    }
    int argc() const { return static_cast<int>(ptrs.size()); }
    const char** argv() { return ptrs.data(); }
    const std::size_t* lens() const { return lengths.data(); }
  };
  static Args& args() {
    thread_local Args a;
    return a;
  }

  using Pool = detail::HandlePool<detail::RedisContextPtr>;

  /// Sends one command and reads its reply; an error reply is a CacheError (the
  /// connection stays usable), a broken connection CacheTimeout / CacheUnavailable.
  detail::RedisReplyPtr run(Args& a) {
    auto lease = pool_.acquire();
    redisContext* c = lease.get();
    round_trips_.fetch_add(1, std::memory_order_relaxed);
    detail::RedisReplyPtr reply(static_cast<redisReply*>(redisCommandArgv(c, a.argc(), a.argv(), a.lens())));
    if (!reply) fail_io(lease, c);
    if (reply->type == REDIS_REPLY_ERROR)
      throw CacheError("gocp: redis error: " + std::string(reply->str, reply->len) + " (" + url() + ")");
    return reply;
  }

  detail::RedisReplyPtr read_reply(Pool::Lease& lease, redisContext* c) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || !raw) fail_io(lease, c);
    return detail::RedisReplyPtr(static_cast<redisReply*>(raw));
  }

  [[noreturn]] void fail_io(Pool::Lease& lease, redisContext* c) {
    const int saved_errno = errno;
    lease.discard();
    throw_io(c, saved_errno, "");
  }

  [[noreturn]] void throw_io(const redisContext* c, int saved_errno, const char* during) const {
    const std::string what = std::string("gocp: redis ") + during + (c ? c->errstr : "out of memory") + " (" + url() + ")";
    if (c && c->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT ||
                                        saved_errno == EINPROGRESS))
      throw CacheTimeout(what + ": no answer within its timeout");
    if (c && (c->err == REDIS_ERR_PROTOCOL || c->err == REDIS_ERR_OOM)) throw CacheError(what);
    throw CacheUnavailable(what);
  }

  detail::RedisContextPtr connect() {
    const timeval connect_tv = detail::to_timeval(options().connect_timeout);
    detail::RedisContextPtr c(endpoint_.socket_path.empty()
                                  ? redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, connect_tv)
                                  : redisConnectUnixWithTimeout(endpoint_.socket_path.c_str(), connect_tv));
    if (!c || c->err) throw_io(c.get(), errno, "cannot connect: ");
    if (redisSetTimeout(c.get(), detail::to_timeval(options().timeout)) != REDIS_OK)
      throw_io(c.get(), errno, "cannot set the timeout: ");
    auto setup = [&](std::initializer_list<std::string_view> words, const char* what) {
      std::vector<const char*> argv;
      std::vector<std::size_t> lens;
      for (auto w : words) {
        argv.push_back(w.data());
        lens.push_back(w.size());
      }
      round_trips_.fetch_add(1, std::memory_order_relaxed);
      detail::RedisReplyPtr r(
          static_cast<redisReply*>(redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
      if (!r) throw_io(c.get(), errno, what);
      if (r->type == REDIS_REPLY_ERROR)
        throw CacheError(std::string("gocp: redis ") + what + std::string(r->str, r->len) + " (" + url() + ")");
    };
    if (!endpoint_.password.empty()) {
      if (endpoint_.user.empty()) setup({"AUTH", endpoint_.password}, "refused AUTH: ");
      else setup({"AUTH", endpoint_.user, endpoint_.password}, "refused AUTH: ");
    }
    if (endpoint_.db != 0) {
      const std::string db = std::to_string(endpoint_.db);
      setup({"SELECT", db}, "refused SELECT: ");
    }
    return c;
  }

  detail::RedisEndpoint endpoint_;
  Pool pool_;
  std::atomic<std::uint64_t> round_trips_{0};
};

namespace detail {

inline std::int64_t redis_db_number(const std::string& text, const Url& url) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n < 0 || n > 1'000'000)
    throw ConfigurationError("gocp: the Redis database must be a number from 0 (got '" + text + "') in URL '" +
                             url.redacted() + "'");
  return n;
}

inline std::shared_ptr<Cache> redis_cache(Url& url, bool unix_socket) {
  RedisEndpoint e;
  if (unix_socket) {
    if (!url.host().empty() || url.port() != 0)
      throw ConfigurationError("gocp: a redis+unix URL names a socket path, not a host: '" + url.redacted() +
                               "' (expected redis+unix:///path/to/redis.sock?db=N)");
    e.socket_path = "/" + url.path();
    if (url.path().empty())
      throw ConfigurationError("gocp: no socket path in URL '" + url.redacted() + "'");
    e.db = redis_db_number(url.take("db").value_or("0"), url);
  } else {
    if (url.host().empty())
      throw ConfigurationError("gocp: no host in Redis URL '" + url.redacted() +
                               "' (expected redis://[:password@]host[:port][/db])");
    e.host = url.host();
    if (url.port() != 0) e.port = url.port();
    e.db = url.path().empty() ? 0 : redis_db_number(url.path(), url);
  }
  e.user = url.user();
  e.password = url.password();
  const auto pool = static_cast<std::size_t>(url.take_int("pool", 8, 1, 1024));
  const auto options = SharedCacheOptions::from(url);
  return std::make_shared<RedisCache>(std::move(e), pool, url.redacted(), options);
}

}  // namespace detail

/// True once `redis` and `redis+unix` are registered: its initializer is the
/// registration, run when a program includes this header.
inline const bool redis_registered =
    register_cache_scheme("redis", [](Url& url) { return detail::redis_cache(url, false); }) &&
    register_cache_scheme("redis+unix", [](Url& url) { return detail::redis_cache(url, true); });

}  // namespace gocp
