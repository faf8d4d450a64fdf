#include "core/knn_weight.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/rng.h"

namespace xmr {

std::string KnnWeightChoice::to_json() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"chosen\":%g,\"best\":%g,\"held_out\":%zu,\"p1_trees\":%.6f,\"p1_fused\":%.6f,\"gain_se\":%.6f}",
                double(weight), double(best_weight), held_out, p1_trees, p1_fused, gain_se);
  return buf;
}

KnnWeightChoice choose_knn_weight(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params) {
  if (!params.knn.enabled()) throw Error("knn weight: no vote to weigh (k is 0)");
  if (X.rows < 10) throw Error("knn weight auto: " + std::to_string(X.rows) + " training rows, fewer than 10 to hold some out");
  std::vector<Index> fit, held;
  for (size_t i = 0; i < X.rows; ++i) {
    (splitmix64(uint64_t(i) ^ mix_seed({params.seed, 0x6e6e})) % 5 == 0 ? held : fit).push_back(Index(i));
  }
  if (held.empty() || fit.empty()) throw Error("knn weight auto: the held-out share came out empty");
  const CsrMatrix Xfit = X.select_rows(fit), Yfit = Y.select_rows(fit), Xheld = X.select_rows(held),
                  Yheld = Y.select_rows(held);
  TrainParams trees_only = params;
  trees_only.knn = KnnVoteParams{};
  const Model trees = Model::from_parts(train_model_parts(Xfit, Yfit, trees_only));
  KnnVoteParams vp = params.knn;
  vp.weight = 1;  // unused: fuse_votes is given each weight
  const auto vote = KnnVote::build(Xfit, Yfit, vp);
  PredictParams pp = trees.default_predict_params();
  pp.top_k = pp.beam_size;  // the list the vote is fused with
  const auto listed = trees.predict_batch(Xheld, pp, params.threads);

  constexpr size_t kWeights = sizeof kKnnAutoWeights / sizeof kKnnAutoWeights[0];
  // hits[0]: the trees alone; hits[1 + w]: fused at kKnnAutoWeights[w].
  std::vector<std::vector<int8_t>> hits(kWeights + 1, std::vector<int8_t>(held.size(), 0));
  KnnWorkspace ws;
  auto relevant = [&](size_t i, Index label) {
    const SparseVectorView y = Yheld.row(i);
    return std::binary_search(y.indices, y.indices + y.nnz, label);
  };
  for (size_t i = 0; i < held.size(); ++i) {
    if (!listed[i].empty()) hits[0][i] = relevant(i, listed[i].front().label);
    vote->vote(Xheld.row(i), ws);  // once; then fused at each weight as the model would
    for (size_t w = 0; w < kWeights; ++w) {
      ws.fused.clear();
      for (const ScoredLabel& s : listed[i]) ws.fused.emplace_back(s.label, s.score);
      vote->fuse_votes(1, kKnnAutoWeights[w], ws);
      if (!ws.fused.empty()) hits[1 + w][i] = relevant(i, ws.fused.front().first);
    }
  }
  auto mean = [](const std::vector<int8_t>& h) {
    double s = 0;
    for (int8_t x : h) s += x;
    return s / double(h.size());
  };
  KnnWeightChoice c;
  c.held_out = held.size();
  c.p1_trees = mean(hits[0]);
  size_t best_w = 0;
  for (size_t w = 1; w < kWeights; ++w) {
    if (mean(hits[1 + w]) > mean(hits[1 + best_w])) best_w = w;
  }
  c.best_weight = kKnnAutoWeights[best_w];
  c.p1_fused = mean(hits[1 + best_w]);
  // The paired differences' standard error: each row gains +1, 0 or -1.
  const double gain = c.p1_fused - c.p1_trees;
  double ss = 0;
  for (size_t i = 0; i < held.size(); ++i) {
    const double d = double(hits[1 + best_w][i] - hits[0][i]) - gain;
    ss += d * d;
  }
  const double n = double(held.size());
  c.gain_se = n > 1 ? std::sqrt(ss / (n - 1) / n) : 0;
  c.weight = gain > 2 * c.gain_se ? c.best_weight : 0.0f;
  return c;
}

}  // namespace xmr
