#pragma once
/// \file
/// The definitions behind <gocp/spi/url.hpp>: included by it in header-only mode, compiled
/// once by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp).

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "../errors.hpp"
#include "url.hpp"

namespace gocp::detail {

GOCP_INLINE std::string redact_url(std::string_view text) {
  std::string out(text);
  const auto slashes = out.find("//");
  if (slashes == std::string::npos) return out;
  const auto at = out.rfind('@');
  if (at == std::string::npos || at < slashes) return out;
  const auto colon = out.find(':', slashes + 2);
  if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  return out;
}

GOCP_INLINE std::string percent_decode(std::string_view s, std::string_view shown) {
  std::string out;
  out.reserve(s.size());
  auto bad = [&](const char* why) {
    return ConfigurationError(std::string("gocp: ") + why + " in URL '" + std::string(shown) + "'");
  };
  auto hex = [&](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    throw bad("bad percent-escape");
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) throw bad("bad percent-escape");
      const char ch = static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      if (ch == '\0') throw bad("a NUL byte (%00)");
      out += ch;
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace gocp::detail

namespace gocp {

GOCP_INLINE Url::Url(std::string_view text) : redacted_(detail::redact_url(text)) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0)
    throw ConfigurationError("gocp: '" + redacted_ + "' is not a URL (expected scheme://...)");
  scheme_ = std::string(text.substr(0, colon));
  std::string_view rest = text.substr(colon + 1);
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    parse_query(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  if (!rest.starts_with("//")) {  // opaque form, e.g. sqlite::memory:
    opaque_ = detail::percent_decode(rest, redacted_);
    return;
  }
  rest.remove_prefix(2);
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    if (authority.find('@') == std::string_view::npos && rest.find('@', slash) != std::string_view::npos &&
        authority.find(':') != std::string_view::npos)
      throw ConfigurationError("gocp: the user and password must come before the first '/' in URL '" + redacted_ +
                               "' (percent-encode '/', '@', '?' and ':' in a password: %2F %40 %3F %3A)");
    path_ = detail::percent_decode(rest.substr(slash + 1), redacted_);
  }
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    const auto c = userinfo.find(':');
    if (c != std::string_view::npos) {  // now the password's place is known: hide exactly it
      const auto begin = static_cast<std::size_t>(userinfo.data() - text.data()) + c + 1;
      redacted_ = std::string(text.substr(0, begin)) + "***" + std::string(text.substr(begin + at - c - 1));
    }
    authority.remove_prefix(at + 1);
    user_ = detail::percent_decode(userinfo.substr(0, c), redacted_);
    if (c != std::string_view::npos) password_ = detail::percent_decode(userinfo.substr(c + 1), redacted_);
  }
  std::string_view port;
  bool has_port = false;
  if (authority.starts_with('[')) {  // an IPv6 literal: its colons are not the port's
    const auto close = authority.find(']');
    if (close == std::string_view::npos || (close + 1 < authority.size() && authority[close + 1] != ':'))
      throw ConfigurationError("gocp: bad IPv6 host (expected [address] or [address]:port) in URL '" + redacted_ +
                               "'");
    has_port = close + 1 < authority.size();
    if (has_port) port = authority.substr(close + 2);
    authority = authority.substr(1, close - 1);
  } else if (auto c = authority.rfind(':'); c != std::string_view::npos) {
    has_port = true;
    port = authority.substr(c + 1);
    authority = authority.substr(0, c);
  }
  if (has_port) port_ = parse_port(port);
  host_ = std::string(authority);
}

GOCP_INLINE std::optional<std::string> Url::take(std::string_view key) {
  for (auto& [k, v] : params_) {
    if (k == key && !v.second) {
      v.second = true;
      return v.first;
    }
  }
  return std::nullopt;
}

GOCP_INLINE std::int64_t Url::take_int(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max,
                           std::string_view why) {
  auto v = take(key);
  if (!v) return fallback;
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || end != v->data() + v->size() || n < min || n > max)
    throw ConfigurationError("gocp: option '" + std::string(key) + "' must be an integer from " +
                             std::to_string(min) + " to " + std::to_string(max) +
                             (why.empty() ? "" : " (" + std::string(why) + ")") + ", got '" + *v + "' in URL '" +
                             redacted_ + "'");
  return n;
}

GOCP_INLINE void Url::require_all_taken() const {
  std::string unknown;
  for (const auto& [k, v] : params_)
    if (!v.second) unknown += (unknown.empty() ? "'" : ", '") + k + "'";
  if (!unknown.empty())
    throw ConfigurationError("gocp: unknown option(s) " + unknown + " in URL '" + redacted_ + "'");
}

GOCP_INLINE int Url::parse_port(std::string_view s) const {
  int n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || n < 1 || n > 65535)
    throw ConfigurationError("gocp: the port must be from 1 to 65535 in URL '" + redacted_ + "'");
  return n;
}

GOCP_INLINE void Url::parse_query(std::string_view q) {
  while (!q.empty()) {
    const auto amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (kv.empty()) continue;
    const auto eq = kv.find('=');
    std::string key = detail::percent_decode(kv.substr(0, eq), redacted_);
    for (const auto& p : params_)
      if (p.first == key)
        throw ConfigurationError("gocp: option '" + key + "' given twice in URL '" + redacted_ + "'");
    params_.push_back({std::move(key),
                       {eq == std::string_view::npos ? "" : detail::percent_decode(kv.substr(eq + 1), redacted_), false}});
  }
}

}  // namespace gocp
