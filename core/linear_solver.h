// Binary linear classifiers trained by dual coordinate descent
// (Hsieh et al., ICML 2008; Yu, Huang & Lin, MLJ 2011):
//
//   L2-loss SVM:   min_w  1/2 |w|^2 + sum_i C_i max(0, 1 - y_i w.x_i)^2
//   logistic:      min_w  1/2 |w|^2 + sum_i C_i log(1 + exp(-y_i w.x_i))
//
// with C_i = Cp for positives and Cn for negatives, and x_i augmented by a
// constant `bias` feature (its weight is returned separately, unregularised
// only in the sense that it is an ordinary coordinate of w).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/sparse.h"

namespace xmr {

enum class SolverKind { kL2SvmDual, kLogisticDual };

struct SolverParams {
  SolverKind kind = SolverKind::kL2SvmDual;
  double Cp = 1.0;       // cost of positive examples
  double Cn = 1.0;       // cost of negative examples
  double eps = 0.1;      // stopping tolerance on the projected gradient
  int max_iter = 100;    // passes over the data
  double bias = 1.0;     // value of the constant feature; 0 disables it

  void validate() const;  // throws xmr::Error on out-of-range values
};

// Reusable buffers so solving many problems does not reallocate.
struct SolverWorkspace {
  std::vector<float> w;  // float, as the features: half the cache footprint of the scattered updates
  std::vector<double> alpha, qd;
  std::vector<Index> order;
};

// Some rows of a matrix, in place: row r of the view is X's row rows[r]
// (every row of X, in order, when rows is null). Lets a big training problem
// use the matrix's rows without copying them.
struct RowSubset {
  const CsrMatrix* X = nullptr;
  const Index* rows = nullptr;
  size_t n = 0;
  size_t cols() const { return X->cols; }
  size_t row_of(size_t r) const { return rows ? rows[r] : r; }
};

// As below, on the rows of a RowSubset (weights for all of X's columns).
void solve_binary(const RowSubset& X, const std::vector<double>& sq_norms, const std::vector<int8_t>& y,
                  const SolverParams& params, uint64_t seed, SolverWorkspace& ws, std::vector<float>& w,
                  float* bias_weight);

// Trains on the rows of X (columns are local ids < X.cols) with labels
// y[i] in {+1, -1}. `sq_norms[i]` is |x_i|^2 (without the bias). Writes
// weights for X's columns to `w` (size X.cols) and the bias weight to
// `*bias_weight`. Deterministic for a given `seed`.
void solve_binary(const CsrMatrix& X, const std::vector<double>& sq_norms, const std::vector<int8_t>& y,
                  const SolverParams& params, uint64_t seed, SolverWorkspace& ws, std::vector<float>& w,
                  float* bias_weight);

}  // namespace xmr
