#pragma once
// A throwaway redis-server for a test (see server_process.hpp), on a TCP port and a unix
// socket in its temp dir: no persistence, so a restart comes back empty, as after a crash
// of a cache server.
//
//     gocp::test::RedisServer redis;
//     gocp::CacheRegistry caches{{"default", redis.url("timeout_ms=100")}};

#include <string>
#include <vector>

#include "server_process.hpp"

namespace gocp::test {

class RedisServer : public ServerProcess {
 public:
  RedisServer()
      : ServerProcess("/usr/bin/redis-server", "redis-server",
                      [](int port, const TempDir& dir) {
                        return std::vector<std::string>{"/usr/bin/redis-server", "--port", std::to_string(port),
                                                        "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                                        "--dir", dir.path().string(), "--daemonize", "no",
                                                        "--unixsocket", (dir.path() / "redis.sock").string()};
                      },
                      "PING\r\n", "+PONG") {}

  /// `redis://127.0.0.1:<port>/<db>?<options>`
  std::string url(const std::string& options = "", int db = 0) const {
    return "redis://127.0.0.1:" + std::to_string(port()) + "/" + std::to_string(db) +
           (options.empty() ? "" : "?" + options);
  }
  /// The server's unix socket (it listens on TCP and on it).
  std::string socket_path() const { return (dir().path() / "redis.sock").string(); }
  /// Sends one inline command (e.g. "CONFIG SET maxmemory 1mb") and returns the reply.
  std::string command(const std::string& line) const { return send(line + "\r\n"); }
};

}  // namespace gocp::test
