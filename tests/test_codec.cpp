// The schema-versioned cache codec, cache keys, and the in-memory evaluation of
// expressions (detail::matches) checked against SQLite on a real database file.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>
#include <gocp/cache/detail/cache_keys.hpp>
#include <gocp/cache/detail/match.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/temp_dir.hpp"

namespace {

struct Record {
  std::int64_t id = 0;
  std::int32_t small = 0;
  bool flag = false;
  double real = 0;
  std::string text;
  std::optional<std::string> maybe_text;
  std::optional<std::int64_t> maybe_int;
  std::optional<double> maybe_real;
};

// Record's next layout: same name, one more field.
struct RecordV2 {
  std::int64_t id = 0;
  std::int32_t small = 0;
  bool flag = false;
  double real = 0;
  std::string text;
  std::optional<std::string> maybe_text;
  std::optional<std::int64_t> maybe_int;
  std::optional<double> maybe_real;
  std::int64_t added = 0;
};

// Record's exact layout under another model name.
struct RecordTwin {
  std::int64_t id = 0;
  std::int32_t small = 0;
  bool flag = false;
  double real = 0;
  std::string text;
  std::optional<std::string> maybe_text;
  std::optional<std::int64_t> maybe_int;
  std::optional<double> maybe_real;
};

// Rows for comparing detail::matches with SQLite.
struct Item {
  std::int64_t id = 0;
  std::int64_t n = 0;
  std::optional<std::int64_t> on;
  double x = 0;
  std::optional<double> ox;
  std::string t;
  std::optional<std::string> s;
};

}  // namespace

template <>
struct gocp::model<Record> {
  static constexpr std::string_view name = "tests.record";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&Record::id, "id"), gocp::field(&Record::small, "small"), gocp::field(&Record::flag, "flag"),
      gocp::field(&Record::real, "real"), gocp::field(&Record::text, "text"),
      gocp::field(&Record::maybe_text, "maybe_text"), gocp::field(&Record::maybe_int, "maybe_int"),
      gocp::field(&Record::maybe_real, "maybe_real"));
};

template <>
struct gocp::model<RecordV2> {
  static constexpr std::string_view name = "tests.record";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&RecordV2::id, "id"), gocp::field(&RecordV2::small, "small"),
      gocp::field(&RecordV2::flag, "flag"), gocp::field(&RecordV2::real, "real"), gocp::field(&RecordV2::text, "text"),
      gocp::field(&RecordV2::maybe_text, "maybe_text"), gocp::field(&RecordV2::maybe_int, "maybe_int"),
      gocp::field(&RecordV2::maybe_real, "maybe_real"), gocp::field(&RecordV2::added, "added"));
};

template <>
struct gocp::model<RecordTwin> {
  static constexpr std::string_view name = "tests.record_twin";
  static constexpr auto schema = gocp::table(
      gocp::primary_key(&RecordTwin::id, "id"), gocp::field(&RecordTwin::small, "small"),
      gocp::field(&RecordTwin::flag, "flag"), gocp::field(&RecordTwin::real, "real"),
      gocp::field(&RecordTwin::text, "text"), gocp::field(&RecordTwin::maybe_text, "maybe_text"),
      gocp::field(&RecordTwin::maybe_int, "maybe_int"), gocp::field(&RecordTwin::maybe_real, "maybe_real"));
};

template <>
struct gocp::model<Item> {
  static constexpr std::string_view name = "tests.item";
  static constexpr auto schema =
      gocp::table(gocp::primary_key(&Item::id, "id"), gocp::field(&Item::n, "n"), gocp::field(&Item::on, "on"),
                  gocp::field(&Item::x, "x"), gocp::field(&Item::ox, "ox"), gocp::field(&Item::t, "t"),
                  gocp::field(&Item::s, "s"));
};

