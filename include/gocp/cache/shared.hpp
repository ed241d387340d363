#pragma once
/// \file
/// `gocp::SharedCache`: what the network caches (redis, memcached) have in common, so
/// each backend is only its transport. It gives every alias:
///  - keys `<key_prefix>:<version>:<key>` (Django's make_key), so two deployments, or
///    two versions of one, sharing a server never read each other's entries;
///  - typed errors (CacheTimeout, CacheUnavailable, CacheError; errors.hpp);
///  - a circuit breaker: a failure opens it and calls throw CacheUnavailable at once
///    (the coherence layer turns that into a counted miss) until a probe, after a
///    backoff of `retry_ms` doubling up to `max_retry_ms`, succeeds;
///  - undelivered invalidations: every key a write (set, add, remove, increment) failed
///    to reach, or was refused by the open circuit, is remembered and deleted by the
///    probe before the circuit closes, so an entry from before an outage is never served
///    after a write made during it. Past `max_pending` keys the probe deletes every key
///    of the alias instead (SCAN by prefix on Redis, flush_all on memcached).
///  - a read is discarded (CacheUnavailable) if any failure was recorded while it ran:
///    its answer might predate an invalidation that was just lost.
/// Common URL options: timeout_ms (250), connect_timeout_ms (250), key_prefix (""),
/// version (1), ttl_s (0: never expire), retry_ms (100), max_retry_ms (2000),
/// max_pending (10000).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <unordered_set>
#include <utility>
#include <vector>

#include "detail/circuit_breaker.hpp"
#include "../detail/string_hash.hpp"
#include "../errors.hpp"
#include "../events.hpp"
#include "../spi/url.hpp"
#include "cache.hpp"

namespace gocp {

/// What a shared cache met, since it was created (SharedCache::health()).
struct SharedCacheStats {
  std::uint64_t timeouts = 0;     ///< calls that ran out of timeout_ms
  std::uint64_t unavailable = 0;  ///< calls that could not reach the server
  std::uint64_t errors = 0;       ///< other failures: error replies, garbage
  std::uint64_t skipped = 0;      ///< calls refused at once while the circuit was open
  std::uint64_t probes = 0;       ///< probes run after a backoff (successful or not)
  std::uint64_t redelivered = 0;  ///< remembered invalidations delivered when the server came back
  std::uint64_t retired = 0;      ///< times every key of the alias was deleted (past max_pending)
  std::uint64_t oversize = 0;     ///< values too large for the server, not cached (memcached)
  bool open = false;              ///< the circuit is open (calls are being skipped) now
};

/// The options every shared cache reads from its URL.
struct SharedCacheOptions {
  std::chrono::milliseconds timeout{250};          ///< `timeout_ms`: each call's limit, then CacheTimeout
  std::chrono::milliseconds connect_timeout{250};  ///< `connect_timeout_ms`: opening a connection
  std::string key_prefix;                          ///< `key_prefix`: the first part of every server key
  std::int64_t version = 1;                        ///< `version`: bump it to orphan every entry of the alias
  Cache::Ttl default_ttl{0};                       ///< `ttl_s`: what a TTL of 0 means; 0 here: never expire
  std::chrono::milliseconds retry{100};            ///< `retry_ms`: the first backoff of an open circuit
  std::chrono::milliseconds max_retry{2000};       ///< `max_retry_ms`: the backoff doubles up to this
  std::size_t max_pending = 10'000;                ///< `max_pending`: undelivered keys kept before deleting all

