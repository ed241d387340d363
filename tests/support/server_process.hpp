#pragma once
// A cache server (redis-server, memcached) run by a test: on 127.0.0.1, a free port,
// its files in a fresh temp directory, started with PR_SET_PDEATHSIG so it dies with
// the test process, stopped by pid. Fault helpers: kill() (SIGKILL, as a crash),
// restart() (same port, empty), pause() / resume() (SIGSTOP / SIGCONT: alive but mute).
// A missing binary throws naming the package: a cache test never skips.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "temp_dir.hpp"

extern char** environ;

namespace gocp::test {

class ServerProcess {
 public:
  /// `argv_for(port, dir)` is the command line; `hello` is sent to test readiness, and
  /// the reply must start with `expect`.
  ServerProcess(std::string binary, std::string package, std::function<std::vector<std::string>(int, const TempDir&)> argv_for,
                std::string hello, std::string expect)
      : binary_(std::move(binary)), argv_for_(std::move(argv_for)), hello_(std::move(hello)), expect_(std::move(expect)) {
    if (access(binary_.c_str(), X_OK) != 0)
      throw std::runtime_error("test server: " + binary_ + " was not found; install the '" + package +
                               "' package (.ci/install-deps does). Cache tests never skip.");
    start(0);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { kill(); }

  int port() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }
  const TempDir& dir() const noexcept { return dir_; }

  /// SIGKILL, as a crash: everything it held is gone.
  void kill() noexcept {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  /// Starts it again on the same port, empty.
  void restart() {
    kill();
    start(port_);
  }
  /// Returns once the process is stopped (SIGSTOP is delivered asynchronously).
  void pause() {
    ::kill(pid_, SIGSTOP);
    for (int i = 0; i < 200 && state() != 'T'; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (state() != 'T') throw std::runtime_error("test server: " + binary_ + " did not stop on SIGSTOP");
  }
  void resume() { ::kill(pid_, SIGCONT); }

  /// Sends `request` and returns what arrives within a second (for test assertions).
  std::string send(const std::string& request) const {
    const int s = connect_to(port_);
    if (s < 0) throw std::runtime_error("test server: cannot connect to port " + std::to_string(port_));
    std::string reply = exchange(s, request, std::chrono::milliseconds(1000));
    ::close(s);
    return reply;
  }

 private:
  /// The process state letter from /proc/<pid>/stat ('T' when stopped).
  char state() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    return close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2];
  }

  static int free_port() {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("test server: cannot find a free port");
    ::close(s);
    return ntohs(addr.sin_port);
  }

  static int connect_to(int port) {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (s >= 0 && ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return s;
    if (s >= 0) ::close(s);
    return -1;
  }

  static std::string exchange(int s, const std::string& request, std::chrono::milliseconds wait) {
    if (::send(s, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) return {};
    std::string reply;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{s, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) {
        if (!reply.empty()) break;  // got something, and nothing more is coming
        continue;
      }
      const ssize_t n = ::recv(s, buf, sizeof buf, 0);
      if (n <= 0) break;
      reply.append(buf, static_cast<std::size_t>(n));
    }
    return reply;
  }

  void start(int fixed_port) {
    for (int attempt = 1;; ++attempt) {
      port_ = fixed_port ? fixed_port : free_port();
      const auto argv = argv_for_(port_, dir_);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      const std::string log = dir_.file("server.log").string();
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      const pid_t parent = getpid();
      pid_ = fork();
      if (pid_ < 0) throw std::runtime_error("test server: fork failed");
      if (pid_ == 0) {
        if (fd >= 0) {
          dup2(fd, 1);
          dup2(fd, 2);
        }
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(125);
        execve(args[0], args.data(), environ);
        _exit(127);
      }
      if (fd >= 0) ::close(fd);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::chrono::steady_clock::now() < deadline) {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;  // it exited: probably the port was taken meanwhile
        }
        const int s = connect_to(port_);
        if (s >= 0) {
          const std::string reply = exchange(s, hello_, std::chrono::milliseconds(200));
          ::close(s);
          if (reply.rfind(expect_, 0) == 0) return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (pid_ > 0) {
        kill();
        throw std::runtime_error("test server: " + binary_ + " did not answer within 20 s: " + log_tail());
      }
      if (attempt == 5) throw std::runtime_error("test server: " + binary_ + " would not start: " + log_tail());
    }
  }

  std::string log_tail() const {
    std::ifstream in(dir_.file("server.log"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str().substr(0, 2000);
  }

  std::string binary_;
  std::function<std::vector<std::string>(int, const TempDir&)> argv_for_;
  std::string hello_, expect_;
  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace gocp::test
