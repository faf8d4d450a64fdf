// A small learnable multi-label data set for tests: each label owns a few
// "prototype" features; an instance draws 1-3 labels and mixes their
// prototype features with noise features.
#pragma once

#include <random>

#include "core/sparse.h"

namespace xmr::testing {

struct SyntheticData {
  CsrMatrix X, Y;
};

inline SyntheticData make_synthetic(size_t n, size_t num_labels, size_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> pick_label(0, num_labels - 1), pick_feat(0, dim - 1);
  std::uniform_int_distribution<int> how_many(1, 3);
  SyntheticData d;
  d.X.cols = dim;
  d.Y.cols = num_labels;
  for (size_t i = 0; i < n; ++i) {
    std::vector<std::pair<Index, float>> f, l;
    const int k = how_many(rng);
    for (int j = 0; j < k; ++j) {
      // Popular labels first: a skewed draw gives a long tail.
      const size_t lab = std::min(pick_label(rng), pick_label(rng));
      l.emplace_back(Index(lab), 1.0f);
      for (size_t p = 0; p < 4; ++p) f.emplace_back(Index((lab * 7 + p * 13) % dim), 1.0f);
    }
    for (int j = 0; j < 3; ++j) f.emplace_back(Index(pick_feat(rng)), 0.5f);
    d.X.append_row(f);
    d.Y.append_row(l);
  }
  std::fill(d.Y.values.begin(), d.Y.values.end(), 1.0f);
  d.X.normalize_rows_l2();
  return d;
}

}  // namespace xmr::testing