namespace {

using gocp::c;
namespace codec = gocp::codec;

std::uint64_t bits(double d) {
  std::uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

// Field-by-field equality, doubles compared bit for bit (NaN == NaN, 0.0 != -0.0).
bool same(const Record& a, const Record& b) {
  auto same_real = [](const std::optional<double>& x, const std::optional<double>& y) {
    return x.has_value() == y.has_value() && (!x || bits(*x) == bits(*y));
  };
  return a.id == b.id && a.small == b.small && a.flag == b.flag && bits(a.real) == bits(b.real) && a.text == b.text &&
         a.maybe_text == b.maybe_text && a.maybe_int == b.maybe_int && same_real(a.maybe_real, b.maybe_real);
}

std::vector<Record> sample_records() {
  constexpr auto i64min = std::numeric_limits<std::int64_t>::min();
  constexpr auto i64max = std::numeric_limits<std::int64_t>::max();
  constexpr auto i32min = std::numeric_limits<std::int32_t>::min();
  constexpr auto i32max = std::numeric_limits<std::int32_t>::max();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  double payload_nan;  // a NaN with a payload and the sign bit: kept bit for bit
  const std::uint64_t payload_bits = 0xfff8'0000'dead'beefull;
  std::memcpy(&payload_nan, &payload_bits, sizeof payload_nan);
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  return {
      {1, 0, false, 0.0, "", std::nullopt, std::nullopt, std::nullopt},
      {2, 42, true, 1.5, "plain", std::string(""), std::int64_t{0}, 0.0},  // engaged-but-empty is not NULL
      {i64max, i32max, true, inf, std::string("a\0b\0", 4), std::string("\0", 1), i64max, -inf},
      {i64min, i32min, false, -0.0, all_bytes, all_bytes, i64min, nan},
      {-1, -1, true, nan, "gC\x01 looks like a header", std::string(70000, 'x'), -1, payload_nan},
      {7, 7, false, std::numeric_limits<double>::denorm_min(), "\xff\xfe", std::nullopt, 123, 1e308},
  };
}

std::string valid_entry() {
  Record r{99, -7, true, 3.25, std::string("te\0xt", 5), std::string("maybe"), std::int64_t{-3}, std::nullopt};
  return codec::encode_object(r, 0x0102030405060708ull);
}

}  // namespace

// ---- codec round trips -----------------------------------------------------------------

TEST_CASE("codec: objects round-trip exactly, with their generation", "[codec]") {
  std::uint64_t generation = 0;
  for (const Record& r : sample_records()) {
    INFO("record id " << r.id);
    generation = generation * 31 + 0x9e3779b97f4a7c15ull;
    const std::string bytes = codec::encode_object(r, generation);
    auto decoded = codec::decode_object<Record>(bytes);
    REQUIRE(decoded.has_value());
    CHECK(same(decoded->first, r));
    CHECK(decoded->second == generation);
    CHECK(codec::encode_object(decoded->first, generation) == bytes);  // and back to the same bytes
  }
}

TEST_CASE("codec: NaN and infinities keep their exact bits", "[codec]") {
  const auto records = sample_records();
  const Record& nan_record = records[4];
  auto decoded = codec::decode_object<Record>(codec::encode_object(nan_record, 1));
  REQUIRE(decoded.has_value());
  CHECK(std::isnan(decoded->first.real));
  CHECK(bits(decoded->first.real) == bits(nan_record.real));
  REQUIRE(decoded->first.maybe_real.has_value());
  CHECK(bits(*decoded->first.maybe_real) == 0xfff8'0000'dead'beefull);
  CHECK(std::signbit(*decoded->first.maybe_real));

  auto inf = codec::decode_object<Record>(codec::encode_object(records[2], 1));
  REQUIRE(inf.has_value());
  CHECK(std::isinf(inf->first.real));
  CHECK(inf->first.real > 0);
  CHECK(*inf->first.maybe_real < 0);
  auto zero = codec::decode_object<Record>(codec::encode_object(records[3], 1));
  REQUIRE(zero.has_value());
  CHECK(std::signbit(zero->first.real));  // -0.0 stays negative
}

TEST_CASE("codec: an entry of another schema is a miss, never a misdecode", "[codec]") {
  const Record r = sample_records()[1];
  const std::string bytes = codec::encode_object(r, 5);
  REQUIRE(gocp::schema_hash<Record> != gocp::schema_hash<RecordV2>);
  REQUIRE(gocp::schema_hash<Record> != gocp::schema_hash<RecordTwin>);

  CHECK_FALSE(codec::decode_object<RecordV2>(bytes).has_value());    // an older layout of the same model
  CHECK_FALSE(codec::decode_object<RecordTwin>(bytes).has_value());  // the same layout, another model

  RecordV2 v2{};
  v2.id = 5;
  CHECK_FALSE(codec::decode_object<Record>(codec::encode_object(v2, 5)).has_value());

  // The same values encoded under any other hash.
  std::vector<gocp::Value> values;
  gocp::detail::for_each_field<Record>([&](const auto& f, std::size_t) {
    using M = typename std::remove_cvref_t<decltype(f)>::member_type;
    values.push_back(gocp::column_traits<M>::to_value(r.*f.member));
  });
  REQUIRE(codec::decode_object<Record>(codec::encode(gocp::schema_hash<Record>, 5, values)).has_value());
  const std::uint64_t others[] = {gocp::schema_hash<Record> ^ 1, gocp::schema_hash<Record> ^ (std::uint64_t{1} << 63),
                                  0, gocp::schema_hash<RecordTwin>};
  for (std::uint64_t other : others) {
    CHECK_FALSE(codec::decode_object<Record>(codec::encode(other, 5, values)).has_value());
  }
}

TEST_CASE("codec: another column count or type layout is a miss", "[codec]") {
  const std::string bytes = valid_entry();
  const auto& info = gocp::model_info<Record>();
  const std::vector<gocp::ColumnInfo> columns = info.columns;
  REQUIRE(codec::Decoded::parse(bytes, info.schema_hash, columns).has_value());

  SECTION("fewer or more columns") {
    std::vector<gocp::ColumnInfo> fewer(columns.begin(), columns.end() - 1);
    CHECK_FALSE(codec::Decoded::parse(bytes, info.schema_hash, fewer).has_value());
    std::vector<gocp::ColumnInfo> more = columns;
    more.push_back(columns.back());
    CHECK_FALSE(codec::Decoded::parse(bytes, info.schema_hash, more).has_value());
    CHECK_FALSE(codec::Decoded::parse(bytes, info.schema_hash, {}).has_value());
  }
  SECTION("a column of another type") {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      for (auto type : {gocp::ColumnType::integer, gocp::ColumnType::real, gocp::ColumnType::text}) {
        if (type == columns[i].type) continue;
        auto changed = columns;
        changed[i].type = type;
        INFO("column " << i << " as type " << static_cast<int>(type));
        // maybe_real holds NULL here: its type is never looked at.
        if (i == 7) CHECK(codec::Decoded::parse(bytes, info.schema_hash, changed).has_value());
        else CHECK_FALSE(codec::Decoded::parse(bytes, info.schema_hash, changed).has_value());
      }
    }
  }
  SECTION("a NULL where the column is not nullable") {
    auto changed = columns;
    changed[7].nullable = false;  // maybe_real, NULL in this entry
    CHECK_FALSE(codec::Decoded::parse(bytes, info.schema_hash, changed).has_value());
  }
  SECTION("the parsed fields are read back through Row") {
    auto d = codec::Decoded::parse(bytes, info.schema_hash, columns);
    REQUIRE(d.has_value());
    CHECK(d->size() == columns.size());
    CHECK(d->generation() == 0x0102030405060708ull);
    CHECK(d->integer(0) == 99);
    CHECK(d->integer(1) == -7);
    CHECK(d->real(3) == 3.25);
    CHECK(d->text(4) == std::string_view("te\0xt", 5));
    CHECK_FALSE(d->is_null(5));
    CHECK(d->is_null(7));
  }
}

TEST_CASE("codec: every truncation of a valid entry is a miss", "[codec]") {
  for (const Record& r : sample_records()) {
    const std::string bytes = codec::encode_object(r, 77);
    if (bytes.size() > 5000) continue;  // the 70000-byte text: its prefixes add nothing but time
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      const std::string prefix = bytes.substr(0, n);
      if (codec::decode_object<Record>(prefix).has_value()) FAIL("a " << n << "-byte prefix of record " << r.id << " decoded");
    }
  }
  const std::string big = codec::encode_object(sample_records()[4], 1);
  for (std::size_t n : {std::size_t{0}, codec::kHeaderSize, big.size() / 2, big.size() - 1})
    CHECK_FALSE(codec::decode_object<Record>(std::string_view(big).substr(0, n)).has_value());
}

