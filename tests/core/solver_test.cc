#include "core/linear_solver.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/core/test_util.h"

namespace xmr {
namespace {

using testing::row_sq_norms;

// Two points x = +1 (y = +1) and x = -1 (y = -1), no bias. The L2-loss SVM
// primal 1/2 w^2 + 2C max(0, 1 - w)^2 has its optimum at w = 4C / (1 + 4C):
// w = 0.8 for C = 1.
TEST(Solver, L2SvmReachesKnownOptimum) {
  const CsrMatrix X = testing::dense_to_csr({{1}, {-1}}, 1);
  SolverParams p;
  p.bias = 0;
  p.eps = 1e-8;
  p.max_iter = 1000;
  SolverWorkspace ws;
  std::vector<float> w;
  float b = 0;
  solve_binary(X, row_sq_norms(X), {1, -1}, p, 1, ws, w, &b);
  EXPECT_NEAR(w[0], 0.8, 1e-5);
  p.Cp = p.Cn = 0.25;  // 4C / (1 + 4C) = 0.5
  solve_binary(X, row_sq_norms(X), {1, -1}, p, 1, ws, w, &b);
  EXPECT_NEAR(w[0], 0.5, 1e-5);
}

// Logistic loss: 1/2 w^2 + 2C log(1 + exp(-w)); optimum where
// w = 2C / (1 + exp(w)). For C = 1 that is w ~= 0.7388 (by bisection below).
TEST(Solver, LogisticReachesKnownOptimum) {
  double lo = 0, hi = 2;
  for (int i = 0; i < 100; ++i) {
    const double mid = (lo + hi) / 2;
    (mid - 2.0 / (1.0 + std::exp(mid)) > 0 ? hi : lo) = mid;
  }
  const CsrMatrix X = testing::dense_to_csr({{1}, {-1}}, 1);
  SolverParams p;
  p.kind = SolverKind::kLogisticDual;
  p.bias = 0;
  p.eps = 1e-10;
  p.max_iter = 1000;
  SolverWorkspace ws;
  std::vector<float> w;
  float b = 0;
  solve_binary(X, row_sq_norms(X), {1, -1}, p, 3, ws, w, &b);
  EXPECT_NEAR(w[0], lo, 1e-4);
}

// A separable 2-D problem with a bias: every training point is classified
// correctly, and the bias term is used (the classes are offset from 0).
TEST(Solver, SeparatesOffsetClassesWithBias) {
  const CsrMatrix X = testing::dense_to_csr({{3, 1}, {4, 1}, {3.5, 2}, {1, 1}, {0.5, 2}, {1, 0.5}}, 2);
  const std::vector<int8_t> y = {1, 1, 1, -1, -1, -1};
  for (SolverKind kind : {SolverKind::kL2SvmDual, SolverKind::kLogisticDual}) {
    SolverParams p;
    p.kind = kind;
    p.eps = 1e-4;
    p.max_iter = 1000;
    p.Cp = p.Cn = 10;
    SolverWorkspace ws;
    std::vector<float> w;
    float b = 0;
    solve_binary(X, row_sq_norms(X), y, p, 5, ws, w, &b);
    for (size_t i = 0; i < X.rows; ++i) {
      const float s = w[0] * X.values[X.indptr[i]] + w[1] * X.values[X.indptr[i] + 1] + b;
      EXPECT_GT(s * y[i], 0) << "point " << i << " solver " << int(kind);
    }
    EXPECT_LT(b, 0);
  }
}

TEST(Solver, DeterministicForSeed) {
  const CsrMatrix X = testing::dense_to_csr({{1, 0.5}, {0.2, 1}, {0.9, 0.1}, {0.1, 0.8}}, 2);
  SolverParams p;
  SolverWorkspace ws;
  std::vector<float> w1, w2;
  float b1, b2;
  solve_binary(X, row_sq_norms(X), {1, -1, 1, -1}, p, 9, ws, w1, &b1);
  solve_binary(X, row_sq_norms(X), {1, -1, 1, -1}, p, 9, ws, w2, &b2);
  EXPECT_EQ(w1, w2);
  EXPECT_EQ(b1, b2);
}

}  // namespace
}  // namespace xmr
