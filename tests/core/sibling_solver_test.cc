#include "core/sibling_solver.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rng.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

using testing::row_sq_norms;

// 60 seeded random sparse rows over 12 features; child c's positives are
// the rows whose feature c is set or whose hash says so.
void random_problem(int G, CsrMatrix* X, std::vector<int8_t>* y) {
  std::vector<std::vector<float>> dense(60, std::vector<float>(12, 0.0f));
  uint64_t state = 7;
  for (auto& row : dense) {
    for (float& v : row) {
      state = splitmix64(state);
      if (state % 3 == 0) v = float((state >> 8) % 1000) / 1000.0f;
    }
  }
  *X = testing::dense_to_csr(dense, 12);
  y->assign(60 * size_t(G), -1);
  for (size_t i = 0; i < 60; ++i) {
    for (int c = 0; c < G; ++c) {
      state = splitmix64(state);
      if (dense[i][size_t(c % 12)] > 0.5f || state % 7 == 0) (*y)[i * size_t(G) + size_t(c)] = 1;
    }
  }
}

// Solved together or one by one, each child reaches the same optimum (the
// problems are strictly convex): at a tight tolerance the weights agree.
TEST(SiblingSolver, MatchesSolvingEachChildAlone) {
  for (int G : {2, 3, 8, 13, 16}) {
    CsrMatrix X;
    std::vector<int8_t> y;
    random_problem(G, &X, &y);
    SolverParams p;
    p.eps = 1e-6;
    p.max_iter = 5000;
    SiblingWorkspace sws;
    std::vector<float> bias;
    solve_siblings(RowSubset{&X, nullptr, X.rows}, row_sq_norms(X), y, p, 3, sws, bias);
    ASSERT_EQ(bias.size(), size_t(G));
    const int stride = sibling_stride(G);
    for (int c = 0; c < G; ++c) {
      std::vector<int8_t> yc(X.rows);
      for (size_t i = 0; i < X.rows; ++i) yc[i] = y[i * size_t(G) + size_t(c)];
      SolverWorkspace ws;
      std::vector<float> w;
      float b = 0;
      solve_binary(X, row_sq_norms(X), yc, p, 11, ws, w, &b);
      for (size_t j = 0; j < X.cols; ++j) {
        EXPECT_NEAR(sibling_weight(sws, stride, j, c), w[j], 2e-3) << "G " << G << " child " << c << " feature " << j;
      }
      EXPECT_NEAR(bias[size_t(c)], b, 2e-3) << "G " << G << " child " << c;
    }
  }
}

// Lanes are independent and the visiting order depends on the seed alone, so
// a child's weights do not depend on its siblings, bit for bit: not when the
// last children to converge move to the narrow copy, nor on the lane width.
TEST(SiblingSolver, EachChildsWeightsAreExactlyThoseOfSolvingItAlone) {
  const int G = 16;
  CsrMatrix X;
  std::vector<int8_t> y;
  random_problem(G, &X, &y);
  SolverParams p;  // the default tolerance: children stop at different passes
  SiblingWorkspace together;
  std::vector<float> bias;
  solve_siblings(RowSubset{&X, nullptr, X.rows}, row_sq_norms(X), y, p, 5, together, bias);
  EXPECT_FALSE(together.narrow.empty()) << "the last children did not move to the narrow copy";
  for (int c = 0; c < G; ++c) {
    std::vector<int8_t> yc(X.rows);
    for (size_t i = 0; i < X.rows; ++i) yc[i] = y[i * size_t(G) + size_t(c)];
    SiblingWorkspace alone;
    std::vector<float> b;
    solve_siblings(RowSubset{&X, nullptr, X.rows}, row_sq_norms(X), yc, p, 5, alone, b);
    for (size_t j = 0; j < X.cols; ++j) {
      ASSERT_EQ(sibling_weight(together, G, j, c), sibling_weight(alone, 1, j, 0)) << "child " << c << " feature " << j;
    }
    ASSERT_EQ(bias[size_t(c)], b[0]) << "child " << c;
  }
}

TEST(SiblingSolver, DeterministicForSeedAndReusesItsWorkspace) {
  CsrMatrix X;
  std::vector<int8_t> y;
  random_problem(5, &X, &y);
  SolverParams p;
  SiblingWorkspace ws;
  std::vector<float> b1, b2;
  solve_siblings(RowSubset{&X, nullptr, X.rows}, row_sq_norms(X), y, p, 9, ws, b1);
  const std::vector<float> w1 = ws.W;
  solve_siblings(RowSubset{&X, nullptr, X.rows}, row_sq_norms(X), y, p, 9, ws, b2);
  EXPECT_EQ(w1, ws.W);
  EXPECT_EQ(b1, b2);
}

TEST(SiblingSolver, RefusesWhatItCannotSolve) {
  CsrMatrix X;
  std::vector<int8_t> y;
  random_problem(2, &X, &y);
  SiblingWorkspace ws;
  std::vector<float> b;
  SolverParams logistic;
  logistic.kind = SolverKind::kLogisticDual;
  EXPECT_THROW(solve_siblings(RowSubset{&X, nullptr, X.rows}, row_sq_norms(X), y, logistic, 1, ws, b), Error);
  y.pop_back();  // not a whole number of children per row
  EXPECT_THROW(solve_siblings(RowSubset{&X, nullptr, X.rows}, row_sq_norms(X), y, SolverParams{}, 1, ws, b), Error);
  std::vector<int8_t> too_many(X.rows * 17, -1);
  EXPECT_THROW(solve_siblings(RowSubset{&X, nullptr, X.rows}, row_sq_norms(X), too_many, SolverParams{}, 1, ws, b), Error);
}

}  // namespace
}  // namespace xmr
