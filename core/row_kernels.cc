#include "core/row_kernels.h"

#include <cstdint>
#include <cstring>

namespace xmr {

__attribute__((target_clones("avx512f", "avx2", "default"))) void add_scaled(float* __restrict acc,
                                                                             const float* __restrict x, float a,
                                                                             size_t n) {
  for (size_t c = 0; c < n; ++c) acc[c] += a * x[c];
}

__attribute__((target_clones("avx512f", "avx2", "default"))) bool any_at_least(const float* x, size_t n,
                                                                               float floor) {
  int32_t floor_bits, most = INT32_MIN;
  std::memcpy(&floor_bits, &floor, sizeof floor_bits);
  for (size_t c = 0; c < n; ++c) {
    int32_t bits;
    std::memcpy(&bits, x + c, sizeof bits);
    most = bits > most ? bits : most;
  }
  return most >= floor_bits;
}

}  // namespace xmr
