// Dense row loops of the encoder and the knn vote, compiled for AVX-512, AVX2 and the x86-64
// baseline and chosen when the program loads (GCC target_clones).
//
// Each element is computed by the same IEEE operations in the same order in
// every copy (no reductions across elements, and row_kernels.cc is built
// without floating-point contraction), so results do not depend on the
// machine. Pure functions of their arguments; thread-safe.
#pragma once

#include <cstddef>

namespace xmr {

// acc[c] += a * x[c] for c < n. acc and x must not overlap.
void add_scaled(float* acc, const float* x, float a, size_t n);

// Whether some x[c], c < n, is >= floor, for floor >= +0 and finite x: the
// bit patterns compared as integers, which order non-negative floats as their
// values and put negative ones (and -0) below every non-negative floor.
bool any_at_least(const float* x, size_t n, float floor);

}  // namespace xmr
