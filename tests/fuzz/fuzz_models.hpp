#pragma once
// The models the codec fuzzer decodes into, shared with the seed writer so the seeds
// are valid entries of exactly these layouts.

#include <gocp/cache/codec.hpp>
#include <gocp/model.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gocp::fuzz {

// Every column type, nullable and not, including narrower integers and float: a
// decoded payload is converted to each member type.
struct Wide {
  std::int64_t id = 0;
  std::int32_t small = 0;
  std::uint8_t byte = 0;
  bool flag = false;
  double real = 0;
  float single = 0;
  std::string text;
  std::optional<std::string> maybe_text;
  std::optional<std::int64_t> maybe_int;
  std::optional<double> maybe_real;
};

// A text primary key and little else: the shape of many lookup tables.
struct Narrow {
  std::string code;
  std::optional<std::int16_t> rank;
};

}  // namespace gocp::fuzz

template <>
struct gocp::model<gocp::fuzz::Wide> {
  using W = gocp::fuzz::Wide;
  static constexpr std::string_view name = "fuzz.wide";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&W::id, "id"), gocp::field(&W::small, "small"), gocp::field(&W::byte, "byte"),
      gocp::field(&W::flag, "flag"), gocp::field(&W::real, "real"), gocp::field(&W::single, "single"),
      gocp::field(&W::text, "text"), gocp::field(&W::maybe_text, "maybe_text"),
      gocp::field(&W::maybe_int, "maybe_int"), gocp::field(&W::maybe_real, "maybe_real"));
};

template <>
struct gocp::model<gocp::fuzz::Narrow> {
  using N = gocp::fuzz::Narrow;
  static constexpr std::string_view name = "fuzz.narrow";
  static constexpr auto schema = gocp::table(gocp::primary_key(&N::code, "code"), gocp::field(&N::rank, "rank"));
};
