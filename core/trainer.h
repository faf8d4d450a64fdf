// Training of an XR-Linear model (PECOS, Yu et al. 2022): label indexing by
// hierarchical clustering, then one-vs-rest linear models level by level.
//
// At level t, the model of node c (child of p) is trained on the instances
// that are "active" at p:
//   teacher-forced negatives  instances with a positive label under p;
//   matcher-aware negatives   instances whose beam search over the already
//                             trained levels reaches p;
//   both                      the union.
// Weights with |w| <= weight_threshold are dropped. Results are deterministic
// for a seed and do not depend on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/encoder_trainer.h"
#include "core/progress_fn.h"

#include "core/clustering.h"
#include "core/disentangle.h"
#include "core/label_embedding.h"
#include "core/label_tree.h"
#include "core/linear_solver.h"
#include "core/model.h"
#include "core/postprocessor.h"
#include "core/sparse.h"

namespace xmr {

enum class NegativeSampling { kTeacherForced, kMatcherAware, kBoth };

NegativeSampling parse_negative_sampling(const std::string& name);  // "tfn", "man", "tfn+man"
const char* negative_sampling_name(NegativeSampling n);
SolverKind parse_solver(const std::string& name);                    // "l2-svm", "logistic"
const char* solver_name(SolverKind s);

struct TrainParams {
  LabelEmbeddingKind embedding = LabelEmbeddingKind::kPifa;
  ClusteringParams clustering;
  SolverParams solver;
  float weight_threshold = 0.1f;
  NegativeSampling negatives = NegativeSampling::kTeacherForced;
  // Beam used to find matcher-aware negatives. 5, not the 10 of search: on
  // validation splits of cooking and flipkart (3 seeds) P@1/P@5 were the same
  // within seed noise and training took 0.65-0.75x the time.
  int matcher_beam_size = 5;
  PostProcessor postprocessor = PostProcessor::kL3Hinge;
  uint64_t seed = 0;           // also seeds clustering (overrides clustering.seed)
  int threads = 0;             // 0 = OpenMP default
  // Off by default (max_copies 1); see core/disentangle.h.
  DisentangleParams disentangle;
  // Label trees in the model (an ensemble when > 1, up to kMaxTrees). Tree m
  // (0-based) differs by its seed (seed + m) and, for odd m, by leaves of at
  // most max_leaf_size / 2 labels; tree_params(m) gives its parameters. (Of
  // seeds alone, leaf sizes 100/50/25 and 100/50/100, the last gained most
  // P@1 on validation splits of the shared sets: README, "Ensembles".)
  int trees = 1;
  TrainParams tree_params(int m) const;
  // The deep matcher (core/deep_matcher.h): off by default.
  DeepMatcherParams deep;
  // A k-nearest-neighbour vote of the training rows fused with the trees'
  // scores (core/knn_vote.h): off by default (k 0).
  KnnVoteParams knn;

  void validate() const;
  std::string to_json() const;  // recorded in the model's metadata
};

// Optional inputs beyond X and Y.
struct TrainInputs {
  const CsrMatrix* label_features = nullptr;  // L x F, concatenated to the embedding
  const LabelTree* tree = nullptr;             // use this tree instead of clustering
  std::vector<std::string> label_names;        // stored in the model when non-empty
  // Steps "label embedding", "clustering", "level t/depth" (units: tree nodes).
  ProgressFn progress;
};

struct TrainStats {
  double seconds_embedding = 0, seconds_clustering = 0, seconds_matching = 0;
  double seconds_disentangle = 0;  // matcher passes and retraining, all rounds
  double seconds_encoder = 0;      // the deep matcher's encoders and embeddings (0 without one)
  std::string knn_choice;          // how an auto knn weight was chosen (core/knn_weight.h), "" otherwise
  std::vector<DisentangleRound> disentangle_rounds;
};

// X: N x D features (rows usually L2-normalised), Y: N x L labels. Trees of
// an ensemble are trained one after another, each with every thread. With
// params.disentangle enabled, the plain model is trained first, then each
// round reassigns labels from its matcher and retrains on the new tree. A
// non-null `plain` receives the model as it was before any round (for
// comparisons, without training it again; its time is stats' embedding +
// clustering + matching).
// Throws xmr::Error on inconsistent shapes or parameters.
// Throws xmr::Error unless X and Y have the same, non-zero number of rows, Y
// has a label and X a non-zero.
void check_training_data(const CsrMatrix& X, const CsrMatrix& Y);

// The label tree a training clusters (PIFA or PII, plus label features), or
// inputs.tree when given (checked against Y). Fills stats' embedding and
// clustering seconds.
LabelTree training_tree(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params, const TrainInputs& inputs,
                        TrainStats* stats = nullptr);

// With params.deep.enabled, trains the deep matcher (core/deep_matcher.h),
// whose trees are trained by this same function on the widened features.
// With params.knn enabled, the model also keeps X and Y for the vote
// (core/knn_vote.h); `plain` gets the same vote. An auto weight is chosen
// first on held-out rows (core/knn_weight.h; one more training), and the
// choice recorded in the parameters' JSON ("knn_auto"); a weight of 0 there
// leaves the vote out.
ModelParts train_model_parts(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params,
                             const TrainInputs& inputs = {}, TrainStats* stats = nullptr, ModelParts* plain = nullptr);

inline Model train_model(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params,
                         const TrainInputs& inputs = {}, TrainStats* stats = nullptr) {
  return Model::from_parts(train_model_parts(X, Y, params, inputs, stats));
}

// Trains the levels of `tree` (exposed so label disentanglement can retrain on
// a new tree). Instance i is a positive of every slot of each of its labels,
// and of their ancestors; when `slot_positives` (N x slots) is given, the
// ancestors are those of the slots in its row there instead. So routing
// decides which clusters an instance is taught to reach, while a label's
// ranker in any cluster the instance is active at still counts it a positive.
// Returns parts without label names or user data.
ModelParts train_on_tree(const CsrMatrix& X, const CsrMatrix& Y, const LabelTree& tree, const TrainParams& params,
                         const ProgressFn& progress = {}, const CsrMatrix* slot_positives = nullptr);

// Where `tree` sits in a larger tree when it is one of its sub-trees (as the
// distributed trainer splits the work): its root is a node of layer
// root_layer there, and its layer t (t >= 1) starts at node first_node[t - 1]
// of layer root_layer + t. X must hold exactly the rows active at that root,
// in the larger problem's order, and larger_nnz is the larger X's non-zero
// count. Each child's seed and how its rows are gathered then match the
// larger problem's, so the levels trained are byte-identical to its slice
// (with teacher-forced negatives: matcher-aware ones would need the whole
// beam). Throws xmr::Error when the placement does not fit the tree.
struct TreePlacement {
  size_t root_layer = 0;
  std::vector<Index> first_node;
  size_t larger_nnz = 0;
};
ModelParts train_subtree(const CsrMatrix& X, const CsrMatrix& Y, const LabelTree& tree, const TrainParams& params,
                         const TreePlacement& placement, const ProgressFn& progress = {});

}  // namespace xmr
