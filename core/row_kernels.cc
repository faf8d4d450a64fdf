#include "core/row_kernels.h"

namespace xmr {

__attribute__((target_clones("avx512f", "avx2", "default"))) void add_scaled(float* __restrict acc,
                                                                             const float* __restrict x, float a,
                                                                             size_t n) {
  for (size_t c = 0; c < n; ++c) acc[c] += a * x[c];
}

}  // namespace xmr
