// One PostgreSQL server for a whole `ctest` run (the CTest fixture gocp_pg_shared):
//
//     pg_fixture start <state file>   starts a server (support/postgres_server.hpp) in a
//                                     process of its own and returns once it accepts
//                                     connections: the state file then holds its port
//     pg_fixture stop <state file>    stops it, and waits until it is gone
//
// The tests that share it find it through GOCP_TEST_PG_SHARED=<state file>, and each
// creates (and at exit drops) databases of its own there. The keeper of the server also
// stops it when the ctest that started it is gone (killed, interrupted), so a run that
// never reaches `stop` leaves no server behind.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "postgres_server.hpp"

namespace {

volatile sig_atomic_t stop_requested = 0;
std::filesystem::path published_state;  ///< removed at exit, once the server is stopped

/// The keeper: runs the server until told to stop (SIGTERM) or until `ctest` is gone.
/// Reports on `report`: "" once the server is up, else why it could not start.
[[noreturn]] void keep_server(const std::filesystem::path& state_file, pid_t ctest, int report) {
  setsid();  // out of ctest's process group: ctest waits for the start command only
  const int log = ::open((state_file.string() + ".log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log >= 0) {  // never ctest's output pipe: ctest would wait for it to close
    dup2(log, 1);
    dup2(log, 2);
  }
  const int null_in = ::open("/dev/null", O_RDONLY);
  if (null_in >= 0) dup2(null_in, 0);
  struct sigaction on_term {};
  on_term.sa_handler = [](int) { stop_requested = 1; };
  sigaction(SIGTERM, &on_term, nullptr);
  sigaction(SIGINT, &on_term, nullptr);
  // Registered before the server exists, so it runs after the server's destructor: the
  // state file disappears once the server is stopped and its directory removed (`stop`
  // waits for that).
  published_state = state_file;
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove(published_state, ignored);
  });
  int status = 0;
  try {
    auto& server = gocp::test::PostgresServer::instance();  // started here, on this (main) thread
    server.publish(state_file);
    const char ok = 0;
    if (::write(report, &ok, 1) != 1) status = 1;
    ::close(report);
    while (!stop_requested && (::kill(ctest, 0) == 0 || errno != ESRCH))
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } catch (const std::exception& e) {
    const std::string why = e.what();
    if (::write(report, why.data(), why.size()) < 0) {
    }
    status = 1;
  }
  std::exit(status);  // the server's destructor stops it, then the state file goes
}

int start(const std::filesystem::path& state_file) {
  std::error_code ec;
  std::filesystem::remove(state_file, ec);
  std::filesystem::create_directories(state_file.parent_path(), ec);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::perror("pg_fixture: pipe");
    return 1;
  }
  const pid_t ctest = getppid();
  const pid_t keeper = fork();
  if (keeper < 0) {
    std::perror("pg_fixture: fork");
    return 1;
  }
  if (keeper == 0) {
    ::close(fds[0]);
    keep_server(state_file, ctest, fds[1]);
  }
  ::close(fds[1]);
  std::string report;
  char buf[512];
  ssize_t n = 0;
  bool up = false;
  while ((n = ::read(fds[0], buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (report.empty() && !up && n >= 1 && buf[0] == 0) {
      up = true;
      break;
    }
    report.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  if (!up) {
    std::fprintf(stderr, "pg_fixture: the shared PostgreSQL server did not start: %s\n",
                 report.empty() ? "its keeper died (see the .log beside the state file)" : report.c_str());
    waitpid(keeper, nullptr, WNOHANG);
    return 1;
  }
  std::ifstream in(state_file);
  int port = 0;
  in >> port;
  std::printf("pg_fixture: a shared PostgreSQL server on 127.0.0.1:%d (keeper pid %d)\n", port, static_cast<int>(keeper));
  return 0;
}

int stop(const std::filesystem::path& state_file) {
  std::ifstream in(state_file);
  int port = 0;
  long keeper = 0;
  if (!(in >> port >> keeper) || keeper <= 0) {
    std::printf("pg_fixture: no shared server to stop (%s)\n", state_file.c_str());
    return 0;
  }
  if (::kill(static_cast<pid_t>(keeper), SIGTERM) != 0) {
    std::printf("pg_fixture: the shared server's keeper (pid %ld) is already gone\n", keeper);
    return 0;
  }
  for (int i = 0; i < 300; ++i) {  // 30 s
    std::error_code ec;
    if (!std::filesystem::exists(state_file, ec) || (::kill(static_cast<pid_t>(keeper), 0) != 0 && errno == ESRCH)) {
      std::printf("pg_fixture: stopped the shared server on port %d\n", port);
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::fprintf(stderr, "pg_fixture: the shared server's keeper (pid %ld) did not stop within 30 s\n", keeper);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "start") != 0 && std::strcmp(argv[1], "stop") != 0)) {
    std::fprintf(stderr, "usage: pg_fixture start|stop <state file>\n");
    return 2;
  }
  return std::strcmp(argv[1], "start") == 0 ? start(argv[2]) : stop(argv[2]);
}
