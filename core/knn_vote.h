// A k-nearest-neighbour vote of the training rows, fused with the trees'
// scores (`xmr train --knn K`).
//
// The training rows most similar to a query (dot products of the rows as the
// trees saw them, so cosine for L2-normalised rows) vote for their labels,
// each with similarity^power; a label's vote is its share of all the votes,
// in [0, 1]. A label's score becomes
//
//   (1 - weight) * trees' score + weight * vote
//
// over the trees' top max(top_k, beam) labels and the voted ones: a label the
// trees did not list counts 0 from them (as an ensemble counts a tree that
// did not list it), a label no neighbour holds 0 votes. Rows touching none of
// the query's features, or with a similarity <= 0, do not vote.
//
// Why: label trees score each label from its own weights; the neighbours add
// what similar rows were tagged with together, which linear models see only
// label by label. On validation splits (README, "Nearest-neighbour vote") it
// raised P@1 by 0.6 to 1.9 points on delicious (bag-of-words tags), moved
// bibtex's by -0.8 to +0.8 and lowered cooking's and flipkart's, and it costs
// a pass over the training rows sharing a feature with the query (3.3x the
// trees' time on delicious, 71x on reuters' long texts): off by default.
//
// Immutable once built; vote(), fuse() and fuse_scores() are const and
// thread-safe, each thread with its own KnnWorkspace (no allocation once warm).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/sparse.h"

namespace xmr {

// A weight chosen at training time on held-out rows (core/knn_weight.h).
constexpr float kKnnAutoWeight = -1;

struct KnnVoteParams {
  int k = 0;            // neighbours that vote; 0 = no vote
  float power = 3;      // a neighbour's vote is similarity^power
  float weight = 0.3f;  // the vote's share of the fused score, in (0, 1], or kKnnAutoWeight

  bool enabled() const { return k > 0; }
  bool auto_weight() const { return weight == kKnnAutoWeight; }
  void validate() const;  // throws xmr::Error naming the bad field; auto is valid
};

// Most neighbours a vote may ask for (work per query grows with k).
constexpr int kMaxKnn = 10000;

// The training rows inverted by feature, and their labels. Plain arrays, as
// stored in the model file (sections knn/*).
struct KnnArrays {
  size_t num_features = 0, num_rows = 0, num_labels = 0;
  const uint64_t* feature_ptr = nullptr;  // num_features + 1: feature f's entries
  const uint32_t* rows = nullptr;         // ascending within a feature
  const float* values = nullptr;          // the row's value of the feature
  const uint64_t* label_ptr = nullptr;    // num_rows + 1: row r's labels
  const uint32_t* labels = nullptr;       // < num_labels

  size_t entries() const { return size_t(feature_ptr[num_features]); }
  size_t label_entries() const { return size_t(label_ptr[num_rows]); }
};

// Per-thread buffers; kept between calls.
struct KnnWorkspace {
  std::vector<float> similarity;  // per training row, 0 when untouched
  std::vector<uint32_t> touched;  // rows with a similarity to reset
  std::vector<std::pair<float, uint32_t>> nearest;
  std::vector<double> label_votes;  // per label, 0 when unvoted
  std::vector<uint32_t> voted;      // labels with a vote to reset
  std::vector<std::pair<uint32_t, float>> votes;  // (label, vote), by label
  std::vector<uint8_t> vote_used;
  std::vector<std::pair<uint32_t, float>> fused;  // (label, score)
};

class KnnVote {
 public:
  // The vote of training rows X (N x D features) with labels Y (N x L), both
  // copied. Throws xmr::Error if the shapes disagree or the params are bad
  // (an auto weight among them: it is chosen before the vote is built).
  static std::shared_ptr<const KnnVote> build(const CsrMatrix& X, const CsrMatrix& Y, const KnnVoteParams& params);
  // A vote over arrays that `owner` keeps alive (a model file's sections),
  // checked first: throws xmr::Error naming `name` on inconsistent arrays
  // (pointers out of order, rows or labels out of range, non-finite values).
  static std::shared_ptr<const KnnVote> view(const KnnArrays& arrays, const KnnVoteParams& params,
                                             std::shared_ptr<const void> owner, const std::string& name);

  const KnnVoteParams& params() const { return params_; }
  const KnnArrays& arrays() const { return arrays_; }
  // Heap bytes of the dense columns built on load (below): at most 4x the
  // file bytes of the entries they hold (8 bytes an entry, 4 a row).
  size_t heap_bytes() const { return dense_.size() * sizeof(float) + dense_column_.size() * sizeof(int32_t); }

  // q's votes into ws.votes: (label, vote in [0, 1]), by label ascending.
  // Features of q >= num_features are ignored.
  void vote(const SparseVectorView& q, KnnWorkspace& ws) const;

  // The fused scores of the trees' labels for q (`trees`: (label, score)
  // pairs, labels unique) and q's votes, best top_k into `out` as (label,
  // score), best first (ties: lower label first).
  template <typename Scored>
  void fuse(const SparseVectorView& q, const std::vector<Scored>& trees, size_t top_k, KnnWorkspace& ws,
            std::vector<Scored>& out) const {
    ws.fused.clear();
    for (const Scored& s : trees) ws.fused.emplace_back(s.label, s.score);
    fuse_pairs(q, top_k, ws);
    out.resize(ws.fused.size());
    for (size_t i = 0; i < ws.fused.size(); ++i) out[i] = Scored{ws.fused[i].first, ws.fused[i].second};
  }

  // scores[i] (the trees' exact score of labels[i]) becomes the fused score.
  void fuse_scores(const SparseVectorView& q, const uint32_t* labels, size_t n, KnnWorkspace& ws, float* scores) const;

  // The fusion step alone, at `weight` instead of params().weight: ws.fused
  // (the trees' (label, score) pairs, labels unique) becomes the best top_k
  // fused with ws.votes (as vote() left them). fuse() is vote() then this.
  void fuse_votes(size_t top_k, float weight, KnnWorkspace& ws) const;

 private:
  void fuse_pairs(const SparseVectorView& q, size_t top_k, KnnWorkspace& ws) const;

  KnnVoteParams params_;
  KnnArrays arrays_;
  std::shared_ptr<const void> owner_;  // keeps the arrays alive
  // Features held by at least 1 / kKnnDenseShare of the rows, as dense
  // columns (built on load): adding a column of contiguous floats is cheaper
  // than scattering its entries, and gives the same sums (a row without the
  // feature adds x * 0).
  std::vector<int32_t> dense_column_;  // per feature: its column, or -1
  std::vector<float> dense_;           // column c: dense_[c * num_rows ...]
};

// A feature gets a dense column when at least num_rows / kKnnDenseShare
// training rows hold it.
constexpr size_t kKnnDenseShare = 8;

}  // namespace xmr