TEST_CASE("codec: every single-byte change of the header is a miss, or changes only the generation",
          "[codec]") {
  const std::string bytes = valid_entry();
  const auto original = codec::decode_object<Record>(bytes);
  REQUIRE(original.has_value());
  REQUIRE(codec::kHeaderSize == 21);
  for (std::size_t at = 0; at < codec::kHeaderSize; ++at) {
    const bool generation_byte = at >= 11 && at < 19;
    for (int value = 0; value < 256; ++value) {
      if (static_cast<char>(value) == bytes[at]) continue;
      std::string mutated = bytes;
      mutated[at] = static_cast<char>(value);
      const auto decoded = codec::decode_object<Record>(mutated);
      if (!generation_byte) {
        if (decoded) FAIL("header byte " << at << " set to " << value << " still decoded");
        continue;
      }
      // The generation is data, not structure: the object decodes, tagged differently.
      REQUIRE(decoded.has_value());
      CHECK(same(decoded->first, original->first));
      CHECK(decoded->second != original->second);
    }
  }
}

TEST_CASE("codec: single-byte changes of the body never crash and never mistype a field", "[codec]") {
  const std::string bytes = valid_entry();
  // id (int64), then `small` (int32) and `flag` (bool), each tag + 8-byte payload: an
  // out-of-range payload for those two is narrowed on decode, so it cannot re-encode
  // to the same bytes.
  REQUIRE(bytes[30] == static_cast<char>(codec::Tag::integer));
  REQUIRE(bytes[39] == static_cast<char>(codec::Tag::integer));
  auto narrow_payload = [](std::size_t at) { return (at >= 31 && at < 39) || (at >= 40 && at < 48); };
  std::size_t decoded_count = 0, refused = 0;
  for (std::size_t at = codec::kHeaderSize; at < bytes.size(); ++at) {
    for (int value = 0; value < 256; ++value) {
      std::string mutated = bytes;
      mutated[at] = static_cast<char>(value);
      if (auto d = codec::decode_object<Record>(mutated)) {
        ++decoded_count;
        // Whatever decodes re-encodes to exactly the bytes it came from: nothing was
        // read from outside the entry or under the wrong tag.
        const std::string again = codec::encode_object(d->first, d->second);
        if (!narrow_payload(at) && again != mutated)
          FAIL("byte " << at << " = " << value << " decoded to an object that does not re-encode to its bytes");
        auto twice = codec::decode_object<Record>(again);
        if (!twice || !same(twice->first, d->first))
          FAIL("byte " << at << " = " << value << ": the decoded object does not survive another round trip");
      } else {
        ++refused;
      }
    }
  }
  CHECK(decoded_count > 0);  // payload bytes are data
  CHECK(refused > 0);        // tags and lengths are structure
}

