// Does a k-nearest-neighbour vote over the training rows, fused with the
// tree's scores, raise P@k? On a validation split of a shared set's training
// data (the test file is never read).
//
//   knn_fusion_experiment DATASET_DIR [--threads 2] [--valid 0.2] [--split SEED] [--missing zero|exact]
//                         [--space tfidf|embedding] [--dim 64]
//
// kNN(l) = sum over the k training rows most cosine-similar to the query of
// sim^p * y(l), divided by the sum of sim^p; fused = (1 - beta) tree + beta kNN
// over the tree's top 10 and the neighbours' labels, a label the tree did not
// list scored 0 by it (as `xmr train --knn` does, core/knn_vote.h) or exactly.
// Prints P@1 / P@5 for k 10, 25, 50, p 3, 10, 30 and beta 0 to 1; --split
// changes which rows are held out. --space embedding finds the neighbours by
// the deep matcher's encoder (its defaults, trained on the training rows)
// instead of the TF-IDF rows.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "analyzers/text_dataset.h"
#include "analyzers/text_model.h"
#include "analyzers/vectorizer.h"
#include "core/deep_matcher.h"
#include "core/encoder_trainer.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/model.h"
#include "core/rng.h"
#include "core/trainer.h"
#include "core/xc_format.h"
#include "tests/bench/validation_split.h"

using namespace xmr;

