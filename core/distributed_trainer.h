// Distributed XR-Linear training over a Communicator (core/communicator.h),
// split the way PECOS's distributed XR-Linear splits it: by the label tree.
//
// Every rank holds a shard of the training rows: consecutive rows, rank r's
// after rank r-1's (global row order = rank order). Then:
//   1. Label embedding: each rank sums its rows per label (PIFA is X^T Y, a
//      sum over rows, kept in double); each label's sums meet on one rank
//      (labels are cut into R ranges), which adds them in rank order and
//      normalises; rank 0 gathers the rows.
//   2. Tree: rank 0 clusters it, exactly as train_model does (or builds it
//      over given leaf clusters), and sends it to every rank.
//   3. Split: the nodes of one layer (the split layer: the shallowest with a
//      node per rank, above the labels) root the sub-trees. Rank 0 trains
//      the levels above them, the meta-tree, on every row (sent to it). Each
//      sub-tree goes to one rank, largest first to the least loaded (load:
//      an estimate of the solver's work, the rows active at each node times
//      their non-zeros times the node's children; rank 0 starts with the
//      meta-tree's), and every rank sends it the rows with a label under it
//      (teacher-forced negatives), in one all-to-all exchange.
//   4. Rank 0 gathers the sub-trees' levels and assembles the model.
//
// Reproducibility: given the same tree, the model equals train_model_parts
// on all the rows with the same parameters, byte for byte (each child's
// seed and rows are the same; tests check it). The tree is the same unless
// regrouping PIFA's double sums by shard moves one of them across a float
// rounding boundary (a chance of about 2^-29 per embedding entry).
//
// Supported: PIFA, teacher-forced negatives, one tree, no disentanglement;
// other settings are refused with xmr::Error before any communication, on
// every rank alike (they see the same params). A rank's error is thrown on
// that rank only: the caller must end the job (abort_job), since the other
// ranks may be waiting for it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/communicator.h"
#include "core/trainer.h"

namespace xmr {

struct DistributedInputs {
  size_t num_labels = 0;                     // global label count (Y's cols on every rank)
  const CsrMatrix* label_features = nullptr;  // rank 0's: L x F, concatenated to the embedding
  const std::vector<std::vector<Index>>* leaf_clusters = nullptr;  // rank 0's: tree over these leaves
  std::vector<std::string> label_names;       // rank 0's, stored in the model when non-empty
  ProgressFn progress;                        // this rank's steps
};

struct DistributedStats {
  double seconds_embedding = 0, seconds_clustering = 0, seconds_exchange = 0, seconds_matching = 0,
         seconds_gather = 0;
  size_t split_layer = 0, subtrees = 0;  // the same on every rank
  size_t subtrees_trained = 0;           // by this rank
  size_t rows_received = 0;              // rows this rank got for training (rank 0: every row)
  uint64_t bytes_sent = 0;               // by this rank, over the whole run
};

// Throws xmr::Error for settings distributed training does not support.
void check_distributed_params(const TrainParams& params);

// X_shard, Y_shard: this rank's rows (same count; Y_shard.cols ==
// inputs.num_labels, X_shard.cols the same on every rank), taken by value so
// they are freed once sent to the ranks that train on them. Returns the
// whole model's parts on rank 0 and empty parts elsewhere.
ModelParts train_distributed(CsrMatrix X_shard, CsrMatrix Y_shard, const TrainParams& params,
                             Communicator& comm, const DistributedInputs& inputs, DistributedStats* stats = nullptr);

}  // namespace xmr
