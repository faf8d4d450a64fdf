#include "core/linear_solver.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"

namespace xmr {

void SolverParams::validate() const {
  if (!(Cp > 0) || !(Cn > 0)) throw Error("solver: Cp and Cn must be > 0");
  if (!(eps > 0)) throw Error("solver: eps must be > 0");
  if (max_iter < 1) throw Error("solver: max_iter must be >= 1");
  if (!(bias >= 0)) throw Error("solver: bias must be >= 0");
}

namespace {

inline double dot_row(const RowSubset& V, size_t r, const std::vector<float>& w, double bias) {
  const CsrMatrix& X = *V.X;
  const size_t i = V.row_of(r);
  double s = bias * w[X.cols];
  for (Offset k = X.indptr[i]; k < X.indptr[i + 1]; ++k) s += X.values[k] * w[X.indices[k]];
  return s;
}

inline void axpy_row(const RowSubset& V, size_t r, double a, std::vector<float>& w, double bias) {
  const CsrMatrix& X = *V.X;
  const size_t i = V.row_of(r);
  w[X.cols] += float(a * bias);
  const float af = float(a);
  for (Offset k = X.indptr[i]; k < X.indptr[i + 1]; ++k) w[X.indices[k]] += af * X.values[k];
}

// Fisher-Yates with a splitmix64 stream, so the order is portable.
void shuffle(std::vector<Index>& v, size_t n, uint64_t& state) {
  for (size_t i = n; i > 1; --i) {
    state = splitmix64(state);
    std::swap(v[i - 1], v[state % i]);
  }
}

// L2-loss SVM dual: min_a 1/2 a'Qa - e'a, a >= 0, Q_ij = y_i y_j x_i.x_j + D_ii
// [i = j], D_ii = 1 / (2 C_i). Coordinates stuck at the bound 0 are shrunk
// (dropped until the next full check); there is no upper bound to shrink at.
void svm_l2_dual(const RowSubset& X, const std::vector<int8_t>& y, const SolverParams& p, uint64_t seed,
                 SolverWorkspace& ws) {
  const size_t n = X.n;
  const double b = p.bias;
  auto& w = ws.w;
  auto& alpha = ws.alpha;
  auto& qd = ws.qd;
  auto& order = ws.order;
  alpha.assign(n, 0.0);
  order.resize(n);
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = 0; i < n; ++i) qd[i] += 0.5 / (y[i] > 0 ? p.Cp : p.Cn);

