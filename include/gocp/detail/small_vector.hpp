#pragma once
// A vector that keeps its first N elements inline. An expression such as
// `c(x) == 1 && c(y) == 2` is three nodes: held inline, building it on every call of a
// hot path allocates nothing (a std::vector allocated three times).

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace gocp::detail {

template <class T, std::size_t N>
class SmallVector {
 public:
  SmallVector() noexcept = default;
  SmallVector(const SmallVector& other) { append(other.begin(), other.end()); }
  SmallVector(SmallVector&& other) noexcept { take(std::move(other)); }
  SmallVector& operator=(const SmallVector& other) {
    if (this != &other) {
      clear();
      append(other.begin(), other.end());
    }
    return *this;
  }
  SmallVector& operator=(SmallVector&& other) noexcept {
    if (this != &other) {
      clear();
      release();
      take(std::move(other));
    }
    return *this;
  }
  ~SmallVector() {
    clear();
    release();
  }

  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  std::size_t size() const noexcept { return size_; }
  /// Elements it can hold before it must grow.
  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  operator std::span<const T>() const noexcept { return {data_, size_}; }

  void reserve(std::size_t n) {
    if (n > capacity_) grow(n);
  }

  template <class... Args>
  void emplace_back(Args&&... args) {
    reserve(grown(size_ + 1));
    std::construct_at(data_ + size_, std::forward<Args>(args)...);
    ++size_;
  }

  /// Appends the T that make() returns, built in place (no move).
  template <class Make>
  void emplace_back_with(Make&& make) {
    reserve(grown(size_ + 1));
    ::new (static_cast<void*>(data_ + size_)) T(make());
    ++size_;
  }

  /// Appends [first, last), copying or moving as the iterators dereference.
  template <class It>
  void append(It first, It last) {
    reserve(grown(size_ + static_cast<std::size_t>(std::distance(first, last))));
    for (; first != last; ++first, ++size_) std::construct_at(data_ + size_, *first);
  }

  /// Makes room for `n` more elements and returns where they start, counting them as
  /// present but leaving them unwritten (trivial T only): write them, then truncate()
  /// to those written. One capacity check for a run of appends.
  T* append_for_overwrite(std::size_t n)
    requires std::is_trivially_copyable_v<T>
  {
    reserve(grown(size_ + n));
    T* first = data_ + size_;
    size_ += n;
    return first;
  }

  void clear() noexcept {
    std::destroy(begin(), end());
    size_ = 0;
  }

  /// Keeps the first n elements (n <= size()).
  void truncate(std::size_t n) noexcept {
    std::destroy(begin() + n, end());
    size_ = n;
  }

 private:
  /// Moves the elements to a heap block of n (out of line: the inline case is the hot one).
  [[gnu::noinline]] void grow(std::size_t n) {
    T* fresh = static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{alignof(T)}));
    std::uninitialized_move(begin(), end(), fresh);
    std::destroy(begin(), end());
    release();
    data_ = fresh;
    capacity_ = n;
  }

  T* inline_data() noexcept { return std::launder(reinterpret_cast<T*>(inline_)); }
  bool is_inline() const noexcept { return data_ == reinterpret_cast<const T*>(inline_); }
  std::size_t grown(std::size_t needed) const noexcept {
    return needed <= capacity_ ? capacity_ : std::max(needed, 2 * capacity_);
  }

  /// Frees heap storage (the elements already gone); back to inline.
  void release() noexcept {
    if (!is_inline()) ::operator delete(data_, std::align_val_t{alignof(T)});
    data_ = inline_data();
    capacity_ = N;
  }

  /// Takes other's elements: its heap block as is, or its inline ones one by one.
  void take(SmallVector&& other) noexcept {
    if (other.is_inline()) {
      std::uninitialized_move(other.begin(), other.end(), data_);
      size_ = other.size_;
      other.clear();
      return;
    }
    data_ = std::exchange(other.data_, other.inline_data());
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, N);
  }

  alignas(T) unsigned char inline_[N * sizeof(T)];
  T* data_ = inline_data();
  std::size_t size_ = 0;
  std::size_t capacity_ = N;
};

}  // namespace gocp::detail
