// One benchmark measurement of `xmr bench`: a data set (synthetic at a given
// label count, or a shared data set directory) is trained, saved, loaded and
// queried, and every figure is returned as one JSON object. Run in a child
// process per set so that its peak memory is its own.
#pragma once

#include <string>
#include <vector>

#include "core/disentangle.h"
#include "core/encoder_trainer.h"

namespace xmr::cli {

struct BenchConfig {
  std::vector<int> train_threads{1, 2};  // one full training per entry
  size_t queries = 2000;                 // test rows for inference
  int beam_size = 10;
  int top_k = 10;
  uint64_t seed = 0;
  std::string work_dir;  // where the model file is written (then removed)
  DisentangleParams disentangle;  // off unless max_copies > 1
  int trees = 1;                  // > 1: an ensemble, compared with its first tree alone
  DeepMatcherParams deep;         // enabled: the deep matcher, compared with the model without it
  KnnVoteParams knn;              // enabled: the nearest-neighbour vote, compared with the same trees without it
  bool quiet = false;
};

// The synthetic shape used at `labels` labels: rows = max(labels, 20,000),
// features = 2 x rows, about 35 non-zeros a row (the reference set's shape).
struct ScaleShape {
  size_t rows, features, labels;
};
ScaleShape scale_shape(size_t labels);

// `set` is "synthetic:<labels>" or a directory holding train.txt/test.txt
// (XC) or train.jsonl/test.jsonl (text, vectorized with the default TF-IDF).
// Returns the JSON object; throws xmr::Error naming the set on failure.
std::string run_bench_set(const std::string& set, const BenchConfig& config);

}  // namespace xmr::cli
