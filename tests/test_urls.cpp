// URL parsing (spi/url.hpp) and how Database::open reports a bad URL: every bad
// value is a ConfigurationError naming the option, nothing wraps or truncates, and no
// message ever shows a password.

#include <catch2/catch.hpp>

#include <gocp/gocp.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

using Catch::Matchers::Contains;
using gocp::Url;
using gocp::test::error_of;
using Err = gocp::ConfigurationError;

TEST_CASE("%00 is refused, not a silent truncation", "[url]") {
  gocp::test::TempDir dir;
  CHECK_THAT(error_of<Err>([&] { gocp::Database::open("sqlite:///" + dir.file("a.db").string() + "%00b"); }),
             Contains("%00"));
  CHECK_FALSE(std::filesystem::exists(dir.file("a.db")));
  CHECK_THAT(error_of<Err>([] { Url("postgresql://ad%00min@h/db"); }), Contains("%00"));
  CHECK_THAT(error_of<Err>([] { Url("postgresql://u:pw%00x@h/db"); }), Contains("%00"));
  CHECK_THAT(error_of<Err>([] { Url("locmem:///?key%00=1"); }), Contains("%00"));
  CHECK(Url("postgresql://a%2Fb@h/db").user() == "a/b");
}

TEST_CASE("a port is 1..65535: nothing wraps, 0 is not 'the default'", "[url]") {
  CHECK(Url("postgresql://u@h:5432/db").port() == 5432);
  CHECK(Url("postgresql://u@h:65535/db").port() == 65535);
  CHECK(Url("postgresql://u@h/db").port() == 0);  // none given
  for (const std::string bad : {"0", "65536", "4294972728" /* 2^32 + 5432 */, "-1", "", "54x", "99999999999999999999"}) {
    CAPTURE(bad);
    const std::string url = "postgresql://u@h:" + bad + "/db";
    CHECK_THAT(error_of<Err>([&] { Url{url}; }), Contains("port") && Contains(url));
  }
}

TEST_CASE("timeouts are bounded, naming the option", "[url]") {
  gocp::test::TempDir dir;
  const std::string file = dir.sqlite_url();
  for (const std::string option : {"busy_timeout_ms", "wait_timeout_ms"}) {
    for (const std::string bad : {"9223372036854775807", "2147483648", "86400001", "-1"}) {
      CAPTURE(option, bad);
      CHECK_THAT(error_of<Err>([&] { gocp::Database::open(file + "?" + option + "=" + bad); }),
                 Contains("'" + option + "'") && Contains(bad));
    }
  }
  auto db = gocp::Database::open(file + "?busy_timeout_ms=86400000&wait_timeout_ms=86400000");  // 24 h: allowed
  CHECK_THAT(error_of<Err>([&] { gocp::Database::open(file + "?pool=99999999999"); }), Contains("'pool'"));
  CHECK_THAT(error_of<Err>([] { gocp::CacheRegistry{{"default", "locmem:///?ttl_s=9223372036854775807"}}; }),
             Contains("'ttl_s'"));
}

TEST_CASE("an option given twice says so", "[url]") {
  const auto what = error_of<Err>([] { gocp::Database::open("sqlite::memory:?pool=2&pool=3"); });
  CHECK_THAT(what, Contains("'pool'") && Contains("given twice"));
  CHECK_THAT(what, !Contains("unknown"));
}

TEST_CASE("an IPv6 host in brackets keeps its port apart", "[url]") {
  const Url url("postgresql://u@[::1]:5433/db");
  CHECK(url.host() == "::1");
  CHECK(url.port() == 5433);
  CHECK(url.path() == "db");
  const Url no_port("postgresql://[fe80::1%25eth0]/db");
  CHECK(no_port.host() == "fe80::1%25eth0");
  CHECK(no_port.port() == 0);
  for (const std::string bad : {"postgresql://[::1/db", "postgresql://[::1]x/db", "postgresql://[::1]:/db",
                                "postgresql://[::1]:70000/db"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(Url{bad}, Err);
  }
}

TEST_CASE("no error message ever shows a password", "[url][errors]") {
  const std::vector<std::string> urls = {
      "postgresql://u:s3cr3t/pw@h/db",        // '/' in the password, unescaped
      "postgresql://u:s3cr3t?x@h/db",         // '?' in it
      "postgresql://u:s3cr3t@h:99999/db",     // bad port
      "postgresql://u:s3cr3t@h:0/db",
      "postgresql://u:s3cr3t@[::1/db",        // bad IPv6
      "postgresql://u:s3cr3t@h/db?bogus=1",   // unknown option
      "postgresql://u:s3cr3t@h/db?pool=1&pool=2",
      "postgresql://u:s3cr3t@h/db?pool=x",
      "postgresql://u:s3cr3t%zz@h/db",        // bad escape in the password
      "postgresql://u:s3cr3t%00@h/db",
      "postgresql://u:s3cr3t@h/d%zzb",
      "sqlite://u:s3cr3t@h/x.db",
      "mysql://u:s3cr3t@h/db",                // unknown scheme
      "locmem://u:s3cr3t@h/?max_entries=-1",
  };
  for (const auto& url : urls) {
    CAPTURE(url);
    std::string what;
    try {
      gocp::Database::open(url);
    } catch (const gocp::Error& e) {
      what = e.what();
    }
    if (url.starts_with("locmem")) {
      try {
        gocp::CacheRegistry{{"default", url}};
      } catch (const gocp::Error& e) {
        what = e.what();
      }
    }
    CHECK_FALSE(what.empty());
    CHECK_THAT(what, !Contains("s3cr3t"));
  }
  // once parsed, exactly the password is hidden, whatever follows it
  CHECK(Url("postgresql://u:s3cr3t@h:5432/db?application_name=a@b").redacted() ==
        "postgresql://u:***@h:5432/db?application_name=a@b");
  CHECK(Url("postgresql://u@h:5432/db").redacted() == "postgresql://u@h:5432/db");
}