TEST_CASE("codec: trailing bytes after a valid entry are a miss", "[codec]") {
  const std::string bytes = valid_entry();
  REQUIRE(codec::decode_object<Record>(bytes).has_value());
  CHECK_FALSE(codec::decode_object<Record>(bytes + "x").has_value());
  CHECK_FALSE(codec::decode_object<Record>(bytes + std::string(1, '\0')).has_value());
  CHECK_FALSE(codec::decode_object<Record>(bytes + bytes).has_value());
}

TEST_CASE("codec: garbage is a miss", "[codec]") {
  CHECK_FALSE(codec::decode_object<Record>("").has_value());
  CHECK_FALSE(codec::decode_object<Record>("gC").has_value());
  CHECK_FALSE(codec::decode_object<Record>(std::string(64, '\0')).has_value());
  CHECK_FALSE(codec::decode_object<Record>(std::string(64, '\xff')).has_value());
  CHECK_FALSE(codec::decode_object<Record>("42").has_value());  // a generation counter under the wrong key
}

// ---- cache keys ---------------------------------------------------------------------------

namespace {

/// A database id as Database::id() makes them: 32 hex digits.
constexpr std::string_view kDatabaseId = "0123456789abcdef0123456789abcdef";

template <class T>
std::string key_of(const gocp::Expr<T>& filters, const gocp::Expr<T>& lookup) {
  return gocp::detail::lookup_key(gocp::detail::key_prefix(gocp::model_info<T>(), kDatabaseId), filters, lookup);
}
template <class T>
std::string key_of(const gocp::Expr<T>& lookup) {
  return key_of(gocp::Expr<T>{}, lookup);
}

bool memcached_safe(const std::string& key) {
  return key.size() <= 250 && std::all_of(key.begin(), key.end(), [](char ch) { return ch > ' ' && ch < 127; });
}

}  // namespace

TEST_CASE("keys: a lookup's key is canonical: operand order does not matter", "[keys]") {
  const auto a = c(&Record::text) == "x";
  const auto b = c(&Record::small) == 3;
  const auto d = c(&Record::maybe_text).is_null();
  CHECK(key_of(a && b) == key_of(b && a));
  CHECK(key_of(a || b) == key_of(b || a));
  CHECK(key_of((a && b) && d) == key_of(a && (d && b)));
  CHECK(key_of((a || b) || d) == key_of(d || (b || a)));
  CHECK(key_of(!(a && b)) == key_of(!(b && a)));
  CHECK(key_of(a, b) == key_of(a, b));  // deterministic
}

