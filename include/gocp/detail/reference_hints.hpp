#pragma once
// What a lookup entry was last seen to refer to, shared by the threads of a process: a
// guess handed to Cache::get_following, so a shared cache can read a lookup, its object
// and the object's generation in one multi-get (a plain MGET on Redis, far cheaper on
// the server than a script) instead of following the reference. Only a guess: the cache
// checks it against the lookup entry it reads, and a wrong one costs a second read.
//
// A fixed table of slots, direct-mapped by the lookup's hash; each slot a seqlock over
// atomic words (no locks, no data race): a reader that meets a writer sees no hint.
// References longer than kMaxReference bytes (hashed pks) are not remembered.

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace gocp::detail {

class ReferenceHints {
 public:
  static constexpr std::size_t kMaxReference = 23;  ///< the length byte and 23 bytes: three words

  /// A table of `slots` (rounded up to a power of two) hints.
  explicit ReferenceHints(std::size_t slots) : mask_(std::bit_ceil(slots) - 1), slots_(new Slot[mask_ + 1]) {}

  /// The reference last remembered for `lookup` into `out` (empty when none is known).
  void find(std::uint64_t lookup, std::string& out) const noexcept {
    out.clear();
    const Slot& s = slots_[lookup & mask_];
    const std::uint64_t before = s.sequence.load(std::memory_order_acquire);
    if (before & 1) return;  // being written
    const std::uint64_t key = s.lookup.load(std::memory_order_relaxed);
    std::uint64_t words[3];
    for (int i = 0; i < 3; ++i) words[i] = s.words[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s.sequence.load(std::memory_order_relaxed) != before || key != lookup || before == 0) return;
    char bytes[24];
    std::memcpy(bytes, words, sizeof bytes);
    const auto length = static_cast<std::size_t>(static_cast<unsigned char>(bytes[0]));
    if (length <= kMaxReference) out.assign(bytes + 1, length);
  }

  /// Remembers `reference` for `lookup` (unless too long, or another thread is writing the slot).
  void remember(std::uint64_t lookup, std::string_view reference) noexcept {
    if (reference.empty() || reference.size() > kMaxReference) return;
    Slot& s = slots_[lookup & mask_];
    std::uint64_t seq = s.sequence.load(std::memory_order_relaxed);
    if ((seq & 1) || !s.sequence.compare_exchange_strong(seq, seq + 1, std::memory_order_acq_rel)) return;
    std::atomic_thread_fence(std::memory_order_release);
    char bytes[24] = {};
    bytes[0] = static_cast<char>(reference.size());
    std::memcpy(bytes + 1, reference.data(), reference.size());
    std::uint64_t words[3];
    std::memcpy(words, bytes, sizeof bytes);
    s.lookup.store(lookup, std::memory_order_relaxed);
    for (int i = 0; i < 3; ++i) s.words[i].store(words[i], std::memory_order_relaxed);
    s.sequence.store(seq + 2, std::memory_order_release);
  }

 private:
  struct Slot {
    std::atomic<std::uint64_t> sequence{0};  // odd while written; 0: never written
    std::atomic<std::uint64_t> lookup{0};
    std::atomic<std::uint64_t> words[3] = {};
  };
  std::size_t mask_;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace gocp::detail
