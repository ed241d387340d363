#pragma once
// Parsing of the URLs that name databases and caches
// (`scheme://user:password@host:port/path?key=value`, plus `sqlite::memory:`), and
// strict reading of their query options: an option nobody reads is an error naming it.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../errors.hpp"

namespace gocp::detail {

inline std::string percent_decode(std::string_view s, std::string_view url) {
  std::string out;
  out.reserve(s.size());
  auto hex = [&](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    throw ConfigurationError("gocp: bad percent-escape in URL '" + std::string(url) + "'");
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size())
        throw ConfigurationError("gocp: bad percent-escape in URL '" + std::string(url) + "'");
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

class Url {
 public:
  explicit Url(std::string_view text) : text_(text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0)
      throw ConfigurationError("gocp: '" + std::string(text) + "' is not a URL (expected scheme://...)");
    scheme_ = std::string(text.substr(0, colon));
    std::string_view rest = text.substr(colon + 1);
    if (auto q = rest.find('?'); q != std::string_view::npos) {
      parse_query(rest.substr(q + 1));
      rest = rest.substr(0, q);
    }
    if (!rest.starts_with("//")) {  // opaque form, e.g. sqlite::memory:
      opaque_ = std::string(rest);
      return;
    }
    rest.remove_prefix(2);
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) path_ = percent_decode(rest.substr(slash + 1), text_);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      std::string_view userinfo = authority.substr(0, at);
      authority.remove_prefix(at + 1);
      const auto c = userinfo.find(':');
      user_ = percent_decode(userinfo.substr(0, c), text_);
      if (c != std::string_view::npos) password_ = percent_decode(userinfo.substr(c + 1), text_);
    }
    if (auto c = authority.rfind(':'); c != std::string_view::npos && authority.find(']') == std::string_view::npos) {
      port_ = parse_number(authority.substr(c + 1), "port");
      authority = authority.substr(0, c);
    }
    host_ = std::string(authority);
  }

  const std::string& scheme() const noexcept { return scheme_; }
  const std::string& opaque() const noexcept { return opaque_; }
  const std::string& user() const noexcept { return user_; }
  const std::string& password() const noexcept { return password_; }
  const std::string& host() const noexcept { return host_; }
  int port() const noexcept { return static_cast<int>(port_); }
  /// The path after the authority's slash, decoded: "library.db", "/tmp/x.db", "0".
  const std::string& path() const noexcept { return path_; }

  /// The URL as given, with any password replaced by "***": safe for error messages.
  std::string redacted() const {
    if (password_.empty()) return text_;
    std::string out = text_;
    const auto at = out.rfind('@');
    const auto start = out.find(':', out.find("//") + 2);
    if (at != std::string::npos && start != std::string::npos && start < at) out.replace(start + 1, at - start - 1, "***");
    return out;
  }

  /// Takes option `key` (once read it is no longer "unknown"), or nothing.
  std::optional<std::string> take(std::string_view key) {
    for (auto& [k, v] : params_) {
      if (k == key && !v.second) {
        v.second = true;
        return v.first;
      }
    }
    return std::nullopt;
  }
  std::int64_t take_int(std::string_view key, std::int64_t fallback) {
    auto v = take(key);
    return v ? parse_number(*v, key) : fallback;
  }

  /// Throws naming every option that no reader took: nothing is silently ignored.
  void require_all_taken() const {
    std::string unknown;
    for (const auto& [k, v] : params_)
      if (!v.second) unknown += (unknown.empty() ? "'" : ", '") + k + "'";
    if (!unknown.empty())
      throw ConfigurationError("gocp: unknown option(s) " + unknown + " in URL '" + redacted() + "'");
  }

 private:
  std::int64_t parse_number(std::string_view s, std::string_view what) const {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size() || n < 0)
      throw ConfigurationError("gocp: '" + std::string(what) + "' must be a non-negative integer, got '" +
                               std::string(s) + "' in URL '" + redacted() + "'");
    return n;
  }

  void parse_query(std::string_view q) {
    while (!q.empty()) {
      const auto amp = q.find('&');
      std::string_view kv = q.substr(0, amp);
      q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
      if (kv.empty()) continue;
      const auto eq = kv.find('=');
      params_.push_back({percent_decode(kv.substr(0, eq), text_),
                         {eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1), text_), false}});
    }
  }

  std::string text_, scheme_, opaque_, user_, password_, host_, path_;
  std::int64_t port_ = 0;
  std::vector<std::pair<std::string, std::pair<std::string, bool>>> params_;  // key -> (value, taken)
};

}  // namespace gocp::detail