  /// Takes these options out of the URL's query, leaving the backend's own (and any
  /// unknown one, for Url::require_all_taken); a value that is not a number, or is out of
  /// its range, is a ConfigurationError naming the option.
  static SharedCacheOptions from(Url& url) {
    constexpr std::int64_t ten_years_s = 10LL * 366 * 24 * 60 * 60;
    SharedCacheOptions o;
    o.timeout = std::chrono::milliseconds(url.take_int("timeout_ms", 250, 1, detail::max_timeout_ms));
    o.connect_timeout = std::chrono::milliseconds(url.take_int("connect_timeout_ms", 250, 1, detail::max_timeout_ms));
    o.key_prefix = url.take("key_prefix").value_or("");
    o.version = url.take_int("version", 1, INT64_MIN, INT64_MAX);
    o.default_ttl = Cache::Ttl(url.take_int("ttl_s", 0, 0, ten_years_s));
    o.retry = std::chrono::milliseconds(url.take_int("retry_ms", 100, 1, detail::max_timeout_ms));
    o.max_retry = std::chrono::milliseconds(url.take_int("max_retry_ms", 2000, 1, detail::max_timeout_ms));
    o.max_pending = static_cast<std::size_t>(url.take_int("max_pending", 10'000, 0, 10'000'000));
    return o;
  }
};

/// The base of a network cache: subclasses supply the transport (the protected verbs on
/// server keys); this class adds key prefixing, the circuit breaker and the replay of
/// undelivered invalidations described in the file comment. Thread-safe.
class SharedCache : public Cache {
 public:
  bool get_into(std::string_view key, std::string& value) final {
    bool found = false;
    get_many_into({&key, 1}, {&value, 1}, {&found, 1});
    return found;
  }

  void get_many_into(std::span<const std::string_view> keys, std::span<std::string> values,
                     std::span<bool> found) final {
    if (keys.empty()) return;
    const auto full = make_keys(keys);
    guard(false, full, [&] { fetch(full, values, found); });
  }

  void set(std::string_view key, std::string_view value, Ttl ttl = Ttl{0}) final {
    const std::pair<std::string_view, std::string_view> item{key, value};
    set_many({&item, 1}, ttl);
  }

  void set_many(std::span<const std::pair<std::string_view, std::string_view>> items, Ttl ttl = Ttl{0}) final {
    if (items.empty()) return;
    const auto full = server_items(items);
    guard(true, full, [&] { store(scratch().items, resolve(ttl)); });
  }

  bool add(std::string_view key, std::string_view value, Ttl ttl = Ttl{0}) final {
    const auto full = make_keys({&key, 1});
    return guard(true, full, [&] { return store_if_absent(full[0], value, resolve(ttl)); });
  }

  bool remove(std::string_view key) final {
    const auto full = make_keys({&key, 1});
    return guard(true, full, [&] { return erase(full) > 0; });
  }

  std::optional<std::int64_t> increment(std::string_view key, std::int64_t delta = 1) final {
    const auto full = make_keys({&key, 1});
    return guard(true, full, [&] { return add_to(full[0], delta); });
  }

  void add_many(std::span<const std::pair<std::string_view, std::string_view>> items, std::span<bool> stored,
                Ttl ttl = Ttl{0}) final {
    if (items.empty()) return;
    const auto full = server_items(items);
    guard(true, full, [&] { store_if_absent_many(scratch().items, stored, resolve(ttl)); });
  }

  void bump_and_drop_many(std::span<const BumpAndDrop> items) final {
    if (items.empty()) return;
    // server keys: generation, entry, generation, entry, ...
    const auto full = make_keys(2 * items.size(),
                                [items](std::size_t i) { return i % 2 ? items[i / 2].entry_key : items[i / 2].generation_key; });
    Scratch& s = scratch();
    s.bumps.clear();
    for (std::size_t i = 0; i < items.size(); ++i) s.bumps.push_back({full[2 * i], full[2 * i + 1], items[i].fresh});
    guard(true, full, [&] { bump_and_erase(s.bumps, resolve(Ttl{0})); });
  }

  bool get_following(const Follow& follow, std::string& value, std::span<std::string> values,
                     std::span<bool> found) final {
    // with a hint, one multi-get (far cheaper on the server than a script) is right
    // while the hint is; reads through get_many_into, so prefixed and guarded
    if (!follows_on_server() || !follow.hint.empty()) return Cache::get_following(follow, value, values, found);
    Scratch& s = scratch();
    const auto full = make_keys({&follow.key, 1});
    s.prefixes.resize(follow.prefixes.size());
    for (std::size_t i = 0; i < follow.prefixes.size(); ++i) {
      s.prefixes[i].assign(key_head_);
      s.prefixes[i] += follow.prefixes[i];
    }
    return guard(false, full, [&] { return fetch_following(full[0], s.prefixes, value, values, found); });
  }

  /// Another SharedCache of the same backend made from the same URL (so the same server,
  /// database and options) with the same key_prefix and version.
  bool shares_entries_with(const Cache& other) const noexcept override {
    const auto* o = dynamic_cast<const SharedCache*>(&other);
    return o == this || (o && typeid(*o) == typeid(*this) && o->url_ == url_ && o->key_head_ == key_head_);
  }

  /// What this cache met so far.
  SharedCacheStats health() const {
    std::lock_guard lock(mutex_);
    SharedCacheStats s = health_;
    s.open = !breaker_.closed();
    return s;
  }
  /// Round trips made to the server so far (each command or pipeline sent), for
  /// benchmarks and tests; a backend that does not count them says 0.
  std::uint64_t round_trips() const noexcept { return round_trips_.load(std::memory_order_relaxed); }

  /// Reports this cache's errors, its circuit opening and closing, and invalidations
  /// flushed to `sink` (events.hpp; CacheRegistry::on_event); null: to nobody.
  void report_to(std::shared_ptr<const EventSink> sink) override {
    std::lock_guard lock(mutex_);
    events_ = std::move(sink);
  }


  /// The URL it was made from, password hidden.
  const std::string& url() const noexcept { return url_; }

  /// The key a caller's `key` is stored under: `<key_prefix>:<version>:<key>`, then
  /// adapted to the server (memcached hashes keys it cannot hold).
  std::string server_key(std::string_view key) const {
    std::string out = key_head_;
    out += key;
    adapt_key(out);
    return out;
  }

 protected:
  /// `redacted_url` is what errors and url() show (never a password); `options` as parsed
  /// by SharedCacheOptions::from.
  SharedCache(std::string redacted_url, const SharedCacheOptions& options)
      : url_(std::move(redacted_url)),
        options_(options),
        key_head_(options.key_prefix + ":" + std::to_string(options.version) + ":"),
        breaker_(options.retry, options.max_retry) {}

  // ---- the transport, on server keys; each throws CacheTimeout / CacheUnavailable /
  // CacheError, and is called by one thread at a time per handle it borrows ----
  /// found[i] and values[i] for keys[i], in as few round trips as the server allows.
  virtual void fetch(std::span<const std::string> keys, std::span<std::string> values, std::span<bool> found) = 0;
  /// Stores every item with `ttl` (already resolved: 0 means no expiry).
  virtual void store(std::span<const std::pair<std::string_view, std::string_view>> items, Ttl ttl) = 0;
  /// Stores only if the key is absent; true if it stored.
  virtual bool store_if_absent(std::string_view key, std::string_view value, Ttl ttl) = 0;
  /// Deletes the keys; how many were there.
  virtual std::size_t erase(std::span<const std::string> keys) = 0;
  /// Adds delta to a decimal int64 value: nullopt if absent, not an integer, or overflow.
  virtual std::optional<std::int64_t> add_to(std::string_view key, std::int64_t delta) = 0;
  /// store_if_absent() of each item: stored[i] for items[i]. One round trip where the
  /// server allows (the default loops).
  virtual void store_if_absent_many(std::span<const std::pair<std::string_view, std::string_view>> items,
                                    std::span<bool> stored, Ttl ttl) {
    for (std::size_t i = 0; i < items.size(); ++i) stored[i] = store_if_absent(items[i].first, items[i].second, ttl);
  }
  /// One bump_and_drop_many() item on server keys.
  struct ServerBump {
    std::string_view generation_key;  ///< add 1, or set `fresh` (with the default TTL) when absent or garbage
    std::string_view entry_key;       ///< then delete this
    std::int64_t fresh;               ///< the generation's value when it is missing
  };
  /// Every bump, in order, in as few round trips as the server allows (the default loops
  /// over add_to / store / erase); `ttl` is the alias's default, for fresh generations.
  virtual void bump_and_erase(std::span<const ServerBump> items, Ttl ttl) {
    for (const ServerBump& b : items) {
      if (!add_to(b.generation_key, 1)) {
        const std::string fresh = std::to_string(b.fresh);
        const std::pair<std::string_view, std::string_view> item{b.generation_key, fresh};
        store({&item, 1}, ttl);
      }
      const std::string key(b.entry_key);
      erase({&key, 1});
    }
  }
  /// True if the server follows a reference itself (fetch_following); else
  /// get_following reads twice through fetch (Cache's default).
  virtual bool follows_on_server() const noexcept { return false; }
  /// get_following on server keys, in one round trip: `prefixes` already carry the key head.
  virtual bool fetch_following(std::string_view, std::span<const std::string>, std::string&, std::span<std::string>,
                               std::span<bool>) {
    throw CacheError("gocp: this cache cannot follow references on its server (" + url_ + ")");
  }
  /// One cheap round trip that succeeds only if the server serves.
  virtual void ping() = 0;
  /// Deletes every key under key_head() (or, if the server cannot, everything).
  virtual void erase_all() = 0;
  /// Makes a key fit the server's rules (memcached: length, no spaces or controls).
  virtual void adapt_key(std::string&) const {}
  /// Called after any failure, before the circuit opens (drop pooled connections).
  virtual void on_failure() noexcept {}

  /// The options it was made with (a backend reads its timeouts here).
  const SharedCacheOptions& options() const noexcept { return options_; }
  /// `<key_prefix>:<version>:`, what every key of this alias starts with.
  const std::string& key_head() const noexcept { return key_head_; }
  /// Counts one round trip to the server (round_trips()).
  void count_round_trip() noexcept { round_trips_.fetch_add(1, std::memory_order_relaxed); }
  /// Counts a value too large to cache (it is not stored; not an error).
  void count_oversize() noexcept {
    std::lock_guard lock(mutex_);
    ++health_.oversize;
  }

 private:
  struct Scratch {
    std::vector<std::string> keys;
    std::vector<std::pair<std::string_view, std::string_view>> items;
    std::vector<ServerBump> bumps;
    std::vector<std::string> prefixes;
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }

  Ttl resolve(Ttl ttl) const noexcept { return ttl.count() == 0 ? options_.default_ttl : ttl; }

  /// The server keys of `keys`, in a per-thread buffer (valid until the next call).
  std::span<const std::string> make_keys(std::span<const std::string_view> keys) const {
    return make_keys(keys.size(), [keys](std::size_t i) { return keys[i]; });
  }
  /// The server keys of key_of(0 .. n-1), in the same buffer.
  template <class KeyOf>
  std::span<const std::string> make_keys(std::size_t n, KeyOf&& key_of) const {
    auto& out = scratch().keys;
    if (out.size() < n) out.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      out[i].assign(key_head_);
      out[i] += key_of(i);
      adapt_key(out[i]);
    }
    return {out.data(), n};
  }
  /// The items on server keys, in scratch().items; returns those keys.
  std::span<const std::string> server_items(std::span<const std::pair<std::string_view, std::string_view>> items) const {
    const auto full = make_keys(items.size(), [items](std::size_t i) { return items[i].first; });
    auto& out = scratch().items;
    out.clear();
    for (std::size_t i = 0; i < items.size(); ++i) out.emplace_back(full[i], items[i].second);
    return full;
  }

  /// Runs one transport call under the breaker. `writes`: it changes `keys`, which are
  /// remembered for deletion if it fails or is skipped.
  template <class F>
  auto guard(bool writes, std::span<const std::string> keys, F&& fn) -> decltype(fn()) {
    switch (breaker_.admit()) {
      case detail::CircuitBreaker::Admit::go:
        break;
      case detail::CircuitBreaker::Admit::probe:
        if (probe()) break;
        [[fallthrough]];
      case detail::CircuitBreaker::Admit::refuse: {
        std::lock_guard lock(mutex_);
        if (writes) remember(keys);
        ++health_.skipped;
        throw CacheUnavailable("gocp: cache '" + url_ + "' is skipped after a failure (next probe in " +
                               std::to_string(breaker_.next_probe_in_ms()) + " ms)");
      }
    }
    const std::uint64_t failures_before = failures_.load(std::memory_order_acquire);
    const auto written = writes ? keys : std::span<const std::string>{};
    auto run = [&]() -> decltype(fn()) {
      try {
        return fn();
      } catch (const CacheTimeout& e) {
        failed(written, &SharedCacheStats::timeouts, e.what());
        throw;
      } catch (const CacheUnavailable& e) {
        failed(written, &SharedCacheStats::unavailable, e.what());
        throw;
      } catch (const CacheError& e) {
        failed(written, &SharedCacheStats::errors, e.what());
        throw;
      }
    };
    if constexpr (std::is_void_v<decltype(fn())>) {
      run();
      discard_if_failed_meanwhile(writes, failures_before);
    } else {
      auto result = run();
      discard_if_failed_meanwhile(writes, failures_before);
      return result;
    }
  }

  void discard_if_failed_meanwhile(bool writes, std::uint64_t failures_before) const {
    if (!writes && failures_.load(std::memory_order_acquire) != failures_before)
      throw CacheUnavailable("gocp: a read of cache '" + url_ +
                             "' was discarded: a failure was recorded while it ran, so it may predate a lost "
                             "invalidation");
  }

  void failed(std::span<const std::string> keys, std::uint64_t SharedCacheStats::*counter, std::string_view what) noexcept {
    on_failure();
    bool opened = false;
    {
      std::lock_guard lock(mutex_);
      remember(keys);
      ++(health_.*counter);
      failures_.fetch_add(1, std::memory_order_acq_rel);
      opened = breaker_.closed();
      breaker_.open();
    }
    emit({.kind = Event::Kind::cache_error, .detail = what});
    if (opened) emit_opened();
  }

  /// Reports `e` as this cache's to the sink of report_to(), if any; not under mutex_.
  void emit(Event e) const noexcept {
    std::shared_ptr<const EventSink> sink;
    {
      std::lock_guard lock(mutex_);
      sink = events_;
    }
    if (!sink) return;
    e.source = url_;
    detail::report(sink.get(), e);
  }

  void emit_closed(std::size_t delivered) const noexcept {
    try {
      const std::string what = std::to_string(delivered) + " remembered invalidation" + (delivered == 1 ? "" : "s") +
                               " delivered";
      emit({.kind = Event::Kind::circuit_closed, .detail = what, .count = delivered});
    } catch (...) {
      emit({.kind = Event::Kind::circuit_closed, .count = delivered});
    }
  }

  void emit_opened() const noexcept {
    try {
      const std::string next = "calls skipped for " + std::to_string(breaker_.next_probe_in_ms()) + " ms, then one probes";
      emit({.kind = Event::Kind::circuit_opened, .detail = next});
    } catch (...) {  // out of memory for the message: report without it
      emit({.kind = Event::Kind::circuit_opened});
    }
  }

  /// Under mutex_.
  void remember(std::span<const std::string> keys) noexcept {
    if (retire_all_) return;
    try {
      for (const auto& k : keys) pending_.insert(k);
    } catch (...) {  // out of memory: forget them all, retire everything instead
      retire_all_ = true;
    }
    if (pending_.size() > options_.max_pending) retire_all_ = true;
    if (retire_all_) pending_.clear();
  }

  /// The probe: the server answers, then every remembered key is deleted; only then does
  /// the circuit close. False (circuit reopened) if the server still fails.
  bool probe() noexcept {
    {
      std::lock_guard lock(mutex_);
      ++health_.probes;
    }
    std::size_t delivered = 0;
    try {
      ping();
      for (int round = 0; round < 4; ++round) {
        std::vector<std::string> keys;
        bool all = false;
        {
          std::lock_guard lock(mutex_);
          if (pending_.empty() && !retire_all_) {
            breaker_.close();
          }
        }
        if (breaker_.closed()) {
          emit_closed(delivered);
          return true;
        }
        {
          // taken out, not copied: a key remembered again while these are deleted (a new
          // write of a row already pending) stays pending for the next round, so an entry
          // refilled in between is deleted too
          std::lock_guard lock(mutex_);
          all = retire_all_;
          retire_all_ = false;
          keys.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
          pending_.clear();
        }
        try {
          if (all) {
            erase_all();
            emit({.kind = Event::Kind::invalidations_flushed,
                  .detail = "more invalidations were remembered than max_pending: every key of the alias deleted"});
          } else {
            for (std::size_t at = 0; at < keys.size(); at += 512) {
              const std::size_t n = std::min<std::size_t>(512, keys.size() - at);
              erase(std::span<const std::string>(keys.data() + at, n));
            }
          }
        } catch (...) {  // not delivered: remembered again (the keys, or everything)
          std::lock_guard lock(mutex_);
          if (all) retire_all_ = true;
          remember(keys);
          throw;
        }
        std::lock_guard lock(mutex_);
        if (all) {
          ++health_.retired;
        } else {
          health_.redelivered += keys.size();
          delivered += keys.size();
        }
      }
      std::lock_guard lock(mutex_);  // writes keep failing elsewhere: let the next caller go on
      breaker_.reopen_now();
      return false;
    } catch (const std::exception& e) {
      on_failure();
      {
        std::lock_guard lock(mutex_);
        ++health_.unavailable;
        failures_.fetch_add(1, std::memory_order_acq_rel);
        breaker_.open();
      }
      emit({.kind = Event::Kind::cache_error, .detail = e.what()});
      return false;
    }
  }

  std::string url_;
  SharedCacheOptions options_;
  std::string key_head_;
  detail::CircuitBreaker breaker_;
  std::atomic<std::uint64_t> failures_{0};
  mutable std::mutex mutex_;
  SharedCacheStats health_;
  std::unordered_set<std::string, detail::StringHash, std::equal_to<>> pending_;
  bool retire_all_ = false;
  std::shared_ptr<const EventSink> events_;  ///< under mutex_
  std::atomic<std::uint64_t> round_trips_{0};
};

}  // namespace gocp
