// Writes the codec fuzzer's seed corpus: valid entries of the fuzzed layouts (so the
// fuzzer starts from inputs that get past the header), one file each, into argv[1].
// Generated rather than checked in, so the seeds follow the models' schema hashes.

#include <gocp/cache/codec.hpp>
#include <gocp/value.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "fuzz_models.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  namespace codec = gocp::codec;
  using gocp::fuzz::Narrow;
  using gocp::fuzz::Wide;
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);

  std::vector<std::string> seeds;
  seeds.push_back(codec::encode_object(Wide{}, 0));
  seeds.push_back(codec::encode_object(Wide{42, -7, 200, true, 3.25, 1.5f, "text", "maybe", 9, 2.5}, 17));
  seeds.push_back(codec::encode_object(Wide{std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int32_t>::max(),
                                            255, false, -0.0, -1e30f, std::string("a\0b", 3), std::string(),
                                            std::numeric_limits<std::int64_t>::max(), std::nullopt},
                                       std::numeric_limits<std::uint64_t>::max()));
  seeds.push_back(codec::encode_object(Narrow{"code", std::nullopt}, 1));
  seeds.push_back(codec::encode_object(Narrow{"", std::int16_t{-3}}, 2));
  // Lookup -> pk mappings (one-column entries, as the policies write them).
  const gocp::Value int_pk{std::int64_t{12345}};
  seeds.push_back(codec::encode(gocp::schema_hash<Wide>, 0, {&int_pk, 1}));
  const gocp::Value text_pk{std::string("pk value")};
  seeds.push_back(codec::encode(gocp::schema_hash<Narrow>, 0, {&text_pk, 1}));
  // A mixed five-column entry (the fuzzer's mixed layout).
  const std::vector<gocp::Value> mixed = {gocp::Value{}, gocp::Value{1.0}, gocp::Value{std::int64_t{-1}},
                                          gocp::Value{std::string("x")}, gocp::Value{}};
  seeds.push_back(codec::encode(7, 3, mixed));

  for (std::size_t i = 0; i < seeds.size(); ++i) {
    std::ofstream out(dir / ("seed-" + std::to_string(i)), std::ios::binary | std::ios::trunc);
    out.write(seeds[i].data(), static_cast<std::streamsize>(seeds[i].size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", (dir / ("seed-" + std::to_string(i))).c_str());
      return 1;
    }
  }
  std::printf("%zu seeds in %s\n", seeds.size(), dir.c_str());
  return 0;
}
