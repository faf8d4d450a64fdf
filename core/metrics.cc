#include "core/metrics.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace xmr {

bool is_relevant(const CsrMatrix& truth, size_t row, Index label) {
  const SparseVectorView y = truth.row(row);
  return std::binary_search(y.indices, y.indices + y.nnz, label);
}

RankingMetrics evaluate_ranking(const std::vector<std::vector<ScoredLabel>>& predictions, const CsrMatrix& truth,
                                int max_k) {
  if (max_k < 1) throw Error("metrics: k must be >= 1");
  if (predictions.size() != truth.rows) {
    throw Error("metrics: " + std::to_string(predictions.size()) + " predictions for " + std::to_string(truth.rows) + " instances");
  }
  const size_t K = size_t(max_k);
  RankingMetrics m;
  m.n = truth.rows;
  m.max_k = max_k;
  m.precision.assign(K, 0.0);
  m.recall.assign(K, 0.0);
  m.ndcg.assign(K, 0.0);
  std::vector<double> discount(K), ideal(K + 1, 0.0);
  for (size_t j = 0; j < K; ++j) {
    discount[j] = 1.0 / std::log2(double(j) + 2.0);
    ideal[j + 1] = ideal[j] + discount[j];
  }
  for (size_t i = 0; i < truth.rows; ++i) {
    const SparseVectorView y = truth.row(i);
    if (y.nnz == 0) continue;
    const auto& pred = predictions[i];
    size_t hits = 0;
    double dcg = 0.0;
    for (size_t j = 0; j < K; ++j) {
      if (j < pred.size() && is_relevant(truth, i, pred[j].label)) {
        ++hits;
        dcg += discount[j];
      }
      m.precision[j] += double(hits) / double(j + 1);
      m.recall[j] += double(hits) / double(y.nnz);
      m.ndcg[j] += dcg / ideal[std::min(j + 1, y.nnz)];
    }
  }
  if (m.n > 0) {
    for (size_t j = 0; j < K; ++j) {
      m.precision[j] /= double(m.n);
      m.recall[j] /= double(m.n);
      m.ndcg[j] /= double(m.n);
    }
  }
  return m;
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  const size_t rank = std::min(values.size() - 1, size_t(std::max(0.0, q) * double(values.size())));
  std::nth_element(values.begin(), values.begin() + rank, values.end());
  return values[rank];
}

}  // namespace xmr
