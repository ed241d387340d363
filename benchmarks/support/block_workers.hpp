#pragma once
// BlockWorkers: one thread per entry of `draws`, each running `block` operations of
// whichever side run() is given, all threads at once; run() returns the wall time of one
// such block. Operation n of thread t is side.op(t, n, key), the keys taken in turn from
// draws[t] (cycled); n counts on from t * 37, so the threads' every-k-th operations (a
// write, a save) do not fall together. An exception is printed (prefixed by `program`)
// and makes failed() true. Shared by bench_service / bench_redis (service_workload.hpp)
// and bench_cached_queries.

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

namespace gocp::bench {

template <class Side, class Key>
class BlockWorkers {
 public:
  BlockWorkers(const std::vector<std::vector<Key>>& draws, int block, std::string program)
      : start_(static_cast<std::ptrdiff_t>(draws.size()) + 1), done_(static_cast<std::ptrdiff_t>(draws.size()) + 1),
        program_(std::move(program)) {
    for (std::size_t t = 0; t < draws.size(); ++t) {
      threads_.emplace_back([this, t, block, &keys = draws[t]] {
        std::size_t cursor = 0;
        std::uint64_t n = static_cast<std::uint64_t>(t) * 37;
        for (;;) {
          start_.arrive_and_wait();
          if (!side_) return;
          try {
            for (int i = 0; i < block; ++i, ++n) {
              side_->op(static_cast<int>(t), n, keys[cursor]);
              cursor = (cursor + 1) % keys.size();
            }
          } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", program_.c_str(), e.what());
            failed_ = true;
          }
          done_.arrive_and_wait();
        }
      });
    }
  }
  BlockWorkers(const BlockWorkers&) = delete;
  BlockWorkers& operator=(const BlockWorkers&) = delete;
  ~BlockWorkers() {
    side_ = nullptr;
    start_.arrive_and_wait();
    for (auto& t : threads_) t.join();
  }

  double run(Side& side) {
    side_ = &side;
    const auto t0 = std::chrono::steady_clock::now();
    start_.arrive_and_wait();
    done_.arrive_and_wait();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  bool failed() const { return failed_; }

 private:
  std::barrier<> start_, done_;
  Side* side_ = nullptr;
  std::atomic<bool> failed_{false};
  std::string program_;
  std::vector<std::thread> threads_;
};

}  // namespace gocp::bench
