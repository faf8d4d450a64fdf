// Choosing the knn vote's weight on a held-out share of the training rows
// (`xmr train --knn K --knn-weight auto`).
//
// The vote helps some data (delicious' tags) and hurts other (short texts),
// by more than a user can guess (README, "Nearest-neighbour vote"). So: hold
// out about a fifth of the rows (those whose seeded hash of their number is
// 0 mod 5), train the trees on the rest, and score the held-out rows by the trees alone and fused with the
// votes of the rest at each weight of kKnnAutoWeights. The weight with the
// best P@1 is kept only if its paired gain over the trees alone is more than
// twice its standard error (each row counts +1, 0 or -1); otherwise the vote
// is off. The trees and votes of the final model are then trained on all rows.
#pragma once

#include <cstddef>
#include <string>

#include "core/sparse.h"
#include "core/trainer.h"

namespace xmr {

constexpr float kKnnAutoWeights[] = {0.1f, 0.2f, 0.3f, 0.5f};

struct KnnWeightChoice {
  float weight = 0;  // the chosen weight; 0 = the vote is off
  size_t held_out = 0;
  double p1_trees = 0, p1_fused = 0;  // held-out P@1 (fractions) at the best weight
  double gain_se = 0;                 // standard error of the paired P@1 gain
  float best_weight = 0;              // the best weight, kept or not
  std::string to_json() const;
};

// params.knn.k > 0; params.knn.weight is ignored (the trees train with the
// vote off). Deterministic for params.seed. Throws xmr::Error as
// train_model_parts does, or when X has fewer than 10 rows.
KnnWeightChoice choose_knn_weight(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params);

}  // namespace xmr
