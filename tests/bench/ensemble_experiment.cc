// Do ensembles of label trees raise P@k, and which combination rule? On a
// validation split of a shared set's training data (the test file is never
// read).
//
//   ensemble_experiment DATASET_DIR [--members 5] [--threads 2] [--valid 0.2] [--pool 20] [--vary seed|branching|leaf|leaf2|solver|embedding|leaf2-embedding|leaf2-negatives|leaf2-cost|leaf2-threshold|leaf2-subsample|leaf2-shallow|views|mixed] [--split S]
//
// Members differ by seed (clustering, so the tree) and, with --vary, by
// branching factor, leaf size, solver, label embedding, negatives, cost C or
// weight threshold, or the training rows (leaf2-subsample: members after the
// first each see a random 80% of them, so their rankers differ too); the
// leaf2-* kinds alternate leaves 100 / 50 as well (leaf2-shallow: member 2 of
// each three is the shallowest tree, two leaves). On text sets, views: member 1
// of each three sees only the word n-gram features, member 2 only the
// character n-grams. --split S picks another validation split
// (validation_split.h).
// Prints P@1/3/5 of 1..members trees under each combination rule.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "analyzers/text_dataset.h"
#include "analyzers/text_model.h"
#include "analyzers/vectorizer.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/model.h"
#include "core/rng.h"
#include "core/trainer.h"
#include "core/xc_format.h"
#include "tests/bench/validation_split.h"

using namespace xmr;

