// Calibrated probabilities: P(label relevant | the model's score for it).
//
// A model's score (a product of per-level transformed margins) ranks well but
// is not a probability. A Calibration maps it to one by isotonic regression
// (pool-adjacent-violators) on (score, relevant) pairs from predictions on
// data the model was not trained on: the top-k labels of each held-out row.
// One map per rank 1 .. kCalibratedRanks - 1 and one for every later rank: a
// score means more at rank 1 than the same score at rank 5 (the best label
// of a row is the maximum of several). Each map is non-decreasing; a ranked
// list's probabilities are then made non-increasing down the list (each at
// most the one above), so calibration never reorders a ranking (it may tie).
//
// Immutable after fitting; probability() is const and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/inference.h"
#include "core/sparse.h"

namespace xmr {

// Precision, recall and coverage of the labels whose probability reaches a
// threshold, among the top k of each held-out row.
struct ThresholdRow {
  float threshold = 0;
  double precision = 0;  // relevant kept / kept (0 when nothing is kept)
  double recall = 0;     // relevant kept / relevant labels of the rows
  double coverage = 0;   // rows keeping at least one label / rows
};

constexpr size_t kCalibratedRanks = 5;

class Calibration {
 public:
  Calibration() = default;

  // Fits the maps on pairs (scores[i], relevant[i]) at ranks[i] (1-based).
  // A rank without pairs uses the map of the nearest rank above it that has
  // some. Throws xmr::Error when there are no pairs, a score is not finite or
  // a rank is 0.
  static Calibration fit(const std::vector<float>& scores, const std::vector<char>& relevant,
                         const std::vector<uint32_t>& ranks);

  // The probability of a label scored `score` at `rank` (1-based; later ranks
  // share the last map): linear between the fitted blocks' mean scores,
  // constant beyond the first and last. In [0, 1].
  float probability(float score, size_t rank) const;
  // Every label of a ranked list (best first) to its probability, each at most
  // the one above.
  void apply(std::vector<ScoredLabel>& ranked) const;

  bool empty() const { return maps_.empty(); }
  size_t num_maps() const { return maps_.size(); }
  size_t num_knots() const;
  size_t fitted_pairs() const { return fitted_pairs_; }

  // The maps as bytes (map count; per map its knot count, scores and
  // probabilities; little-endian), and back. deserialize throws xmr::Error
  // naming `name` unless, in every map, the scores increase strictly, the
  // probabilities are in [0, 1] and do not decrease, and every value is finite.
  std::string serialize() const;
  static Calibration deserialize(const std::string& bytes, size_t fitted_pairs, const std::string& name);

 private:
  struct Map {
    std::vector<float> score, probability;  // knots
    float at(float s) const;
  };
  std::vector<Map> maps_;  // rank 1, 2, ..., then every later rank
  size_t fitted_pairs_ = 0;
};

// The (score, relevant, rank) triples of every row's predicted labels, for
// fitting. truth: N x L (a label id >= truth.cols is never relevant).
void collect_pairs(const std::vector<std::vector<ScoredLabel>>& predictions, const CsrMatrix& truth,
                   std::vector<float>& scores, std::vector<char>& relevant, std::vector<uint32_t>& ranks);

// The threshold table of `thresholds` over predictions whose scores are
// already probabilities.
std::vector<ThresholdRow> threshold_table(const std::vector<std::vector<ScoredLabel>>& probabilities,
                                          const CsrMatrix& truth, const std::vector<float>& thresholds);

// Pairs of ranks 1..k in 10 equal-width bins of probability (a score outside
// [0, 1] is clamped): what ECE sums and a reliability diagram draws.
struct ReliabilityBin {
  double probability_sum = 0, relevant = 0;
  size_t count = 0;
};
std::vector<ReliabilityBin> reliability_bins(const std::vector<std::vector<ScoredLabel>>& probabilities,
                                             const CsrMatrix& truth, int k);

// Calibration error of predictions whose scores are probabilities (a score
// outside [0, 1] is clamped): ECE over ranks 1..k (10 equal-width bins of
// probability, weighted by the pairs in each) and the Brier score at rank 1
// (a row with no prediction counts as probability 0).
struct CalibrationMetrics {
  double ece_at_1 = 0, ece_at_k = 0, brier_at_1 = 0;
};
CalibrationMetrics calibration_metrics(const std::vector<std::vector<ScoredLabel>>& probabilities,
                                       const CsrMatrix& truth, int k);

// The ECE@1 a perfectly calibrated model with these rank-1 probabilities
// would still show on this many rows, over `draws` seeded simulations in
// which each row's label is relevant with its probability: their mean (the
// sampling floor under which a measured ECE@1 is not evidence) and their 95th
// percentile (a measured ECE@1 below it is consistent with perfect
// calibration at the 5% level).
struct EceFloor {
  double mean = 0, p95 = 0;
};
EceFloor ece_at_1_floor(const std::vector<std::vector<ScoredLabel>>& probabilities, int draws = 200, uint64_t seed = 0);

}  // namespace xmr
