// L2-loss SVMs for the children of one tree node, solved together.
//
// The children of a node train on the same rows with different labels. Solved
// one after another (core/linear_solver.h), each child's dual coordinate
// descent reads every row's features and gathers its own weights at them, so
// a node with B children reads its rows B times and misses cache B times per
// feature. Here up to kMaxSiblings children share the passes: their weights
// are interleaved feature by feature (W[f * stride + c]), so one pass over a
// row computes every child's margin from one cache line per feature, and the
// update of the children whose dual variable moved touches that same line.
//
// Each child is still its own problem (the same objective as solve_binary's
// L2-loss SVM dual, its own active set, shrinking and stopping test); only the
// visiting order is shared: one seeded shuffle per pass for the group. Once at
// most a quarter of the children still run, their weights move to a copy a
// quarter as wide, so the last passes read fewer cache lines per row; a
// child's weights are bit for bit the same whatever its siblings. The
// optimum is the same; the iterates, and so the weights at the tolerance, are
// not bit-identical to solving the children one by one.
#pragma once

#include <cstdint>
#include <vector>

#include "core/linear_solver.h"

namespace xmr {

constexpr int kMaxSiblings = 16;

// Reusable buffers (one per thread).
struct SiblingWorkspace {
  std::vector<float> W;         // (cols + 1) x stride, interleaved; the last row is the bias feature
  std::vector<float> narrow;    // (cols + 1) x stride / 4: the last children to converge, once few run
  std::vector<double> alpha;    // n x G
  std::vector<uint32_t> active; // n: bit c set while row i is in child c's active set
  std::vector<Index> order;
};

// Solves G = y.size() / X.n children (1..kMaxSiblings) on the rows of X.
// y is row-major: y[i * G + c] in {+1, -1} is row i's label for child c.
// `sq_norms[i]` is |x_i|^2 (without the bias). On return, weight j of child c
// is weight(ws, stride, j, c) for j < X.cols() (the bias weight is returned
// in bias_weights[c], already multiplied by params.bias). Deterministic for a
// given seed. Requires params.kind == kL2SvmDual; throws xmr::Error otherwise.
void solve_siblings(const RowSubset& X, const std::vector<double>& sq_norms, const std::vector<int8_t>& y,
                    const SolverParams& params, uint64_t seed, SiblingWorkspace& ws, std::vector<float>& bias_weights);

// The stride of the interleaved weights for G children: G rounded up to a
// power of two.
int sibling_stride(int G);

inline float sibling_weight(const SiblingWorkspace& ws, int stride, size_t feature, int child) {
  return ws.W[feature * size_t(stride) + size_t(child)];
}

}  // namespace xmr