namespace {

void print(const char* name, const std::vector<std::vector<ScoredLabel>>& pred, const CsrMatrix& Y) {
  const RankingMetrics r = evaluate_ranking(pred, Y, 5);
  std::printf("%-40s P@1 %.2f  P@3 %.2f  P@5 %.2f\n", name, 100 * r.precision[0], 100 * r.precision[2],
              100 * r.precision[4]);
}

// X with only its entries in columns [lo, hi).
CsrMatrix columns_within(const CsrMatrix& X, Index lo, Index hi) {
  CsrMatrix out;
  out.cols = X.cols;
  std::vector<std::pair<Index, float>> kept;
  for (size_t i = 0; i < X.rows; ++i) {
    kept.clear();
    const SparseVectorView r = X.row(i);
    for (size_t j = 0; j < r.nnz; ++j) {
      if (r.indices[j] >= lo && r.indices[j] < hi) kept.emplace_back(r.indices[j], r.values[j]);
    }
    out.append_row(kept);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATASET_DIR [--members N] [--threads N] [--valid F] [--pool K] [--vary seed|branching|leaf|leaf2|solver|embedding|leaf2-embedding|leaf2-negatives|leaf2-cost|leaf2-threshold|leaf2-subsample|leaf2-shallow|views|mixed] [--split S]\n", argv[0]);
    return 2;
  }
  int members = 5, threads = 2, pool = 20;
  double valid = 0.2;
  uint64_t split_seed = 0x5eed;
  std::string vary = "seed";
  for (int a = 2; a + 1 < argc; a += 2) {
    const std::string k = argv[a];
    const char* v = argv[a + 1];
    if (k == "--members") members = std::atoi(v);
    else if (k == "--threads") threads = std::atoi(v);
    else if (k == "--valid") valid = std::atof(v);
    else if (k == "--pool") pool = std::atoi(v);
    else if (k == "--vary") vary = v;
    else if (k == "--split") split_seed = std::strtoull(v, nullptr, 0);
    else throw Error("unknown option " + k);
  }
  const std::string dir = argv[1];
  const bench::ValidationSplit split = bench::load_validation_split(dir, valid, threads, split_seed);
  const CsrMatrix &Xtr = split.Xtr, &Ytr = split.Ytr, &Xva = split.Xva, &Yva = split.Yva;
  const TrainParams& params = split.params;
  std::printf("%s: %zu train, %zu validation rows, %zu labels, members vary by %s\n", dir.c_str(), Xtr.rows, Xva.rows,
              Ytr.cols, vary.c_str());
  if (vary == "time") {
    // Per-query predict time (1 thread, row by row): each tree alone and the ensemble.
    TrainParams p = params;
    p.trees = members;
    const ModelParts parts = train_model_parts(Xtr, Ytr, p);
    std::vector<Model> alone;
    for (int m = 0; m < members; ++m) {
      ModelParts one = parts;
      one.more_trees.clear();
      if (m > 0) {
        one.layers = parts.more_trees[size_t(m - 1)].layers;
        one.slot_label = parts.more_trees[size_t(m - 1)].slot_label;
      }
      alone.push_back(Model::from_parts(one));
    }
    alone.push_back(Model::from_parts(parts));
    for (int top_k : {1, 5, 10}) {
      for (int pass = 0; pass < 3; ++pass) {
        std::printf("top_k %2d pass %d:", top_k, pass);
        for (size_t m = 0; m < alone.size(); ++m) {
          PredictParams pp = alone[m].default_predict_params();
          pp.top_k = top_k;
          InferenceWorkspace ws;
          std::vector<ScoredLabel> out;
          const auto t0 = std::chrono::steady_clock::now();
          if (std::getenv("XMR_BATCH")) alone[m].predict_batch(Xva, pp, 1);
          else for (size_t i = 0; i < Xva.rows; ++i) alone[m].predict(Xva.row(i), pp, ws, out);
          const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / double(Xva.rows);
          std::printf("  %s %.1f us", m + 1 == alone.size() ? "ensemble" : ("tree " + std::to_string(m + 1)).c_str(), us);
        }
        std::printf("\n");
      }
    }
    return 0;
  }
  const int branchings[] = {16, 8, 32, 4, 64};
  std::vector<Model> models;
  std::vector<std::vector<std::vector<ScoredLabel>>> preds;
  for (int m = 0; m < members; ++m) {
    TrainParams p = params;
    p.seed = uint64_t(m);
    if (vary == "branching") p.clustering.branching = branchings[m % 5];
    else if (vary == "leaf") p.clustering.max_leaf_size = 100 >> m;
    else if (vary == "leaf2") p.clustering.max_leaf_size = 100 >> (m % 2);
    else if (vary == "solver") p.solver.kind = m % 2 ? SolverKind::kLogisticDual : SolverKind::kL2SvmDual;
    else if (vary == "embedding") p.embedding = m % 2 ? LabelEmbeddingKind::kPii : LabelEmbeddingKind::kPifa;
    else if (vary == "leaf2-embedding") {
      p.clustering.max_leaf_size = 100 >> (m % 2);
      p.embedding = m % 2 ? LabelEmbeddingKind::kPii : LabelEmbeddingKind::kPifa;
    }
    else if (vary == "leaf2-negatives") {
      p.clustering.max_leaf_size = 100 >> (m % 2);
      if (m % 3 == 1) p.negatives = p.negatives == NegativeSampling::kTeacherForced ? NegativeSampling::kBoth : NegativeSampling::kTeacherForced;
    } else if (vary == "leaf2-cost") {
      p.clustering.max_leaf_size = 100 >> (m % 2);
      if (m % 3 == 1) p.solver.Cp = p.solver.Cn = 0.5;
      if (m % 3 == 2) p.solver.Cp = p.solver.Cn = 2.0;
    } else if (vary == "leaf2-threshold") {
      p.clustering.max_leaf_size = 100 >> (m % 2);
      if (m % 3 == 1) p.weight_threshold = 0.02f;
    }
    else if (vary == "mixed") {
      p.clustering.max_leaf_size = 100 >> m;
      p.solver.kind = m % 2 ? SolverKind::kLogisticDual : SolverKind::kL2SvmDual;
    } else if (vary == "leaf2-subsample") {
      p.clustering.max_leaf_size = 100 >> (m % 2);
    } else if (vary == "leaf2-shallow") {
      // Member 2 of each three the shallowest tree (two leaves, half the labels each): its rankers see
      // about every row as a negative.
      p.clustering.max_leaf_size = m % 3 == 2 ? int(Ytr.cols) : 100 >> (m % 2);
    } else if (vary == "views") {
      if (split.parts.size() != 2) throw Error("--vary views: a text set with two TF-IDF parts");
    } else if (vary != "seed") throw Error("--vary: seed, branching, leaf, leaf2, solver, embedding, leaf2-embedding, leaf2-negatives, leaf2-cost, leaf2-threshold, leaf2-subsample, leaf2-shallow, views or mixed");
    if (vary == "views" && m % 3 != 0) {
      // Member 1 of each three trains on the word part only, member 2 on the character part only. With no
      // weights on the other part it scores whole validation rows as it would their part alone.
      const auto [lo, hi] = split.parts[size_t(m % 3 - 1)];
      models.push_back(train_model(columns_within(Xtr, lo, hi), Ytr, p));
    } else if (vary == "leaf2-subsample" && m > 0) {
      std::vector<Index> rows;
      for (size_t i = 0; i < Xtr.rows; ++i) {
        if (splitmix64(mix_seed({uint64_t(m), i})) % 10 < 8) rows.push_back(Index(i));
      }
      models.push_back(train_model(Xtr.select_rows(rows), Ytr.select_rows(rows), p));
    } else {
      models.push_back(train_model(Xtr, Ytr, p));
    }
    PredictParams pp = models.back().default_predict_params();
    pp.top_k = pool;
    preds.push_back(models.back().predict_batch(Xva, pp, threads));
    char name[64];
    std::snprintf(name, sizeof name, "member %d alone", m);
    print(name, preds.back(), Yva);
  }
  for (int n = 2; n <= members; ++n) {
    // Rules over the union of the members' top-`pool` candidates.
    std::vector<std::vector<ScoredLabel>> mean0(Xva.rows), exact(Xva.rows), rank(Xva.rows), geo(Xva.rows);
    InferenceWorkspace ws;
    std::vector<float> s;
    for (size_t i = 0; i < Xva.rows; ++i) {
      std::map<Index, float> sum, rsum;
      for (int m = 0; m < n; ++m) {
        for (size_t r = 0; r < preds[m][i].size(); ++r) {
          sum[preds[m][i][r].label] += preds[m][i][r].score / float(n);
          rsum[preds[m][i][r].label] += 1.0f / float(r + 1 + 5);  // reciprocal rank fusion
        }
      }
      std::vector<Index> cand;
      for (auto& [l, v] : sum) {
        mean0[i].push_back({l, v});
        cand.push_back(l);
      }
      for (auto& [l, v] : rsum) rank[i].push_back({l, v});
      std::vector<float> tot(cand.size(), 0.0f), logtot(cand.size(), 0.0f);
      s.resize(cand.size());
      for (int m = 0; m < n; ++m) {
        PredictParams pp = models[m].default_predict_params();
        models[m].score_labels(Xva.row(i), cand.data(), cand.size(), pp, ws, s.data());
        for (size_t c = 0; c < cand.size(); ++c) {
          tot[c] += s[c] / float(n);
          logtot[c] += std::log(std::max(s[c], 1e-12f)) / float(n);
        }
      }
      for (size_t c = 0; c < cand.size(); ++c) {
        exact[i].push_back({cand[c], tot[c]});
        geo[i].push_back({cand[c], logtot[c]});
      }
      for (auto* v : {&mean0[i], &exact[i], &rank[i], &geo[i]})
        std::sort(v->begin(), v->end(), [](auto& a, auto& b) { return a.score > b.score; });
    }
    char name[80];
    std::snprintf(name, sizeof name, "%d trees: mean, missing = 0", n);
    print(name, mean0, Yva);
    std::snprintf(name, sizeof name, "%d trees: mean of exact scores", n);
    print(name, exact, Yva);
    std::snprintf(name, sizeof name, "%d trees: geometric mean of exact", n);
    print(name, geo, Yva);
    std::snprintf(name, sizeof name, "%d trees: reciprocal rank fusion", n);
    print(name, rank, Yva);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ensemble_experiment: error: %s\n", e.what());
  return 1;
}