TEST_CASE("keys: different lookups have different keys", "[keys]") {
  const auto base = c(&Record::text) == "x";
  std::vector<std::pair<std::string, std::string>> keys = {
      {"text == x", key_of(base)},
      {"text == y", key_of(c(&Record::text) == "y")},
      {"text == x\\0", key_of(c(&Record::text) == std::string("x\0", 2))},
      {"maybe_text == x", key_of(c(&Record::maybe_text) == "x")},
      {"text != x", key_of(c(&Record::text) != "x")},
      {"text < x", key_of(c(&Record::text) < "x")},
      {"text <= x", key_of(c(&Record::text) <= "x")},
      {"text like x", key_of(c(&Record::text).like("x"))},
      {"text in (x)", key_of(c(&Record::text).in({"x"}))},
      {"!(text == x)", key_of(!base)},
      {"small == 1", key_of(c(&Record::small) == 1)},
      {"id == 1", key_of(c(&Record::id) == 1)},
      {"maybe_int == 1", key_of(c(&Record::maybe_int) == 1)},
      {"real == 1", key_of(c(&Record::real) == 1.0)},
      {"maybe_int is null", key_of(c(&Record::maybe_int).is_null())},
      {"maybe_int not null", key_of(c(&Record::maybe_int).is_null(false))},
      {"maybe_int == nullopt", key_of(c(&Record::maybe_int) == std::nullopt)},
      {"text == x && small == 1", key_of(base && c(&Record::small) == 1)},
      {"text == x || small == 1", key_of(base || c(&Record::small) == 1)},
      {"filter text == x, no lookup", key_of(base, gocp::Expr<Record>{})},
      {"no filter, no lookup", key_of(gocp::Expr<Record>{}, gocp::Expr<Record>{})},
      {"filter small == 1, lookup text == x", key_of(c(&Record::small) == 1, base)},
      // Text that spells out another lookup's canonical form: length prefixes keep it apart.
      {"text == 's1:x'", key_of(c(&Record::text) == "s1:x")},
      {"text == 'x,small=i1'", key_of(c(&Record::text) == "x,small=i1")},
      {"in (a, b)", key_of(c(&Record::text).in({"a", "b"}))},
      {"in (a,b)", key_of(c(&Record::text).in({"a,b"}))},
      {"in ('a,s1:b')", key_of(c(&Record::text).in({"a,s1:b"}))},
      // The same lookup on another model with the same layout.
      {"twin: text == x", key_of(c(&RecordTwin::text) == "x")},
      {"v2: text == x", key_of(c(&RecordV2::text) == "x")},
  };
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t j = i + 1; j < keys.size(); ++j) {
      INFO(keys[i].first << "  vs  " << keys[j].first);
      CHECK(keys[i].second != keys[j].second);
    }
  }
  // A filter is not the same as no filter, whatever the lookup.
  CHECK(key_of(base, c(&Record::small) == 1) != key_of(c(&Record::small) == 1));
  CHECK(key_of(c(&Record::small) == 1, base) != key_of(base, c(&Record::small) == 1));
}

TEST_CASE("keys: long or unsafe keys are hashed to safe keys that still differ", "[keys]") {
  const std::string long_a(300, 'a');
  std::string long_b = long_a;
  long_b.back() = 'b';  // differs only past the readable prefix
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);

  std::vector<std::pair<std::string, std::string>> keys = {
      {"long a", key_of(c(&Record::text) == long_a)},
      {"long b", key_of(c(&Record::text) == long_b)},
      {"long a on maybe_text", key_of(c(&Record::maybe_text) == long_a)},
      {"long a as filter", key_of(c(&Record::text) == long_a, gocp::Expr<Record>{})},
      {"space", key_of(c(&Record::text) == "two words")},
      {"other space", key_of(c(&Record::text) == "two  words")},
      {"tab", key_of(c(&Record::text) == "two\twords")},
      {"newline", key_of(c(&Record::text) == "two\nwords")},
      {"NUL", key_of(c(&Record::text) == std::string("two\0words", 9))},
      {"DEL", key_of(c(&Record::text) == "two\x7fwords")},
      {"non-ASCII", key_of(c(&Record::text) == "caf\xc3\xa9")},
      {"other non-ASCII", key_of(c(&Record::text) == "caf\xc3\xa8")},
      {"all bytes", key_of(c(&Record::text) == all_bytes)},
      {"many terms", key_of(c(&Record::text).in(std::vector<std::string>(40, "value")))},
      {"safe", key_of(c(&Record::text) == "two_words")},
  };
  for (const auto& [what, key] : keys) {
    INFO(what << ": " << key);
    CHECK(memcached_safe(key));
    CHECK(key.rfind("gocp:" + std::string(kDatabaseId) + ":tests.record:", 0) == 0);  // still names its database and model
  }
  for (std::size_t i = 0; i < keys.size(); ++i)
    for (std::size_t j = i + 1; j < keys.size(); ++j) {
      INFO(keys[i].first << "  vs  " << keys[j].first);
      CHECK(keys[i].second != keys[j].second);
    }
  CHECK(key_of(c(&Record::text) == long_a) == keys[0].second);  // hashing is deterministic
  // Hashed lookups of two models stay apart too.
  CHECK(key_of(c(&RecordTwin::text) == long_a) != keys[0].second);

  // Entry keys (pk -> object, generation) obey the same rules.
  const std::string prefix = gocp::detail::key_prefix(gocp::model_info<Record>(), kDatabaseId);
  const auto object_key = gocp::detail::entry_key(prefix, 'o', gocp::Value{std::string("a b\x01")});
  const auto generation_key = gocp::detail::entry_key(prefix, 'g', gocp::Value{std::string("a b\x01")});
  CHECK(memcached_safe(object_key));
  CHECK(memcached_safe(generation_key));
  CHECK(object_key != generation_key);
  CHECK(gocp::detail::entry_key(prefix, 'o', gocp::Value{std::int64_t{1}}) !=
        gocp::detail::entry_key(prefix, 'o', gocp::Value{std::string("1")}));
}