  size_t active = n;
  double pg_max_old = std::numeric_limits<double>::infinity();
  uint64_t state = seed;
  for (int iter = 0; iter < p.max_iter; ++iter) {
    double pg_max = -std::numeric_limits<double>::infinity();
    double pg_min = std::numeric_limits<double>::infinity();
    shuffle(order, active, state);
    for (size_t s = 0; s < active; ++s) {
      const Index i = order[s];
      const double yi = y[i];
      const double dii = 0.5 / (y[i] > 0 ? p.Cp : p.Cn);
      const double g = yi * dot_row(X, i, w, b) - 1.0 + dii * alpha[i];
      double pg = 0.0;
      if (alpha[i] == 0.0) {
        if (g > pg_max_old) {  // stuck at the bound: drop from the active set
          --active;
          std::swap(order[s], order[active]);
          --s;
          continue;
        }
        if (g < 0) pg = g;
      } else {
        pg = g;
      }
      pg_max = std::max(pg_max, pg);
      pg_min = std::min(pg_min, pg);
      if (std::fabs(pg) > 1e-12) {
        const double old = alpha[i];
        alpha[i] = std::max(old - g / qd[i], 0.0);
        axpy_row(X, i, (alpha[i] - old) * yi, w, b);
      }
    }
    if (pg_max - pg_min <= p.eps) {
      if (active == n) break;
      active = n;  // re-check every coordinate before stopping
      pg_max_old = std::numeric_limits<double>::infinity();
      continue;
    }
    pg_max_old = pg_max <= 0 ? std::numeric_limits<double>::infinity() : pg_max;
  }
}

// Logistic regression dual: each coordinate pair (a_i, C_i - a_i) is updated
// by a few Newton steps on the one-variable subproblem.
void logistic_dual(const RowSubset& X, const std::vector<int8_t>& y, const SolverParams& p, uint64_t seed,
                   SolverWorkspace& ws) {
  const size_t n = X.n;
  const double b = p.bias;
  auto& w = ws.w;
  auto& alpha = ws.alpha;  // alpha[2i] = a_i, alpha[2i+1] = C_i - a_i
  auto& qd = ws.qd;
  auto& order = ws.order;
  alpha.assign(2 * n, 0.0);
  order.resize(n);
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = 0; i < n; ++i) {
    const double c = y[i] > 0 ? p.Cp : p.Cn;
    alpha[2 * i] = std::min(0.001 * c, 1e-8);
    alpha[2 * i + 1] = c - alpha[2 * i];
    axpy_row(X, i, y[i] * alpha[2 * i], w, b);
  }
  const int max_inner = 100;
  const double inner_eps_min = std::min(1e-8, p.eps);
  double inner_eps = 1e-2;
  uint64_t state = seed;
  for (int iter = 0; iter < p.max_iter; ++iter) {
    shuffle(order, n, state);
    size_t newton_steps = 0;
    double g_max = 0.0;
    for (size_t s = 0; s < n; ++s) {
      const Index i = order[s];
      const double yi = y[i];
      const double c = yi > 0 ? p.Cp : p.Cn;
      const double a = qd[i];
      const double bb = yi * dot_row(X, i, w, b);
      size_t i1 = 2 * i, i2 = 2 * i + 1;
      double sign = 1.0;
      if (0.5 * a * (alpha[i2] - alpha[i1]) + bb < 0) {
        std::swap(i1, i2);
        sign = -1.0;
      }
      const double z_old = alpha[i1];
      double z = z_old;
      if (c - z < 0.5 * c) z *= 0.1;
      double gp = a * (z - z_old) + sign * bb + std::log(z / (c - z));
      g_max = std::max(g_max, std::fabs(gp));
      int inner = 0;
      while (inner < max_inner && std::fabs(gp) >= inner_eps) {
        const double gpp = a + c / (c - z) / z;
        const double next = z - gp / gpp;
        z = next <= 0 ? z * 0.1 : next;
        gp = a * (z - z_old) + sign * bb + std::log(z / (c - z));
        ++inner;
        ++newton_steps;
      }
      if (inner > 0) {
        alpha[i1] = z;
        alpha[i2] = c - z;
        axpy_row(X, i, sign * (z - z_old) * yi, w, b);
      }
    }
    if (g_max < p.eps) break;
    if (newton_steps <= n / 10) inner_eps = std::max(inner_eps_min, 0.1 * inner_eps);
  }
}

}  // namespace

void solve_binary(const RowSubset& X, const std::vector<double>& sq_norms, const std::vector<int8_t>& y,
                  const SolverParams& params, uint64_t seed, SolverWorkspace& ws, std::vector<float>& w,
                  float* bias_weight) {
  const size_t cols = X.cols();
  ws.w.assign(cols + 1, 0.0f);
  ws.qd.resize(X.n);
  for (size_t i = 0; i < X.n; ++i) ws.qd[i] = sq_norms[i] + params.bias * params.bias;
  if (params.kind == SolverKind::kL2SvmDual) {
    svm_l2_dual(X, y, params, seed, ws);
  } else {
    logistic_dual(X, y, params, seed, ws);
  }
  w.assign(ws.w.begin(), ws.w.begin() + cols);
  *bias_weight = float(ws.w[cols] * params.bias);
}

void solve_binary(const CsrMatrix& X, const std::vector<double>& sq_norms, const std::vector<int8_t>& y,
                  const SolverParams& params, uint64_t seed, SolverWorkspace& ws, std::vector<float>& w,
                  float* bias_weight) {
  solve_binary(RowSubset{&X, nullptr, X.rows}, sq_norms, y, params, seed, ws, w, bias_weight);
}

}  // namespace xmr
