// Does a shallower label tree rank better on a small label space? On a
// validation split of a shared set's training data (the test file is never
// read): P@1/3/5, training time and batch inference time (1 thread) of the
// set's default tree against trees of bigger leaves, up to the shallowest
// tree (two leaves, the fewest a tree has: each ranker then sees about every
// training row as a negative, as a one-vs-rest model does).
//
//   tree_shape_experiment DATASET_DIR [--split S] [--seed N] [--leaves 100,400,0] [--threads 2] [--valid 0.2]
//
// A leaf size of 0 means the label count: the shallowest tree.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/metrics.h"
#include "core/model.h"
#include "core/trainer.h"
#include "tests/bench/validation_split.h"

using namespace xmr;

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATASET_DIR [--split S] [--seed N] [--leaves 100,400,0] [--threads 2] [--valid 0.2]\n",
                 argv[0]);
    return 2;
  }
  int threads = 2;
  double valid = 0.2;
  uint64_t split_seed = 0x5eed, seed = 0;
  std::vector<int> leaves{100, 400, 0};
  for (int a = 2; a + 1 < argc; a += 2) {
    const std::string k = argv[a];
    const char* v = argv[a + 1];
    if (k == "--threads") threads = std::atoi(v);
    else if (k == "--valid") valid = std::atof(v);
    else if (k == "--split") split_seed = std::strtoull(v, nullptr, 0);
    else if (k == "--seed") seed = std::strtoull(v, nullptr, 0);
    else if (k == "--leaves") {
      leaves.clear();
      std::stringstream ss(v);
      for (std::string t; std::getline(ss, t, ',');) {
        char* end = nullptr;
        const long leaf = std::strtol(t.c_str(), &end, 10);
        if (t.empty() || *end != '\0' || leaf < 0 || leaf > 1000000000)
          throw Error("--leaves: '" + t + "' is not a leaf size (0 for the shallowest tree)");
        leaves.push_back(int(leaf));
      }
    } else throw Error("unknown option " + k);
  }
  const bench::ValidationSplit split = bench::load_validation_split(argv[1], valid, threads, split_seed);
  std::printf("%s split %#llx seed %llu: %zu train, %zu validation rows, %zu labels\n", argv[1],
              (unsigned long long)split_seed, (unsigned long long)seed, split.Xtr.rows, split.Xva.rows, split.Ytr.cols);
  for (int leaf : leaves) {
    TrainParams p = split.params;
    p.seed = seed;
    p.clustering.max_leaf_size = leaf > 0 ? leaf : int(split.Ytr.cols);
    const auto t0 = std::chrono::steady_clock::now();
    const Model model = train_model(split.Xtr, split.Ytr, p);
    const auto t1 = std::chrono::steady_clock::now();
    const PredictParams pp = model.default_predict_params();
    const auto pred = model.predict_batch(split.Xva, pp, 1);
    const auto t2 = std::chrono::steady_clock::now();
    const RankingMetrics r = evaluate_ranking(pred, split.Yva, 5);
    std::printf("leaf %-6d P@1 %.2f  P@3 %.2f  P@5 %.2f  train %.2f s  predict %.1f us/query\n",
                p.clustering.max_leaf_size, 100 * r.precision[0], 100 * r.precision[2], 100 * r.precision[4],
                std::chrono::duration<double>(t1 - t0).count(),
                std::chrono::duration<double, std::micro>(t2 - t1).count() / double(split.Xva.rows));
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tree_shape_experiment: error: %s\n", e.what());
  return 1;
}
