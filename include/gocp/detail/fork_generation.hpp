#pragma once
/// \file
/// Which side of a fork() this process is on. A child forked from a process that opened a
/// Database inherits its connections (SQLite handles, PostgreSQL sockets) and its threads'
/// objects, but not the threads. The connections are the parent's: a child that used one
/// would share it with the parent (SQLite forbids it; on PostgreSQL two processes would talk
/// over one socket), and one that closed it would close the parent's session. So each
/// holder (ConnectionPool, the shared caches' HandlePool, SqliteChangeLog) remembers the generation it was made in and,
/// when fork_generation() has moved on, drops what it holds without closing it and starts
/// afresh. A fork handler, installed with the first holder, counts the forks in the child.
///
/// As POSIX and SQLite require, no other thread may be using gocp while a thread forks (a
/// lock another thread held stays held in the child); gocp's own background threads (the
/// bounded watch's ticker, the PostgreSQL listener) are taken care of.

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace gocp::detail {

/// How many times the process, or a parent it was forked from after the first holder
/// was made, has forked into this one: 0 in the process that made them.
inline std::atomic<std::uint64_t>& fork_generation_counter() noexcept {
  static std::atomic<std::uint64_t> generation{0};
  return generation;
}

/// This process's generation (one relaxed load: cheap enough for every borrow).
inline std::uint64_t fork_generation() noexcept { return fork_generation_counter().load(std::memory_order_relaxed); }

/// Installs the fork handler that counts forks in the child, once per process. Called by
/// every holder's constructor, before it records its generation.
inline void count_forks() {
  static std::once_flag installed;
  std::call_once(installed, [] {
    ::pthread_atfork(nullptr, nullptr, [] { fork_generation_counter().fetch_add(1, std::memory_order_relaxed); });
  });
}

}  // namespace gocp::detail
