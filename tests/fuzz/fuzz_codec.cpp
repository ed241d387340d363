// libFuzzer target for the cache codec: any bytes a cache hands back must decode to a
// miss or to an object, never crash or hit undefined behaviour (built with ASan+UBSan).
//
//   cmake -S . -B build/fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DGOCP_FUZZ=ON
//   cmake --build build/fuzz --target gocp_fuzz && ctest --test-dir build/fuzz -R '^fuzz\.'

#include <gocp/cache/codec.hpp>
#include <gocp/model.hpp>
#include <gocp/value.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_models.hpp"

namespace {

namespace codec = gocp::codec;

// A decoded object re-encodes to an entry that decodes to the same bytes again.
template <class T>
void decode_and_round_trip(std::string_view bytes) {
  auto decoded = codec::decode_object<T>(bytes);
  if (!decoded) return;
  const std::string once = codec::encode_object(decoded->first, decoded->second);
  auto again = codec::decode_object<T>(once);
  if (!again || codec::encode_object(again->first, again->second) != once) std::abort();
}

gocp::ColumnInfo column(gocp::ColumnType type, bool nullable) {
  return {"c", type, nullable, false, false, false, 0, {}};
}

// Parses against a layout whatever schema hash the input claims (so the fuzzer gets
// past the hash check), then reads every field as its column type says.
void parse_as(std::string_view bytes, const std::vector<gocp::ColumnInfo>& columns) {
  if (bytes.size() < codec::kHeaderSize) return;
  std::uint64_t claimed = 0;
  for (int i = 0; i < 8; ++i) claimed |= std::uint64_t{static_cast<unsigned char>(bytes[3 + i])} << (8 * i);
  auto d = codec::Decoded::parse(bytes, claimed, columns);
  if (!d) return;
  if (d->size() != columns.size()) std::abort();
  std::size_t text_bytes = 0;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const gocp::Value v = gocp::detail::read_value(*d, static_cast<int>(i), columns[i].type);
    if (const auto* s = std::get_if<std::string>(&v)) text_bytes += s->size();
    if (std::holds_alternative<std::monostate>(v) && !columns[i].nullable) std::abort();
  }
  if (text_bytes > bytes.size()) std::abort();  // a field read past the entry
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  decode_and_round_trip<gocp::fuzz::Wide>(bytes);
  decode_and_round_trip<gocp::fuzz::Narrow>(bytes);

  using gocp::ColumnType;
  // The lookup -> pk mapping's layout: one integer (or text) primary key.
  parse_as(bytes, {column(ColumnType::integer, false)});
  parse_as(bytes, {column(ColumnType::text, false)});
  // A mixed layout, nullable and not.
  parse_as(bytes, {column(ColumnType::text, true), column(ColumnType::real, false), column(ColumnType::integer, true),
                   column(ColumnType::text, false), column(ColumnType::real, true)});
  // More columns than Decoded keeps inline.
  parse_as(bytes, std::vector<gocp::ColumnInfo>(20, column(ColumnType::integer, true)));
  return 0;
}
