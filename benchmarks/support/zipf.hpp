#pragma once
// Zipf(s) draws over a set of keys: rank r (0-based) has weight 1 / (r + 1)^s, and ranks
// map to keys by a fixed shuffle, so the hot keys are spread over the key space (many
// keys, skewed access: the shape of a service's traffic).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <utility>
#include <vector>

namespace gocp::bench {

template <class Key>
class Zipf {
 public:
  /// `keys` by rank after shuffling them with `shuffle`; weights 1 / (r + 1)^s.
  template <class Rng>
  Zipf(std::vector<Key> keys, double s, Rng& shuffle) : key_of_rank_(std::move(keys)), cdf_(key_of_rank_.size()) {
    double sum = 0;
    for (std::size_t r = 0; r < cdf_.size(); ++r) cdf_[r] = sum += 1 / std::pow(static_cast<double>(r) + 1.0, s);
    std::shuffle(key_of_rank_.begin(), key_of_rank_.end(), shuffle);
  }
  /// One key, drawn with `rng`.
  template <class Rng>
  const Key& draw(Rng& rng) const {
    std::uniform_real_distribution<double> u(0, cdf_.back());
    const auto r = static_cast<std::size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u(rng)) - cdf_.begin());
    return key_of_rank_[std::min(r, key_of_rank_.size() - 1)];
  }

 private:
  std::vector<Key> key_of_rank_;
  std::vector<double> cdf_;
};

}  // namespace gocp::bench
