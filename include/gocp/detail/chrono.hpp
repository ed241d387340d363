#pragma once
// Timestamps and dates as gocp stores them: a timestamp is microseconds since
// 1970-01-01T00:00:00Z (PostgreSQL's TIMESTAMPTZ resolution, and Django's), a date is
// days since 1970-01-01. Both are limited to the years 1 to 9999, the range every
// backend (and Python's datetime) holds, so a value is never accepted by one backend
// and refused by another. Also the ISO text PostgreSQL reads and writes for them.

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace gocp::detail {

inline constexpr std::int64_t kMinDay = -719162;   // 0001-01-01
inline constexpr std::int64_t kMaxDay = 2932896;   // 9999-12-31
inline constexpr std::int64_t kMicrosPerDay = 86400000000;
inline constexpr std::int64_t kMinMicros = kMinDay * kMicrosPerDay;
inline constexpr std::int64_t kMaxMicros = (kMaxDay + 1) * kMicrosPerDay - 1;

/// Floor division: the day a microsecond count falls on, also before 1970.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/// The process clock, rounded down to what a timestamp holds: auto_now's time.
inline std::int64_t now_micros() {
  return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now()).time_since_epoch().count();
}

/// "2026-12-01" for a day count.
inline std::string format_date(std::int64_t days) {
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

/// "2026-12-01 23:48:01.123456+00" for a microsecond count (UTC, so PostgreSQL reads it
/// the same whatever the session's TimeZone).
inline std::string format_timestamp(std::int64_t micros) {
  const std::int64_t day = floor_div(micros, kMicrosPerDay);
  std::int64_t rest = micros - day * kMicrosPerDay;
  const auto us = rest % 1000000;
  rest /= 1000000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s %02d:%02d:%02d.%06d+00", format_date(day).c_str(), static_cast<int>(rest / 3600),
                static_cast<int>(rest / 60 % 60), static_cast<int>(rest % 60), static_cast<int>(us));
  return buf;
}

namespace chrono_parse {
inline bool number(std::string_view& s, std::size_t digits, int& out) {
  if (s.size() < digits) return false;
  for (std::size_t i = 0; i < digits; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  std::from_chars(s.data(), s.data() + digits, out);
  s.remove_prefix(digits);
  return true;
}
inline bool expect(std::string_view& s, char ch) {
  if (s.empty() || s.front() != ch) return false;
  s.remove_prefix(1);
  return true;
}
}  // namespace chrono_parse

/// Parses "YYYY-MM-DD" (PostgreSQL's ISO output for DATE); nullopt for anything else.
inline std::optional<std::int64_t> parse_date(std::string_view& s) {
  int y = 0, m = 0, d = 0;
  using namespace chrono_parse;
  if (!number(s, 4, y) || !expect(s, '-') || !number(s, 2, m) || !expect(s, '-') || !number(s, 2, d)) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(m)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

inline std::optional<std::int64_t> parse_date_text(std::string_view s) {
  auto d = parse_date(s);
  return d && s.empty() ? d : std::nullopt;
}

/// Parses PostgreSQL's ISO output for TIMESTAMPTZ, "YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM[:SS]]",
/// in any session TimeZone (the offset is applied); nullopt for anything else.
inline std::optional<std::int64_t> parse_timestamp(std::string_view s) {
  using namespace chrono_parse;
  const auto day = parse_date(s);
  int h = 0, mi = 0, sec = 0;
  if (!day || !expect(s, ' ') || !number(s, 2, h) || !expect(s, ':') || !number(s, 2, mi) || !expect(s, ':') ||
      !number(s, 2, sec))
    return std::nullopt;
  std::int64_t micros = 0;
  if (expect(s, '.')) {
    int digits = 0;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9' && digits < 6) {
      micros = micros * 10 + (s.front() - '0');
      s.remove_prefix(1);
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 6; ++digits) micros *= 10;
  }
  if (s.empty() || (s.front() != '+' && s.front() != '-')) return std::nullopt;
  const int sign = s.front() == '-' ? -1 : 1;
  s.remove_prefix(1);
  int oh = 0, om = 0, os = 0;
  if (!number(s, 2, oh)) return std::nullopt;
  if (expect(s, ':') && !number(s, 2, om)) return std::nullopt;
  if (expect(s, ':') && !number(s, 2, os)) return std::nullopt;
  if (!s.empty()) return std::nullopt;
  const std::int64_t local = ((static_cast<std::int64_t>(h) * 60 + mi) * 60 + sec) * 1000000 + micros;
  const std::int64_t offset = ((static_cast<std::int64_t>(oh) * 60 + om) * 60 + os) * 1000000;
  return *day * kMicrosPerDay + local - sign * offset;
}

}  // namespace gocp::detail