// ---- detail::matches agrees with SQLite -------------------------------------------------

TEST_CASE("matches: in-memory evaluation selects exactly the rows SQLite selects", "[matches][sqlite]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url());
  gocp::Repository<Item> items{db};
  items.create_table();

  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::int64_t> ns = {-5, 0, 1, 2, 3, 10, std::numeric_limits<std::int64_t>::max(),
                                        std::numeric_limits<std::int64_t>::min()};
  const std::vector<std::optional<std::int64_t>> ons = {std::nullopt, 1, 5, std::nullopt, -2, 0, 7};
  // no -0.0: SQLite would store +0.0, so gocp refuses it there (test_values)
  const std::vector<double> xs = {-1.5, 0.0, 1.5, 2.0, 2.5, 1e300, -inf, inf, -2.5};
  const std::vector<std::optional<double>> oxs = {std::nullopt, 1.0, 2.5, -3.0};
  const std::vector<std::string> ts = {"abc", "ABC", "abd", "", "a%c", "a_c", "a\\c", "100%", "100", "caf",
                                       "zeta", "ab", "x_y%z", "abcabc", "_", "%", "\\", "a", "b", "aXc"};
  const std::vector<std::optional<std::string>> ss = {std::nullopt, "abc", "", "a%c", "Abc", std::nullopt,
                                                      "x", "50%", "50% off", "a_c"};
  for (std::size_t i = 0; i < 60; ++i) {
    Item item;
    item.n = ns[i % ns.size()];
    item.on = ons[(i * 3) % ons.size()];
    item.x = xs[(i * 5) % xs.size()];
    item.ox = oxs[(i * 7) % oxs.size()];
    item.t = ts[i % ts.size()];
    item.s = ss[(i * 11) % ss.size()];
    items.create(item);
  }
  const std::vector<Item> rows = items.all();
  REQUIRE(rows.size() == 60);

  using E = gocp::Expr<Item>;
  const auto n = c(&Item::n);
  const auto on = c(&Item::on);
  const auto x = c(&Item::x);
  const auto ox = c(&Item::ox);
  const auto t = c(&Item::t);
  const auto s = c(&Item::s);
  const std::vector<std::pair<std::string, E>> expressions = {
      {"empty", E{}},
      {"n == 3", n == 3},
      {"n != 3", n != 3},
      {"n < 2", n < 2},
      {"n <= 2", n <= 2},
      {"n > 2", n > 2},
      {"n >= 2", n >= 2},
      {"n == INT64_MAX", n == std::numeric_limits<std::int64_t>::max()},
      {"n < INT64_MIN", n < std::numeric_limits<std::int64_t>::min()},
      {"on == 5", on == 5},
      {"on != 5", on != 5},  // NULL rows are "not equal" (IS DISTINCT FROM)
      {"on < 5", on < 5},    // NULL rows are unknown: not selected
      {"on >= 0", on >= 0},
      {"on == nullopt", on == std::nullopt},
      {"on != nullopt", on != std::nullopt},
      {"on is null", on.is_null()},
      {"on is not null", on.is_null(false)},
      {"on in (1, 5)", on.in({1, 5})},
      {"on in ()", on.in(std::vector<std::int64_t>{})},
      {"on in (1, NULL)", on.in(std::vector<std::optional<std::int64_t>>{1, std::nullopt})},
      {"n in (0, 1, 99)", n.in({0, 1, 99})},
      {"x == 2", x == 2},
      {"x < 1.5", x < 1.5},
      {"x > 0", x > 0.0},
      {"x == 0 (and -0)", x == 0.0},
      {"x >= inf", x >= inf},
      {"x < -1e308", x < -1e308},
      {"ox <= 1", ox <= 1.0},
      {"ox != 2.5", ox != 2.5},
      {"ox in (1, 2.5)", ox.in({1.0, 2.5})},
      {"t == abc", t == "abc"},
      {"t != abc", t != "abc"},
      {"t < abd", t < "abd"},  // bytewise: "ABC" < "abc"
      {"t >= a", t >= "a"},
      {"t == ''", t == ""},
      {"t in (abc, ABC, zzz)", t.in({"abc", "ABC", "zzz"})},
      {"s == abc", s == "abc"},
      {"s != abc", s != "abc"},
      {"s > ''", s > ""},
      {"s is null", s.is_null()},
      {"t like a%", t.like("a%")},
      {"t like A%", t.like("A%")},  // case-sensitive
      {"t like %c", t.like("%c")},
      {"t like a_c", t.like("a_c")},
      {"t like %b%", t.like("%b%")},
      {"t like _", t.like("_")},
      {"t like %", t.like("%")},
      {"t like ''", t.like("")},
      {"t like a\\%c", t.like("a\\%c")},
      {"t like a\\_c", t.like("a\\_c")},
      {"t like a\\\\c", t.like("a\\\\c")},
      {"t like %\\%", t.like("%\\%")},
      {"t like %%%c", t.like("%%%c")},
      {"t like _b_", t.like("_b_")},
      {"t like abc%abc", t.like("abc%abc")},
      {"t startswith a_", t.startswith("a_")},
      {"t startswith 100%", t.startswith("100%")},
      {"t startswith ''", t.startswith("")},
      {"t endswith %", t.endswith("%")},
      {"t endswith \\c", t.endswith("\\c")},
      {"t contains _", t.contains("_")},
      {"t contains \\", t.contains("\\")},
      {"s startswith 50%", s.startswith("50%")},
      {"s like %", s.like("%")},  // NULL LIKE anything is unknown
      {"s contains b", s.contains("b")},
      {"n > 0 && on < 5", n > 0 && on < 5},
      {"n > 0 || on < 5", n > 0 || on < 5},
      {"!(on < 5)", !(on < 5)},  // NULL rows: NOT COALESCE(NULL, FALSE) selects them
      {"!(on == 5)", !(on == 5)},
      {"!(on != 5)", !(on != 5)},
      {"!(on is null)", !on.is_null()},
      {"!(s like a%)", !s.like("a%")},
      {"!(on < 5 && n == 1)", !(on < 5 && n == 1)},
      {"!(on < 5 || n == 1)", !(on < 5 || n == 1)},
      {"on < 5 || n == 1", on < 5 || n == 1},
      {"on < 5 && !(n == 1)", on < 5 && !(n == 1)},
      {"!!(on < 5)", !!(on < 5)},
      {"!(s == abc) && t like a%", !(s == "abc") && t.like("a%")},
      {"(on in (1,NULL)) || s is null", on.in(std::vector<std::optional<std::int64_t>>{1, std::nullopt}) || s.is_null()},
      {"!(on in (1,NULL))", !on.in(std::vector<std::optional<std::int64_t>>{1, std::nullopt})},
      {"(n < 3 || x > 1) && (s != x || ox is null)", (n < 3 || x > 1.0) && (s != "x" || ox.is_null())},
      {"!((t like %c && on >= 0) || !(ox < 2))", !((t.like("%c") && on >= 0) || !(ox < 2.0))},
      {"!(E{}) (nothing)", !E{}},
  };

  for (const auto& [name, expr] : expressions) {
    for (bool negate : {false, true}) {
      const E e = negate ? !expr : expr;
      std::set<std::int64_t> from_sql, from_memory;
      for (const Item& row : items.filter(e).all()) from_sql.insert(row.id);
      for (const Item& row : rows)
        if (gocp::detail::matches(e, row, gocp::detail::sqlite_dialect)) from_memory.insert(row.id);
      INFO((negate ? "!(" + name + ")" : name) << ": SQL selects " << from_sql.size() << " rows, matches() "
                                                 << from_memory.size());
      CHECK(from_sql == from_memory);
    }
  }
}

