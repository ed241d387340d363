#pragma once
/// \file
/// The definitions behind <gocp/backends/redis.hpp>: included by it, or compiled once by
/// src/redis.cpp for gocp::redis_compiled (detail/config.hpp).

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <exception>
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
#include "detail/handle_pool.hpp"
#include "../detail/sha1.hpp"
#include "../errors.hpp"
#include "../spi/registry.hpp"
#include "../spi/url.hpp"
#include "redis.hpp"

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

/// A command, or a pipeline of them, in RESP, written into a buffer that keeps its
/// capacity: sent as is with redisAppendFormattedCommand.
class RespCommands {
 public:
  /// Starts a command of `argc` arguments (its name included); earlier ones stay queued.
  RespCommands& start(std::size_t argc) {
    out_ += '*';
    number(argc);
    ++count_;
    return *this;
  }
  /// One argument, the bytes of `a` then of `b`: a prefixed key needs no string of its own.
  RespCommands& arg(std::string_view a, std::string_view b = {}) {
    out_ += '$';
    number(a.size() + b.size());
    out_ += a;
    out_ += b;
    out_ += "\r\n";
    return *this;
  }
  /// A decimal integer argument.
  RespCommands& arg(std::int64_t n) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    return arg(std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
  /// Forgets every queued command.
  void clear() noexcept {
    out_.clear();
    count_ = 0;
  }
  /// The commands queued, and their bytes.
  std::size_t count() const noexcept { return count_; }
  const std::string& bytes() const noexcept { return out_; }

 private:
  void number(std::size_t n) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out_.append(digits, end);
    out_ += "\r\n";
  }
  std::string out_;
  std::size_t count_ = 0;
};

/// Reads one MGET reply into caller's buffers through hiredis's reply-object hooks, in
/// place of a redisReply tree (an allocation and a copy per value).
struct MgetSink {
  std::span<std::string> values;  ///< values[i] for the reply's element i
  std::span<bool> found;          ///< found[i]: element i was a string (not nil)
  long long elements = -1;        ///< the array's length (-1: no array came)
  bool malformed = false;         ///< anything but an array of strings and nils, of the right length
  std::string error;              ///< an error reply's text

  /// Reads the next reply on `c`; false if the connection failed.
  bool read(redisContext* c) {
    static redisReplyObjectFunctions functions{string, array, integer, nil, [](void*) {}};
    redisReplyObjectFunctions* saved = c->reader->fn;
    current() = this;
    c->reader->fn = &functions;
    void* reply = nullptr;
    const int rc = redisGetReply(c, &reply);
    c->reader->fn = saved;
    current() = nullptr;
    return rc == REDIS_OK && reply;
  }

 private:
  static MgetSink*& current() {
    thread_local MgetSink* sink = nullptr;
    return sink;
  }
  /// The slot of an element, or nullptr (and malformed) for anything but a top-level array's.
  static MgetSink* element(const redisReadTask* t) {
    MgetSink* s = current();
    if (!t->parent || t->parent->parent || t->idx < 0 || static_cast<std::size_t>(t->idx) >= s->values.size())
      s->malformed = true;
    return s;
  }
  static void* string(const redisReadTask* t, char* str, size_t len) {
    MgetSink* s = current();
    if (!t->parent) {
      if (t->type == REDIS_REPLY_ERROR) s->error.assign(str, len);
      else s->malformed = true;
      return s;
    }
    element(t);
    if (s->malformed || t->type != REDIS_REPLY_STRING) {
      s->malformed = true;
      return s;
    }
    try {
      s->values[static_cast<std::size_t>(t->idx)].assign(str, len);
      s->found[static_cast<std::size_t>(t->idx)] = true;
    } catch (...) {  // out of memory: never through hiredis's C
      s->malformed = true;
    }
    return s;
  }
  static void* array(const redisReadTask* t, int n) {
    MgetSink* s = current();
    if (t->parent) s->malformed = true;
    else s->elements = n;
    return s;
  }
  static void* integer(const redisReadTask*, long long) {
    current()->malformed = true;
    return current();
  }
  static void* nil(const redisReadTask* t) {
    MgetSink* s = current();
    if (!t->parent) s->malformed = true;
    else element(t);
    return s;
  }
};