namespace {

RankingMetrics eval(const std::vector<std::vector<ScoredLabel>>& pred, const CsrMatrix& Y) {
  return evaluate_ranking(pred, Y, 5);
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s DATASET_DIR [--threads N] [--valid F] [--split SEED] [--missing zero|exact] "
                 "[--space tfidf|embedding] [--dim D]\n",
                 argv[0]);
    return 2;
  }
  int threads = 2;
  double valid = 0.2;
  uint64_t split_seed = 0x5eed;  // --split: which rows are held out
  bool missing_zero = true;
  bool embedding_space = false;  // neighbours by the deep matcher's encoder instead of TF-IDF
  int dim = 64;
  for (int a = 2; a + 1 < argc; a += 2) {
    const std::string k = argv[a];
    if (k == "--threads") threads = std::atoi(argv[a + 1]);
    else if (k == "--valid") valid = std::atof(argv[a + 1]);
    else if (k == "--space") embedding_space = std::string(argv[a + 1]) == "embedding";
    else if (k == "--dim") dim = std::atoi(argv[a + 1]);
    else if (k == "--split") split_seed = std::strtoull(argv[a + 1], nullptr, 0);
    else if (k == "--missing") missing_zero = std::string(argv[a + 1]) != "exact";
    else throw Error("unknown option " + k);
  }
  const std::string dir = argv[1];
  const bench::ValidationSplit split = bench::load_validation_split(dir, valid, threads, split_seed);
  const CsrMatrix &Xtr = split.Xtr, &Ytr = split.Ytr, &Xva = split.Xva, &Yva = split.Yva;
  const TrainParams& params = split.params;
  std::printf("%s: %zu train, %zu validation rows, %zu labels\n", dir.c_str(), Xtr.rows, Xva.rows, Ytr.cols);
  const Model model = train_model(Xtr, Ytr, params);
  PredictParams pp = model.default_predict_params();
  pp.top_k = 10;
  const auto tree = model.predict_batch(Xva, pp, threads);
  {
    const RankingMetrics r = eval(tree, Yva);
    std::printf("tree alone  P@1 %.2f P@3 %.2f P@5 %.2f\n", 100 * r.precision[0], 100 * r.precision[2],
                100 * r.precision[4]);
  }
  // Similarities of every validation row to every training row, top 100 kept.
  const CsrMatrix Xt = Xtr.transposed();
  std::vector<std::vector<std::pair<float, Index>>> nn(Xva.rows);
  if (embedding_space) {
    // The encoder the deep matcher trains (its defaults), on the training rows.
    const LabelTree tree = training_tree(Xtr, Ytr, params, {});
    EncoderTrainParams ep = DeepMatcherParams::default_encoder();
    ep.dim = dim;
    ep.threads = threads;
    const Encoder enc = train_encoder(Xtr, Ytr, tree, ep);
    const RowMatrixXf Etr = enc.encode_rows(Xtr, threads), Eva = enc.encode_rows(Xva, threads);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
    for (size_t i = 0; i < Xva.rows; ++i) {
      const Eigen::VectorXf s = Etr * Eva.row(Eigen::Index(i)).transpose();
      std::vector<std::pair<float, Index>> all;
      for (Eigen::Index j = 0; j < s.size(); ++j)
        if (s[j] > 0) all.push_back({s[j], Index(j)});
      const size_t keep = std::min<size_t>(100, all.size());
      std::partial_sort(all.begin(), all.begin() + keep, all.end(), [](auto& a, auto& b) { return a.first > b.first; });
      all.resize(keep);
      nn[i] = std::move(all);
    }
  }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
  for (size_t i = 0; i < (embedding_space ? 0 : Xva.rows); ++i) {
    std::vector<float> sim(Xtr.rows, 0.0f);
    const SparseVectorView q = Xva.row(i);
    for (size_t e = 0; e < q.nnz; ++e) {
      const SparseVectorView post = Xt.row(q.indices[e]);
      for (size_t t = 0; t < post.nnz; ++t) sim[post.indices[t]] += q.values[e] * post.values[t];
    }
    std::vector<std::pair<float, Index>> all;
    for (size_t j = 0; j < sim.size(); ++j)
      if (sim[j] > 0) all.push_back({sim[j], Index(j)});
    const size_t keep = std::min<size_t>(100, all.size());
    std::partial_sort(all.begin(), all.begin() + keep, all.end(), [](auto& a, auto& b) { return a.first > b.first; });
    all.resize(keep);
    nn[i] = std::move(all);
  }
  std::printf("%-22s", "k p \\ beta");
  const float betas[] = {0.0f, 0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 1.0f};
  for (float b : betas) std::printf("   %.1f (P@1/P@5)", b);
  std::printf("\n");
  InferenceWorkspace ws;
  for (int k : {10, 25, 50}) {
    for (float p : {3.0f, 10.0f, 30.0f}) {
      std::printf("k %3d p %.0f            ", k, p);
      for (float beta : betas) {
        std::vector<std::vector<ScoredLabel>> fused(Xva.rows);
        std::vector<float> s;
        for (size_t i = 0; i < Xva.rows; ++i) {
          std::map<Index, float> knn;
          float norm = 0;
          for (size_t j = 0; j < nn[i].size() && int(j) < k; ++j) {
            const float w = std::pow(nn[i][j].first, p);
            norm += w;
            const SparseVectorView y = Ytr.row(nn[i][j].second);
            for (size_t e = 0; e < y.nnz; ++e) knn[y.indices[e]] += w;
          }
          std::map<Index, float> tree_score;
          for (const ScoredLabel& sl : tree[i]) tree_score[sl.label] = sl.score;
          std::vector<Index> missing;
          for (auto& [l, v] : knn)
            if (!tree_score.count(l)) missing.push_back(l);
          s.resize(missing.size());
          if (missing_zero) std::fill(s.begin(), s.end(), 0.0f);
          else if (!missing.empty()) model.score_labels(Xva.row(i), missing.data(), missing.size(), pp, ws, s.data());
          for (size_t c = 0; c < missing.size(); ++c) tree_score[missing[c]] = s[c];
          for (auto& [l, t] : tree_score) {
            const auto it = knn.find(l);
            const float kv = it == knn.end() || norm == 0 ? 0.0f : it->second / norm;
            fused[i].push_back({l, (1 - beta) * t + beta * kv});
          }
          std::sort(fused[i].begin(), fused[i].end(), [](auto& a, auto& b) { return a.score > b.score; });
        }
        const RankingMetrics r = eval(fused, Yva);
        std::printf("   %5.2f / %5.2f   ", 100 * r.precision[0], 100 * r.precision[4]);
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "knn_fusion_experiment: error: %s\n", e.what());
  return 1;
}
