#include "core/ensemble.h"

#include <algorithm>

namespace xmr {

void ensemble_combine(const std::vector<TreeView>& trees, const std::vector<const std::vector<ScoredLabel>*>& found,
                      const PredictParams& params, InferenceWorkspace& ws, std::vector<ScoredLabel>& out) {
  // Every tree's (label, score) pairs, sorted by label, summed per label.
  auto& pooled = ws.ensemble_pooled;
  pooled.clear();
  for (const auto* f : found) pooled.insert(pooled.end(), f->begin(), f->end());
  std::sort(pooled.begin(), pooled.end(), [](const ScoredLabel& a, const ScoredLabel& b) { return a.label < b.label; });
  out.clear();
  const double inv = 1.0 / double(trees.size());
  for (size_t i = 0; i < pooled.size();) {
    double sum = 0;
    size_t j = i;
    for (; j < pooled.size() && pooled[j].label == pooled[i].label; ++j) sum += pooled[j].score;
    out.push_back({pooled[i].label, float(sum * inv)});
    i = j;
  }
  const size_t k = std::min(out.size(), size_t(params.top_k));
  std::partial_sort(out.begin(), out.begin() + std::ptrdiff_t(k), out.end(), [](const ScoredLabel& a, const ScoredLabel& b) {
    return a.score > b.score || (a.score == b.score && a.label < b.label);
  });
  out.resize(k);
}

PredictParams ensemble_tree_params(const PredictParams& params) {
  PredictParams p = params;
  p.top_k = std::max(params.top_k, params.beam_size);
  return p;
}

void ensemble_search(const std::vector<TreeView>& trees, const SparseVectorView& q, const PredictParams& params,
                     InferenceWorkspace& ws, std::vector<ScoredLabel>& out) {
  ensemble_search_each(trees, params, ws, out, [&](size_t m, const PredictParams& p, std::vector<ScoredLabel>& found) {
    beam_search(trees[m], q, p, ws, found);
  });
}

void ensemble_score_labels(const std::vector<TreeView>& trees, const SparseVectorView& q, const Index* labels, size_t n,
                           PostProcessor post, RepeatedLabelScore repeated, InferenceWorkspace& ws, float* out) {
  ws.ensemble_sum.assign(n, 0.0);
  ws.ensemble_scores.resize(n);
  for (const TreeView& tree : trees) {
    score_labels(tree, q, labels, n, post, repeated, ws, ws.ensemble_scores.data());
    for (size_t i = 0; i < n; ++i) ws.ensemble_sum[i] += ws.ensemble_scores[i];
  }
  const double inv = 1.0 / double(trees.size());
  for (size_t i = 0; i < n; ++i) out[i] = float(ws.ensemble_sum[i] * inv);
}

}  // namespace xmr
