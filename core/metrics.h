// Ranking metrics over a test set, the Extreme Classification Repository way:
//
//   P@k    = |top-k ∩ Y_i| / k
//   R@k    = |top-k ∩ Y_i| / |Y_i|
//   nDCG@k = sum_{j<=k, pred_j in Y_i} 1/log2(j+1) / sum_{j<=min(k,|Y_i|)} 1/log2(j+1)
//
// averaged over all test instances; an instance without labels counts as 0
// (it cannot be predicted right), so figures are comparable with published ones.
#pragma once

#include <vector>

#include "core/inference.h"
#include "core/sparse.h"

namespace xmr {

struct RankingMetrics {
  size_t n = 0;
  int max_k = 0;
  std::vector<double> precision;  // precision[k-1] = P@k, k = 1..max_k
  std::vector<double> recall;
  std::vector<double> ndcg;
};

// Whether `label` is one of row `row`'s labels in `truth` (N x L, each row's
// label ids sorted; an id >= L is never relevant).
bool is_relevant(const CsrMatrix& truth, size_t row, Index label);

// `predictions[i]` is instance i's ranked labels (best first); `truth` is N x L.
RankingMetrics evaluate_ranking(const std::vector<std::vector<ScoredLabel>>& predictions, const CsrMatrix& truth,
                                int max_k);

// The nearest-rank quantile q (in [0, 1]: 0.5 = median, 0.99 = p99) of
// `values`, for latency reports; 0 when empty.
double percentile(std::vector<double> values, double q);

}  // namespace xmr