TEST_CASE("matches: LIKE agrees with SQLite on multi-byte UTF-8, embedded NULs and a trailing escape",
          "[matches][sqlite]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url());
  gocp::Repository<Item> items{db};
  items.create_table();
  const std::vector<std::string> ts = {"caf\xc3\xa9",         // "café": 5 bytes, 4 characters
                                       "\xc3\xa9",            // "é": 2 bytes, 1 character
                                       "\xe2\x82\xac\xc3\xa9",  // "€é": 5 bytes, 2 characters
                                       "ab",
                                       std::string("ab\0cd", 5),  // SQLite's LIKE stops at the NUL
                                       "abc\\",
                                       "abc",
                                       "\xc3\x89t\xc3\xa9",        // "Été": case differs only in a multi-byte letter
                                       "\xc3\xa9t\xc3\xa9",        // "été"
                                       "ABC",
                                       "aBc\xc3\xa9",
                                       "\xc3\xa9\xc3\xa9_",        // "éé_"
                                       "\xf0\x9f\x98\x80x",        // a 4-byte character, then x
                                       "\x80",                    // a lone continuation byte: SQLite reads U+0080
                                       "\xc2\x80",                // U+0080
                                       "\xc0\xaf",                // overlong: SQLite reads U+FFFD
                                       "\xef\xbf\xbd"};          // U+FFFD
  for (const auto& t : ts) {
    Item item;
    item.t = t;
    items.create(item);
  }
  const std::vector<Item> rows = items.all();
  const auto t = c(&Item::t);
  const std::vector<std::pair<std::string, gocp::Expr<Item>>> expressions = {
      {"caf_", t.like("caf_")},
      {"_", t.like("_")},
      {"__", t.like("__")},
      {"%_", t.like("%_")},
      {"%__", t.like("%__")},
      {"_\xc3\xa9", t.like("_\xc3\xa9")},
      {"%\xc3\xa9", t.like("%\xc3\xa9")},
      {"caf\xc3\xa9", t.like("caf\xc3\xa9")},
      {"%cd", t.like("%cd")},
      {"ab%", t.like("ab%")},
      {"ab", t.like("ab")},
      {"ab_cd", t.like("ab_cd")},
      {"contains cd", t.contains("cd")},
      {"== ab", t == "ab"},
      {"abc\\ (lone escape)", t.like("abc\\")},
      {"%\\ (lone escape)", t.like("%\\")},
      {"abc\\\\", t.like("abc\\\\")},
      {"endswith \\", t.endswith("\\")},
      {"_t_", t.like("_t_")},
      {"\xc3\xa9%", t.like("\xc3\xa9%")},
      {"startswith \xc3\xa9\xc3\xa9_ (escaped _)", t.startswith("\xc3\xa9\xc3\xa9_")},
      {"startswith \xc3\xa9", t.startswith("\xc3\xa9")},
      {"startswith \xc3\x89 (case differs)", t.startswith("\xc3\x89")},
      {"abc (vs ABC, aBc...)", t.like("abc")},
      {"ABC%", t.like("ABC%")},
      {"aBc_", t.like("aBc_")},
      {"%\xc3\xa9", t.like("%\xc3\xa9")},
      {"_x", t.like("_x")},
      {"__x", t.like("__x")},
      {"contains \xc2\x80", t.contains("\xc2\x80")},
      {"\x80", t.like("\x80")},
      {"\xef\xbf\xbd", t.like("\xef\xbf\xbd")},
      {"== \x80", t == "\x80"},
  };
  // Every verdict memory claims is SQLite's; text SQLite reads as other characters than
  // its bytes say (not UTF-8) and patterns PostgreSQL rejects are left to the database.
  std::size_t claimed = 0;
  for (const auto& [name, e] : expressions) {
    std::set<std::int64_t> from_sql;
    for (const Item& row : items.filter(e).all()) from_sql.insert(row.id);
    for (const Item& row : rows) {
      const auto v = gocp::detail::verdict(e, row, gocp::detail::sqlite_dialect);
      if (v != gocp::detail::Truth::yes && v != gocp::detail::Truth::no) continue;
      ++claimed;
      INFO("t like " << name << " on '" << row.t << "'");
      CHECK((v == gocp::detail::Truth::yes) == (from_sql.count(row.id) == 1));
    }
  }
  CHECK(claimed * 3 > rows.size() * expressions.size() * 2);  // the refusals are the few undecidable ones
}

