// Beam search and pair scoring over a stack of LayerViews.
//
// A TreeView is everything inference needs: the levels (top to bottom) and
// the label of each bottom-level slot. It does not own memory. All functions
// here are const and safe to call from many threads at once, each thread with
// its own InferenceWorkspace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/encoder.h"
#include "core/knn_vote.h"
#include "core/layer.h"
#include "core/postprocessor.h"
#include "core/sparse.h"

namespace xmr {

struct ScoredLabel {
  Index label;
  float score;
  bool operator==(const ScoredLabel& o) const { return label == o.label && score == o.score; }
};

enum class RepeatedLabelScore { kMax, kMean };
RepeatedLabelScore parse_repeated_label_score(const std::string& name);  // "max", "mean"; throws xmr::Error

// Upper bounds of PredictParams: work and memory per query grow with both.
constexpr int kMaxBeamSize = 100000;
constexpr int kMaxTopK = 100000;

struct PredictParams {
  int beam_size = 10;  // nodes kept at each level above the labels, 1..kMaxBeamSize
  int top_k = 10;      // labels returned, 1..kMaxTopK
  PostProcessor postprocessor = PostProcessor::kL3Hinge;
  // How a label reached through several leaf slots is scored (disentangled trees).
  RepeatedLabelScore repeated = RepeatedLabelScore::kMax;

  void validate() const;  // throws xmr::Error when beam_size or top_k is out of range
};

struct TreeView {
  std::vector<LayerView> layers;      // layers[0] scores the root's children
  const Index* slot_label = nullptr;  // bottom slot -> label
  size_t num_labels = 0;
  // label -> its slots: slots label_slots[label_slot_ptr[l] .. label_slot_ptr[l+1])
  const Index* label_slot_ptr = nullptr;
  const Index* label_slots = nullptr;
  bool repeated_labels = false;
  size_t max_label_slots = 0;  // most slots of one label; 0 = unknown
};

// Buffers reused across queries; after the first few queries of a given beam
// size, predict() does not allocate.
// Scratch for merging the slots of repeated labels: an open-addressing table
// from label to its position in the merged list (linear time, no sort).
struct LabelMergeScratch {
  std::vector<Index> keys;     // label, or kEmpty; size is a power of two
  std::vector<uint32_t> slot;  // position of the label in the merged list
  std::vector<double> sum;     // per merged label (mean)
  std::vector<uint32_t> count;
  static constexpr Index kEmpty = Index(-1);
};

struct InferenceWorkspace {
  struct Node {
    Index id;
    float score;
  };
  std::vector<Node> beam, candidates;
  std::vector<float> bar;  // the best candidate scores so far, a min-heap
  std::vector<float> raw;
  LabelMergeScratch merge;
  // pair scoring
  std::vector<std::vector<Index>> needed;
  std::vector<std::vector<float>> combined;
  // ensembles (core/ensemble.h)
  std::vector<std::vector<ScoredLabel>> ensemble_found;
  std::vector<const std::vector<ScoredLabel>*> ensemble_found_ptrs;
  std::vector<ScoredLabel> ensemble_pooled;
  std::vector<double> ensemble_sum;
  std::vector<float> ensemble_scores;
  // one-pass search of small trees (core/flat_search.h)
  std::vector<float> flat_scores;
  std::vector<float*> flat_levels;
  // a model with an encoder (core/model.h): the query with its embedding appended
  EncoderWorkspace encoder;
  std::vector<Index> deep_ids;
  std::vector<float> deep_values;
  // a model with a k-nearest-neighbour vote (core/knn_vote.h): the trees' labels before fusing
  KnnWorkspace knn;
  std::vector<ScoredLabel> knn_trees;
};

// Top-k labels for query q, best first (ties: lower label id first).
// With a beam at least as wide as every level, equals exhaustive scoring.
// With `stop_layer` < layers.size(), stops after that level and returns its
// top beam_size nodes instead of labels (ids are node ids of tree layer
// stop_layer + 1); used for matcher-aware negatives. A level's children that
// cannot be among its best beam_size (the last level: top_k) are left
// unexpanded, and a parent none of whose children can is left unscored: the
// result is bit for bit what expanding every child gives.
void beam_search(const TreeView& tree, const SparseVectorView& q, const PredictParams& params, InferenceWorkspace& ws,
                 std::vector<ScoredLabel>& out, size_t stop_layer = SIZE_MAX);

// beam_search with every node's raw score already computed (core/flat_search.h):
// level_scores[t][c] is the raw score of layer t's child c, as
// LayerView::score_chunk gives it for q, or, with `finish`, what
// finish->children() completes it to when the search first reads a parent's
// children (called once per parent it expands, so a cost left to it is paid
// only for those). Returns what beam_search returns for q.
struct FinishChildScores {
  // Completes scores[0..width) of layer t's children first .. first + width - 1.
  virtual void children(size_t t, Index first, size_t width, float* scores) const = 0;

 protected:
  ~FinishChildScores() = default;
};
void beam_search_scored(const TreeView& tree, float* const* level_scores, const PredictParams& params,
                        InferenceWorkspace& ws, std::vector<ScoredLabel>& out,
                        const FinishChildScores* finish = nullptr);

// Workspace of beam_search_batch; reused across batches.
struct BatchWorkspace {
  struct Pair {
    Index parent;
    Index query;  // position within the batch
    float score;  // the parent's combined score for that query
  };
  std::vector<Pair> pairs;
  std::vector<std::vector<InferenceWorkspace::Node>> beams, candidates;
  std::vector<std::vector<float>> bars;  // per query: the best candidate scores so far, a min-heap
  std::vector<float> raw;
  LabelMergeScratch merge;
};

// Beam search for rows [begin, end) of X, one level at a time for the whole
// batch: each level's (parent, query) pairs are scored in parent order, so a
// chunk is read once per batch while it is hot in cache instead of once per
// query. out[i - begin] gets row i's labels; results equal beam_search's on
// each row exactly.
void beam_search_batch(const TreeView& tree, const CsrMatrix& X, size_t begin, size_t end, const PredictParams& params,
                       BatchWorkspace& ws, std::vector<ScoredLabel>* out);

// The combined score of each of `labels` for query q, as beam search would give
// it if the label were reached (max or mean over its slots). Labels must be
// < num_labels. Shared ancestors are scored once per call.
void score_labels(const TreeView& tree, const SparseVectorView& q, const Index* labels, size_t n, PostProcessor post,
                  RepeatedLabelScore repeated, InferenceWorkspace& ws, float* out);

}  // namespace xmr
