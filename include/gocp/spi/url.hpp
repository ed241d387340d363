#pragma once
/// \file
/// `gocp::Url`: the parsed URL that names a database or a cache
/// (`scheme://user:password@host:port/path?key=value`, plus `sqlite::memory:`), as a
/// backend's factory receives it (spi/registry.hpp), with strict reading of the query
/// options: an option nobody takes is an error naming it. No error message ever shows
/// a password, even one in a URL that does not parse.
///
///     gocp::Url url("redis://:pw@[::1]:6380/0?timeout_ms=50");
///     url.host();                                   // "::1"
///     url.take_int("timeout_ms", 100, 1, 60'000);   // 50; out of range: ConfigurationError
///     url.require_all_taken();                      // any other option: ConfigurationError

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/config.hpp"
#include "../errors.hpp"

namespace gocp::detail {

/// The bound on every timeout option (24 h): long enough for any real wait, and far
/// from where milliseconds added to a clock, or narrowed to an int, overflow.
inline constexpr std::int64_t max_timeout_ms = 24LL * 60 * 60 * 1000;

/// `text` with anything that may be a password replaced by "***": from the first ':'
/// after "//" to the last '@'. Deliberately wider than the grammar, so it also hides a
/// password in a URL that fails to parse (an unescaped '/' or '?' in it, say).
GOCP_INLINE std::string redact_url(std::string_view text);

/// Decodes %XX escapes. `shown` is the redacted URL, for errors. A %00 is refused: a
/// C API (SQLite's path, libpq's parameters) would silently cut the value there.
GOCP_INLINE std::string percent_decode(std::string_view s, std::string_view shown);

}  // namespace gocp::detail

namespace gocp {

/// A parsed URL and its unread query options; see the file comment. A value, read by one
/// thread (a backend's factory), not shared.
class Url {
 public:
  /// Parses `text`; a ConfigurationError (password redacted) if it is malformed.
  explicit Url(std::string_view text);

  /// What comes before the first ':', as written: "sqlite", "redis+unix".
  const std::string& scheme() const noexcept { return scheme_; }
  /// Everything after `scheme:` when no "//" follows (`sqlite::memory:` gives ":memory:"),
  /// decoded; "" for the usual form.
  const std::string& opaque() const noexcept { return opaque_; }
  ///@{
  /// The user and password before the '@', percent-decoded; "" when absent. Never put
  /// password() in a message: redacted() is the URL to show.
  const std::string& user() const noexcept { return user_; }
  const std::string& password() const noexcept { return password_; }
  ///@}

  /// The host as written (an IPv6 literal without its brackets), not decoded.
  const std::string& host() const noexcept { return host_; }
  /// 1..65535, or 0 if the URL names none.
  int port() const noexcept { return port_; }
  /// The path after the authority's slash, decoded: "library.db", "/tmp/x.db", "0".
  const std::string& path() const noexcept { return path_; }

  /// The URL as given, with any password replaced by "***": safe for error messages.
  const std::string& redacted() const noexcept { return redacted_; }

  /// Takes option `key` (once read it is no longer "unknown"), or nothing.
  std::optional<std::string> take(std::string_view key);
  /// Takes integer option `key`, which must lie in [min, max] (`fallback` if absent):
  /// every number a backend hands on to a C API is bounded here, so none can overflow.
  /// `why`, when given, explains the range in the error (what the option means).
  std::int64_t take_int(std::string_view key, std::int64_t fallback, std::int64_t min = 0,
                        std::int64_t max = INT64_MAX, std::string_view why = {});

  /// Throws naming every option that no reader took: nothing is silently ignored.
  void require_all_taken() const;

 private:
  int parse_port(std::string_view s) const;

  void parse_query(std::string_view q);

  std::string redacted_, scheme_, opaque_, user_, password_, host_, path_;
  int port_ = 0;
  std::vector<std::pair<std::string, std::pair<std::string, bool>>> params_;  // key -> (value, taken)
};

}  // namespace gocp

#if !defined(GOCP_COMPILED)
#include "url-inl.hpp"
#endif