TEST_CASE("matches: random LIKE patterns over random text agree with SQLite", "[matches][sqlite]") {
  gocp::test::TempDir dir;
  auto db = gocp::Database::open(dir.sqlite_url());
  gocp::Repository<Item> items{db};
  items.create_table();
  // Pieces that exercise wildcards, escapes, case and multi-byte characters.
  const std::vector<std::string> pieces = {"a", "b", "A", "%", "_", "\\", "\xc3\xa9", "\xe2\x82\xac", "ab"};
  std::mt19937 rng(20240601);
  auto random_text = [&](std::size_t max_pieces) {
    std::string out;
    for (std::size_t k = rng() % (max_pieces + 1); k > 0; --k) out += pieces[rng() % pieces.size()];
    return out;
  };
  for (int i = 0; i < 40; ++i) {
    Item item;
    item.t = random_text(5);
    items.create(item);
  }
  const std::vector<Item> rows = items.all();
  for (int i = 0; i < 300; ++i) {
    const std::string pattern = random_text(4);
    const auto e = c(&Item::t).like(pattern);
    std::set<std::int64_t> from_sql, from_memory;
    for (const Item& row : items.filter(e).all()) from_sql.insert(row.id);
    for (const Item& row : rows)
      if (gocp::detail::matches(e, row, gocp::detail::sqlite_dialect)) from_memory.insert(row.id);
    INFO("pattern '" << pattern << "'");
    CHECK(from_sql == from_memory);
  }
}
