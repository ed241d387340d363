#pragma once
// A throwaway memcached for a test (see server_process.hpp); `item_size_max` bounds
// the largest value it takes (memcached's -I).
//
//     gocp::test::MemcachedServer mc;
//     gocp::CacheRegistry caches{{"default", mc.url("timeout_ms=100")}};

#include <unistd.h>

#include <string>
#include <vector>

#include "server_process.hpp"

namespace gocp::test {

class MemcachedServer : public ServerProcess {
 public:
  explicit MemcachedServer(const std::string& item_size_max = "1m")
      : ServerProcess("/usr/bin/memcached", "memcached",
                      [item_size_max](int port, const TempDir&) {
                        std::vector<std::string> argv{"/usr/bin/memcached", "-l", "127.0.0.1", "-p",
                                                      std::to_string(port), "-U", "0", "-m", "64", "-I",
                                                      item_size_max};
                        if (geteuid() == 0) {  // memcached refuses to run as root without -u
                          argv.push_back("-u");
                          argv.push_back("root");
                        }
                        return argv;
                      },
                      "version\r\n", "VERSION") {}

  /// `memcached://127.0.0.1:<port>?<options>`
  std::string url(const std::string& options = "") const {
    return "memcached://127.0.0.1:" + std::to_string(port()) + (options.empty() ? "" : "?" + options);
  }
};

}  // namespace gocp::test
