#pragma once
// Threads and processes that start together, for the races of the concurrency suites:
//
//     auto errors = gocp::test::run_threads(8, [&](int t) { ... });      // throws -> errors[t]
//     gocp::test::check_no_errors(errors);
//     auto statuses = gocp::test::run_processes(4, [&](int i) { ...; return 0; });
//     gocp::test::check_exited_cleanly(statuses);
//
// A child process is forked with nothing of the parent's connections in use (open every
// Database inside the child), waits until every sibling is forked, runs its function and
// leaves with _exit, so it never runs the parent's atexit handlers (which would stop the
// parent's test servers).

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <latch>
#include <string>
#include <thread>
#include <vector>

namespace gocp::test {

/// Runs body(t) on n threads released at once; errors[t] is the what() of the exception
/// thread t ended with (empty when none).
template <class Body>
std::vector<std::string> run_threads(int n, Body&& body) {
  std::vector<std::string> errors(static_cast<std::size_t>(n));
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      try {
        body(t);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(t)] = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  return errors;
}

inline void check_no_errors(const std::vector<std::string>& errors) {
  for (std::size_t t = 0; t < errors.size(); ++t) {
    CAPTURE(t, errors[t]);
    CHECK(errors[t].empty());
  }
}

/// Runs child(i) in n forked processes released at once (each waits for EOF on a pipe the
/// parent closes when all are forked). child's return value is the exit status; an
/// exception is printed to stderr and exits 1; a child still running after `timeout_s` is
/// killed by its alarm. Returns each child's wait status, in order.
template <class Child>
std::vector<int> run_processes(int n, Child&& child, unsigned timeout_s = 60) {
  int start[2];
  REQUIRE(pipe(start) == 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    std::fflush(nullptr);  // nothing buffered is written twice
    const pid_t pid = fork();
    if (pid == 0) {
      close(start[1]);
      alarm(timeout_s);
      int status = 1;
      try {
        char ignored;
        ssize_t got;
        do got = read(start[0], &ignored, 1);  // EOF when the parent closes its end: go
        while (got < 0 && errno == EINTR);
        close(start[0]);
        status = child(i);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", i, e.what());
      } catch (...) {
        std::fprintf(stderr, "child %d: unknown exception\n", i);
      }
      std::fflush(nullptr);
      _exit(status);
    }
    REQUIRE(pid > 0);
    pids.push_back(pid);
  }
  close(start[0]);
  close(start[1]);  // the start signal: every child's read() returns 0 now
  std::vector<int> statuses;
  for (const pid_t pid : pids) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    statuses.push_back(status);
  }
  return statuses;
}

/// Every child exited normally with status 0 (not killed, not failed).
inline void check_exited_cleanly(const std::vector<int>& statuses) {
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    CAPTURE(i);
    REQUIRE(WIFEXITED(statuses[i]));
    CHECK(WEXITSTATUS(statuses[i]) == 0);
  }
}

}  // namespace gocp::test