/// A script the cache runs by EVALSHA, with its body for SCRIPT LOAD.
struct RedisScript {
  std::string_view body;  ///< the Lua source
  std::string sha;        ///< its SHA1 (detail::sha1_hex), EVALSHA's name for it
};

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

 protected:
  void fetch(std::span<const std::string> keys, std::span<std::string> values, std::span<bool> found) override {
    // many keys: MGETs of kMgetChunk keys, pipelined (one round trip), so that the
    // server looks up the next chunk while this thread parses the last one
    constexpr std::size_t kMgetChunk = 256;
    detail::RespCommands& cmd = commands();
    for (std::size_t at = 0; at < keys.size(); at += kMgetChunk) {
      const auto part = keys.subspan(at, std::min(kMgetChunk, keys.size() - at));
      cmd.start(1 + part.size()).arg("MGET");
      for (const auto& k : part) cmd.arg(k);
    }
    auto lease = pool_.acquire();
    redisContext* c = lease.get();
    send(lease, c, cmd.bytes());
    // the replies' values are parsed straight into the caller's strings (which keep
    // their capacity): no reply object per value, no copy
    std::fill(found.begin(), found.end(), false);
    bool malformed = false;
    std::string error;
    for (std::size_t at = 0; at < keys.size(); at += kMgetChunk) {  // every reply read: in step
      const std::size_t n = std::min(kMgetChunk, keys.size() - at);
      detail::MgetSink sink;
      sink.values = values.subspan(at, n);
      sink.found = found.subspan(at, n);
      if (!sink.read(c)) fail_io(lease, c);
      if (error.empty()) error = std::move(sink.error);
      malformed = malformed || sink.malformed || sink.elements != static_cast<long long>(n);
    }
    if (!error.empty()) throw CacheError("gocp: redis error: " + error + " (" + url() + ")");
    if (malformed) throw CacheError("gocp: redis answered MGET with a malformed reply (" + url() + ")");
  }

  void store(std::span<const std::pair<std::string_view, std::string_view>> items, Ttl ttl) override {
    pipeline_sets(items, ttl, false, [](std::size_t, const detail::RedisReplyPtr&) {});
  }

  bool store_if_absent(std::string_view key, std::string_view value, Ttl ttl) override {
    bool stored = false;
    const std::pair<std::string_view, std::string_view> item{key, value};
    store_if_absent_many({&item, 1}, {&stored, 1}, ttl);
    return stored;
  }

  void store_if_absent_many(std::span<const std::pair<std::string_view, std::string_view>> items,
                            std::span<bool> stored, Ttl ttl) override {
    pipeline_sets(items, ttl, true, [&](std::size_t i, const detail::RedisReplyPtr& r) {
      if (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STATUS)
        throw CacheError("gocp: redis answered SET NX with a malformed reply (" + url() + ")");
      stored[i] = r->type == REDIS_REPLY_STATUS;
    });
  }

  std::size_t erase(std::span<const std::string> keys) override {
    detail::RespCommands& cmd = commands();
    cmd.start(1 + keys.size()).arg("DEL");
    for (const auto& k : keys) cmd.arg(k);
    auto reply = run(cmd);
    if (reply->type != REDIS_REPLY_INTEGER) throw CacheError("gocp: redis answered DEL with a non-integer (" + url() + ")");
    return static_cast<std::size_t>(reply->integer);
  }

  std::optional<std::int64_t> add_to(std::string_view key, std::int64_t delta) override {
    detail::RespCommands& cmd = commands();
    evalsha(cmd, kIncrement, 1, 1).arg(key).arg(delta);
    auto reply = run(cmd, true);
    if (reply->type == REDIS_REPLY_NIL) return std::nullopt;
    std::int64_t n = 0;
    if (reply->type == REDIS_REPLY_STRING) {
      auto [end, ec] = std::from_chars(reply->str, reply->str + reply->len, n);
      if (ec == std::errc{} && end == reply->str + reply->len) return n;
    }
    throw CacheError("gocp: redis answered the increment script with a malformed reply (" + url() + ")");
  }

  void bump_and_erase(std::span<const ServerBump> items, Ttl ttl) override {
    // one script per chunk of rows (a script blocks the server while it runs), all
    // chunks in one pipeline
    constexpr std::size_t chunk = 500;
    detail::RespCommands& cmd = commands();
    for (std::size_t at = 0; at < items.size(); at += chunk) {
      const auto part = items.subspan(at, std::min(chunk, items.size() - at));
      evalsha(cmd, kBumpAndDrop, 2 * part.size(), 1 + part.size());
      for (const ServerBump& b : part) cmd.arg(b.generation_key).arg(b.entry_key);
      cmd.arg(static_cast<std::int64_t>(ttl.count()));
      for (const ServerBump& b : part) cmd.arg(b.fresh);
    }
    run_pipeline(
        cmd,
        [&](std::size_t, const detail::RedisReplyPtr& r) {
          if (r->type != REDIS_REPLY_INTEGER)
            throw CacheError("gocp: redis answered the invalidation script with a malformed reply (" + url() + ")");
        },
        true);
  }

  bool follows_on_server() const noexcept override { return true; }

  bool fetch_following(std::string_view key, std::span<const std::string> prefixes, std::string& value,
                       std::span<std::string> values, std::span<bool> found) override {
    detail::RespCommands& cmd = commands();
    evalsha(cmd, kFollow, 1, prefixes.size()).arg(key);
    for (const auto& p : prefixes) cmd.arg(p);
    auto reply = run(cmd, true);
    if (reply->type == REDIS_REPLY_NIL) return false;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 + prefixes.size() ||
        reply->element[0]->type != REDIS_REPLY_STRING)
      throw CacheError("gocp: redis answered the follow script with a malformed reply (" + url() + ")");
    value.assign(reply->element[0]->str, reply->element[0]->len);
    read_strings(*reply, 1, values, found, "the follow script");
    return true;
  }

  void ping() override {
    detail::RespCommands& cmd = commands();
    cmd.start(1).arg("PING");
    auto reply = run(cmd);
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
      detail::RespCommands& cmd = commands();
      cmd.start(6).arg("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg("1000");
      auto reply = run(cmd);
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
  using Pool = detail::HandlePool<detail::RedisContextPtr>;

  // INCRBY would create a missing key, and fails on a non-integer or an overflow: the
  // script makes those nil. It answers the stored text, not INCRBY's number: Lua's
  // numbers are doubles, exact only to 2^53.
  static constexpr std::string_view kIncrementBody =
      "if redis.call('exists', KEYS[1]) == 0 then return false end "
      "local r = redis.pcall('incrby', KEYS[1], ARGV[1]) "
      "if type(r) == 'table' and r.err then return false end "
      "return redis.call('get', KEYS[1])";
  // KEYS: generation, entry, ...; ARGV: the default TTL (0: none), then a fresh
  // generation per row. Bumps each generation (a missing or garbage one becomes the
  // fresh value, never an old one) and deletes each entry.
  static constexpr std::string_view kBumpAndDropBody =
      "local ttl = tonumber(ARGV[1]) "
      "for i = 1, #KEYS, 2 do "
      "  local bumped = false "
      "  if redis.call('exists', KEYS[i]) == 1 then "
      "    local r = redis.pcall('incr', KEYS[i]) "
      "    bumped = not (type(r) == 'table' and r.err) "
      "  end "
      "  if not bumped then "
      "    if ttl > 0 then redis.call('set', KEYS[i], ARGV[(i + 3) / 2], 'EX', ttl) "
      "    else redis.call('set', KEYS[i], ARGV[(i + 3) / 2]) end "
      "  end "
      "  redis.call('del', KEYS[i + 1]) "
      "end "
      "return #KEYS / 2";
  // KEYS[1]: the referring entry; ARGV: the prefixes of the referred keys. Answers nil,
  // or the entry and each referred value (nil when absent).
  static constexpr std::string_view kFollowBody =
      "local v = redis.call('get', KEYS[1]) "
      "if not v then return false end "
      "local cut = string.find(v, ' ', 1, true) "
      "local ref = cut and string.sub(v, 1, cut - 1) or v "
      "local out = {v} "
      "for i = 1, #ARGV do out[i + 1] = redis.call('get', ARGV[i] .. ref) end "
      "return out";
  enum ScriptId : std::size_t { kIncrement, kBumpAndDrop, kFollow, kScripts };

  static detail::RespCommands& commands() {
    thread_local detail::RespCommands c;
    c.clear();
    return c;
  }

  /// Queues `EVALSHA <sha> <keys>`; the caller adds `keys` keys then `args` arguments.
  detail::RespCommands& evalsha(detail::RespCommands& cmd, ScriptId id, std::size_t keys, std::size_t args) const {
    return cmd.start(3 + keys + args).arg("EVALSHA").arg(scripts_[id].sha).arg(static_cast<std::int64_t>(keys));
  }

  /// values[i] and found[i] from the reply's elements from `first` on: strings or nils.
  void read_strings(const redisReply& reply, std::size_t first, std::span<std::string> values, std::span<bool> found,
                    const char* what) const {
    for (std::size_t i = 0; i < values.size(); ++i) {
      const redisReply* r = reply.element[first + i];
      found[i] = r->type == REDIS_REPLY_STRING;
      if (found[i]) values[i].assign(r->str, r->len);
      else if (r->type != REDIS_REPLY_NIL)
        throw CacheError(std::string("gocp: redis answered ") + what + " with a non-string (" + url() + ")");
    }
  }

  /// One pipeline of `SET k v [NX] [EX ttl]`; on_reply(i, reply) for each non-error reply.
  template <class OnReply>
  void pipeline_sets(std::span<const std::pair<std::string_view, std::string_view>> items, Ttl ttl, bool nx,
                     OnReply&& on_reply) {
    detail::RespCommands& cmd = commands();
    for (const auto& [key, value] : items) {
      cmd.start(3 + (nx ? 1 : 0) + (ttl.count() > 0 ? 2 : 0)).arg("SET").arg(key).arg(value);
      if (nx) cmd.arg("NX");
      if (ttl.count() > 0) cmd.arg("EX").arg(static_cast<std::int64_t>(ttl.count()));
    }
    run_pipeline(cmd, on_reply);
  }

  /// Sends every queued command in one write and reads each reply, in order, so the
  /// connection stays in step; on_reply(i, reply) for each (a RedisReplyPtr it may keep).
  /// The first error reply is thrown as a CacheError once all are read, except NOSCRIPT
  /// when `scripted`: the scripts are loaded again and each command that met it is sent
  /// once more (the others ran: running them twice could bump a generation twice).
  template <class OnReply>
  void run_pipeline(detail::RespCommands& cmd, OnReply&& on_reply, bool scripted = false) {
    auto lease = pool_.acquire();
    redisContext* c = lease.get();
    send(lease, c, cmd.bytes());
    std::string error;
    std::exception_ptr odd;  // a reply on_reply refused: thrown once every reply is read
    std::vector<std::size_t> refused;
    for (std::size_t i = 0; i < cmd.count(); ++i) {
      auto reply = read_reply(lease, c);
      if (reply->type != REDIS_REPLY_ERROR) {
        if (!error.empty() || odd) continue;
        try {
          on_reply(i, reply);
        } catch (const CacheError&) {
          odd = std::current_exception();
        }
      } else if (scripted && no_script(*reply)) {
        refused.push_back(i);
      } else if (error.empty()) {
        error.assign(reply->str, reply->len);
      }
    }
    if (!error.empty()) throw CacheError("gocp: redis error: " + error + " (" + url() + ")");
    if (odd) std::rethrow_exception(odd);
    if (refused.empty()) return;
    load_scripts(lease, c);
    const std::string_view all = cmd.bytes();
    std::size_t at = 0, index = 0;
    for (std::size_t i : refused) {
      for (; index < i; ++index) at = skip_command(all, at);
      const std::size_t end = skip_command(all, at);
      send(lease, c, all.substr(at, end - at));
      auto reply = read_reply(lease, c);
      if (reply->type == REDIS_REPLY_ERROR)
        throw CacheError("gocp: redis error: " + std::string(reply->str, reply->len) + " (" + url() + ")");
      on_reply(i, reply);
    }
  }

  /// The end of the command starting at `at` in RESP bytes we wrote.
  static std::size_t skip_command(std::string_view bytes, std::size_t at) {
    auto read_number = [&](std::size_t& p) {
      std::size_t n = 0;
      ++p;  // '*' or '$'
      while (bytes[p] != '\r') n = n * 10 + static_cast<std::size_t>(bytes[p++] - '0');
      p += 2;
      return n;
    };
    std::size_t p = at;
    const std::size_t argc = read_number(p);
    for (std::size_t a = 0; a < argc; ++a) p += read_number(p) + 2;
    return p;
  }

  /// Sends one command and reads its reply; an error reply is a CacheError (the
  /// connection stays usable), a broken connection CacheTimeout / CacheUnavailable.
  /// `scripted`: it is an EVALSHA, sent again after loading the scripts on NOSCRIPT.
  detail::RedisReplyPtr run(detail::RespCommands& cmd, bool scripted = false) {
    detail::RedisReplyPtr out;
    run_pipeline(cmd, [&](std::size_t, detail::RedisReplyPtr& reply) { out = std::move(reply); }, scripted);
    return out;
  }

  void send(Pool::Lease& lease, redisContext* c, std::string_view bytes) {
    count_round_trip();
    if (redisAppendFormattedCommand(c, bytes.data(), bytes.size()) != REDIS_OK) fail_io(lease, c);
  }

  static bool no_script(const redisReply& r) noexcept { return std::string_view(r.str, r.len).starts_with("NOSCRIPT"); }

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

  /// Sends the setup commands queued in `cmd` on a connection being opened and reads
  /// their replies; an error reply is a CacheError saying `what`, or, when the URL asked
  /// for what the server refuses (`misconfigured` says how), a ConfigurationError. The
  /// replies, in order.
  std::vector<detail::RedisReplyPtr> setup(redisContext* c, const detail::RespCommands& cmd, const char* what,
                                           const std::string& misconfigured = {}) {
    count_round_trip();
    if (redisAppendFormattedCommand(c, cmd.bytes().data(), cmd.bytes().size()) != REDIS_OK) throw_io(c, errno, what);
    std::vector<detail::RedisReplyPtr> replies;
    for (std::size_t i = 0; i < cmd.count(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK || !raw) throw_io(c, errno, what);
      replies.emplace_back(static_cast<redisReply*>(raw));
      if (replies.back()->type == REDIS_REPLY_ERROR) {
        std::string error = std::string("gocp: redis ") + what + std::string(replies.back()->str, replies.back()->len) +
                            " (" + url() + ")";
        if (!misconfigured.empty()) throw ConfigurationError(error + misconfigured);
        throw CacheError(error);
      }
    }
    return replies;
  }

  /// SCRIPT LOAD of every script on `c`, in one round trip, so that EVALSHA finds them.
  void load_scripts(redisContext* c) {
    detail::RespCommands cmd;
    for (const auto& script : scripts_) cmd.start(3).arg("SCRIPT").arg("LOAD").arg(script.body);
    const auto replies = setup(c, cmd, "refused SCRIPT LOAD: ");
    for (std::size_t i = 0; i < kScripts; ++i)
      if (replies[i]->type != REDIS_REPLY_STRING || std::string_view(replies[i]->str, replies[i]->len) != scripts_[i].sha)
        throw CacheError("gocp: redis answered SCRIPT LOAD with another SHA1 than the script's (" + url() + ")");
  }
  void load_scripts(Pool::Lease& lease, redisContext* c) {
    try {
      load_scripts(c);
    } catch (const CacheUnavailable&) {
      lease.discard();
      throw;
    } catch (const CacheTimeout&) {
      lease.discard();
      throw;
    }
  }

  detail::RedisContextPtr connect() {
    const timeval connect_tv = detail::to_timeval(options().connect_timeout);
    detail::RedisContextPtr c(endpoint_.socket_path.empty()
                                  ? redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, connect_tv)
                                  : redisConnectUnixWithTimeout(endpoint_.socket_path.c_str(), connect_tv));
    if (!c || c->err) throw_io(c.get(), errno, "cannot connect: ");
    if (redisSetTimeout(c.get(), detail::to_timeval(options().timeout)) != REDIS_OK)
      throw_io(c.get(), errno, "cannot set the timeout: ");
    detail::RespCommands cmd;
    if (!endpoint_.password.empty()) {
      if (endpoint_.user.empty()) cmd.start(2).arg("AUTH").arg(endpoint_.password);
      else cmd.start(3).arg("AUTH").arg(endpoint_.user).arg(endpoint_.password);
      setup(c.get(), cmd, "refused AUTH: ");
      cmd.clear();
    }
    if (endpoint_.db != 0) {
      // refused ("ERR DB index is out of range": the server has fewer databases), the
      // cache can never be used: a ConfigurationError, which the degrade-to-database
      // paths let through to the caller, not an outage to count
      cmd.start(2).arg("SELECT").arg(endpoint_.db);
      setup(c.get(), cmd, "refused SELECT: ",
            " - the URL names database " + std::to_string(endpoint_.db) +
                ", which this server does not have (its `databases` setting, 16 by default, bounds the index)");
    }
    load_scripts(c.get());
    return c;
  }

  detail::RedisEndpoint endpoint_;
  Pool pool_;
  const std::array<detail::RedisScript, kScripts> scripts_{detail::RedisScript{kIncrementBody, detail::sha1_hex(kIncrementBody)},
                                                          detail::RedisScript{kBumpAndDropBody, detail::sha1_hex(kBumpAndDropBody)},
                                                          detail::RedisScript{kFollowBody, detail::sha1_hex(kFollowBody)}};
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

GOCP_REDIS_INLINE std::shared_ptr<Cache> redis_cache(Url& url, bool unix_socket) {
  RedisEndpoint e;
  if (unix_socket) {
    if (!url.host().empty() || url.port() != 0)
      throw ConfigurationError("gocp: a " + url.scheme() + " URL names a socket path, not a host: '" +
                               url.redacted() + "' (expected " + url.scheme() + ":///path/to/redis.sock?db=N)");
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

}  // namespace gocp
