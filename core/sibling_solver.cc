#include "core/sibling_solver.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"

namespace xmr {

int sibling_stride(int G) {
  int s = 1;
  while (s < G) s *= 2;
  return s;
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Fisher-Yates with a splitmix64 stream, so the order is portable.
void shuffle_rows(std::vector<Index>& v, uint64_t& state) {
  for (size_t i = v.size(); i > 1; --i) {
    state = splitmix64(state);
    std::swap(v[i - 1], v[state % i]);
  }
}

// The state of a group's solve that does not depend on how its weights are
// laid out: everything here is indexed by child.
struct GroupState {
  int G = 0;
  size_t n = 0;
  double d_pos = 0, d_neg = 0;
  std::array<double, kMaxSiblings> pg_max_old{};
  std::array<size_t, kMaxSiblings> active_count{};
  uint32_t running = 0;  // children not yet converged
  uint64_t rng = 0;      // the shuffle's stream
  int iter = 0;
};

// Passes of dual coordinate descent over the rows, with the weights of the
// running children interleaved L to a feature in W ((cols + 1) x L, the last
// row the bias feature): child c's weights are lane lane_of[c]. Runs until the
// children converge, max_iter passes are done, or at most `stop_at_running`
// children still run. L is a compile-time width, so the per-feature loops
// over the lanes vectorise; inlined into one copy per instruction set below.
template <int L>
inline __attribute__((always_inline)) void run_passes(const RowSubset& V, const std::vector<double>& sq_norms,
                                                       const std::vector<int8_t>& y, const SolverParams& p,
                                                       SiblingWorkspace& ws, float* W, const int* lane_of,
                                                       GroupState& st, int stop_at_running) {
  const CsrMatrix& X = *V.X;
  const size_t n = st.n, cols = X.cols;
  const int G = st.G;
  const float b = float(p.bias);
  auto& alpha = ws.alpha;
  auto& active = ws.active;
  auto& order = ws.order;
  float* const bias_row = W + cols * L;
  std::array<double, kMaxSiblings> pg_max, pg_min;

  for (; st.iter < p.max_iter && st.running && __builtin_popcount(st.running) > stop_at_running; ++st.iter) {
    pg_max.fill(-kInf);
    pg_min.fill(kInf);
    shuffle_rows(order, st.rng);
    for (size_t s = 0; s < n; ++s) {
      const Index i = order[s];
      uint32_t m = active[i] & st.running;
      if (m == 0) continue;
      const size_t r = V.row_of(i);
      const Index* idx = X.indices.data() + X.indptr[r];
      const float* val = X.values.data() + X.indptr[r];
      const size_t nnz = X.indptr[r + 1] - X.indptr[r];

      // GCC vector extensions: one L-wide value per feature, lowered to the
      // widest registers of the copy being compiled.
      typedef float Lanes __attribute__((vector_size(L * sizeof(float)), aligned(sizeof(float)), may_alias));
      // Four partial sums: one accumulator made each feature wait for the
      // previous one's add (its latency, not the loads, bounded the loop).
      // (A pointer, not a vector, returned: the lambda is not compiled for the
      // copy's instruction set, and a vector return would change its ABI.)
      auto lanes_at = [&](size_t k) { return reinterpret_cast<const Lanes*>(W + size_t(idx[k]) * L); };
      Lanes acc0 = b * *reinterpret_cast<const Lanes*>(bias_row), acc1{}, acc2{}, acc3{};
      size_t k = 0;
      for (; k + 4 <= nnz; k += 4) {
        acc0 += val[k] * *lanes_at(k);
        acc1 += val[k + 1] * *lanes_at(k + 1);
        acc2 += val[k + 2] * *lanes_at(k + 2);
        acc3 += val[k + 3] * *lanes_at(k + 3);
      }
      for (; k < nnz; ++k) acc0 += val[k] * *lanes_at(k);
      const Lanes acc = (acc0 + acc1) + (acc2 + acc3);
      alignas(64) float margin[L];
      __builtin_memcpy(margin, &acc, sizeof margin);

      alignas(64) float step[L] = {};
      bool moved = false;
      const double qd_base = sq_norms[i] + double(b) * b;
      for (; m; m &= m - 1) {
        const int c = __builtin_ctz(m);
        const int lane = lane_of[c];
        const int8_t yi = y[i * size_t(G) + size_t(c)];
        const double dii = yi > 0 ? st.d_pos : st.d_neg;
        double& a = alpha[i * size_t(G) + size_t(c)];
        const double g = yi * double(margin[lane]) - 1.0 + dii * a;
        double pg = 0.0;
        if (a == 0.0) {
          if (g > st.pg_max_old[c]) {  // stuck at the bound: out of child c's active set
            active[i] &= ~(1u << c);
            --st.active_count[c];
            continue;
          }
          if (g < 0) pg = g;
        } else {
          pg = g;
        }
        pg_max[c] = std::max(pg_max[c], pg);
        pg_min[c] = std::min(pg_min[c], pg);
        if (std::fabs(pg) > 1e-12) {
          const double next = std::max(a - g / (qd_base + dii), 0.0);
          step[lane] = float((next - a) * yi);
          a = next;
          moved = true;
        }
      }
      if (moved) {
        Lanes delta;
        __builtin_memcpy(&delta, step, sizeof delta);
        *reinterpret_cast<Lanes*>(bias_row) += delta * b;
        for (size_t k = 0; k < nnz; ++k) *reinterpret_cast<Lanes*>(W + size_t(idx[k]) * L) += delta * val[k];
      }
    }
    for (uint32_t m = st.running; m; m &= m - 1) {
      const int c = __builtin_ctz(m);
      if (pg_max[c] - pg_min[c] <= p.eps) {
        if (st.active_count[c] == n) {
          st.running &= ~(1u << c);  // converged
        } else {
          for (size_t i = 0; i < n; ++i) active[i] |= 1u << c;  // re-check every row before stopping
          st.active_count[c] = n;
          st.pg_max_old[c] = kInf;
        }
      } else {
        st.pg_max_old[c] = pg_max[c] <= 0 ? kInf : pg_max[c];
      }
    }
  }
}

// S: the stride; G <= S children are real, the rest stay zero. Children
// converge at different passes, yet every pass reads each row's weights for
// all S lanes; so once at most S / 4 children still run, their weights move
// to a copy S / 4 wide (a quarter of the cache lines per row) and the passes go
// on there. Each lane does the same operations in the same order either way,
// and the shuffle stream continues, so the weights are exactly those of
// running all passes S wide.
template <int S>
inline __attribute__((always_inline)) void solve_group_body(const RowSubset& V, const std::vector<double>& sq_norms,
                                                             const std::vector<int8_t>& y, int G, const SolverParams& p,
                                                             uint64_t seed, SiblingWorkspace& ws,
                                                             std::vector<float>& bias_weights) {
  const size_t n = V.n, cols = V.X->cols;
  GroupState st;
  st.G = G;
  st.n = n;
  st.d_pos = 0.5 / p.Cp;
  st.d_neg = 0.5 / p.Cn;
  st.pg_max_old.fill(kInf);
  st.active_count.fill(n);
  st.running = (1u << G) - 1;  // G <= kMaxSiblings < 32
  st.rng = seed;
  ws.W.assign((cols + 1) * S, 0.0f);
  ws.alpha.assign(n * size_t(G), 0.0);
  ws.active.assign(n, st.running);
  ws.order.resize(n);
  std::iota(ws.order.begin(), ws.order.end(), Index(0));
  std::array<int, kMaxSiblings> lane_of;
  std::iota(lane_of.begin(), lane_of.end(), 0);

  constexpr int kNarrow = S >= 4 ? S / 4 : 0;
  run_passes<S>(V, sq_norms, y, p, ws, ws.W.data(), lane_of.data(), st, kNarrow);
  if constexpr (kNarrow > 0) {
    if (st.running && st.iter < p.max_iter) {
      const uint32_t narrowed = st.running;
      int lanes = 0;
      for (uint32_t m = narrowed; m; m &= m - 1) lane_of[__builtin_ctz(m)] = lanes++;
      // move(home, narrow) for each weight of the narrowed children.
      auto each_weight = [&](auto&& move) {
        for (size_t f = 0; f <= cols; ++f) {
          for (uint32_t m = narrowed; m; m &= m - 1) {
            const int c = __builtin_ctz(m);
            move(ws.W[f * S + size_t(c)], ws.narrow[f * kNarrow + size_t(lane_of[c])]);
          }
        }
      };
      ws.narrow.assign((cols + 1) * kNarrow, 0.0f);
      each_weight([](float& home, float& narrow) { narrow = home; });
      run_passes<kNarrow>(V, sq_norms, y, p, ws, ws.narrow.data(), lane_of.data(), st, 0);
      each_weight([](float& home, float& narrow) { home = narrow; });
    }
  }
  const float b = float(p.bias);
  const float* bias_row = ws.W.data() + cols * S;
  bias_weights.resize(size_t(G));
  for (int c = 0; c < G; ++c) bias_weights[size_t(c)] = bias_row[c] * b;
}

// The same body compiled for wider vectors, chosen at run time. Lanes are
// children, so each lane does the same operations in the same order on every
// instruction set (and this file is built without floating-point
// contraction): the weights are identical whichever copy runs.
template <int S>
__attribute__((target("avx512f"))) void solve_group_avx512(const RowSubset& V, const std::vector<double>& sq_norms,
                                                            const std::vector<int8_t>& y, int G, const SolverParams& p,
                                                            uint64_t seed, SiblingWorkspace& ws,
                                                            std::vector<float>& bias_weights) {
  solve_group_body<S>(V, sq_norms, y, G, p, seed, ws, bias_weights);
}

template <int S>
__attribute__((target("avx2"))) void solve_group_avx2(const RowSubset& V, const std::vector<double>& sq_norms,
                                                      const std::vector<int8_t>& y, int G, const SolverParams& p,
                                                      uint64_t seed, SiblingWorkspace& ws,
                                                      std::vector<float>& bias_weights) {
  solve_group_body<S>(V, sq_norms, y, G, p, seed, ws, bias_weights);
}

template <int S>
void solve_group(const RowSubset& V, const std::vector<double>& sq_norms, const std::vector<int8_t>& y, int G,
                 const SolverParams& p, uint64_t seed, SiblingWorkspace& ws, std::vector<float>& bias_weights) {
  static const int isa = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
  if (isa == 2) return solve_group_avx512<S>(V, sq_norms, y, G, p, seed, ws, bias_weights);
  if (isa == 1) return solve_group_avx2<S>(V, sq_norms, y, G, p, seed, ws, bias_weights);
  solve_group_body<S>(V, sq_norms, y, G, p, seed, ws, bias_weights);
}

}  // namespace

void solve_siblings(const RowSubset& X, const std::vector<double>& sq_norms, const std::vector<int8_t>& y,
                    const SolverParams& params, uint64_t seed, SiblingWorkspace& ws, std::vector<float>& bias_weights) {
  if (params.kind != SolverKind::kL2SvmDual) throw Error("solve_siblings: only the L2-loss SVM dual is supported");
  if (X.n == 0 || y.size() % X.n != 0) throw Error("solve_siblings: labels do not match the rows");
  const int G = int(y.size() / X.n);
  if (G < 1 || G > kMaxSiblings) throw Error("solve_siblings: 1.." + std::to_string(kMaxSiblings) + " children");
  switch (sibling_stride(G)) {
    case 1: return solve_group<1>(X, sq_norms, y, G, params, seed, ws, bias_weights);
    case 2: return solve_group<2>(X, sq_norms, y, G, params, seed, ws, bias_weights);
    case 4: return solve_group<4>(X, sq_norms, y, G, params, seed, ws, bias_weights);
    case 8: return solve_group<8>(X, sq_norms, y, G, params, seed, ws, bias_weights);
    default: return solve_group<16>(X, sq_norms, y, G, params, seed, ws, bias_weights);
  }
}

}  // namespace xmr
