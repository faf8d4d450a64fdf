// Searching small trees in one pass over the query's features.
//
// Beam search scores one chunk per parent in the beam, and finding the
// query's features in each chunk is most of its cost on text (core/layer.h):
// a query's features are looked up once per chunk scored, per tree. A
// FlatIndex holds every level of every tree as one chunk whose children are
// all the nodes, so one lookup per query feature scores every node of every
// tree; beam search then runs on those scores (beam_search_scored) and gives
// the same labels and the same scores, bit for bit, as searching chunk by
// chunk: each node's score adds the same products in the same order (the
// query's features, ascending).
//
// It scores the chunks the beam would skip too, so it is not always faster:
// faster() weighs the lookups saved against the weights added, from each
// level's size (see kLookupCost).
//
// A feature with weights on at least kDenseWeightCost of all the nodes (most
// of delicious' 500; few of a text model's) is kept as a dense row over every
// node instead of entries: adding a row is a vectorised loop with no child
// index to read. The query's features are still added in ascending order,
// each row or each run of entries in turn, so each node sums the same
// products in the same order (a node without a weight adds a zero product).
//
// A deep matcher's embedding (core/deep_matcher.h) is in every query, so the
// estimate counts its weights as found by every query. Where they fill at
// least kDenseWeightCost of the nodes x dimensions (50% on delicious, 6% on
// flipkart), the index keeps them as a dense block, feature by feature over
// all nodes, and adds each embedding value times its row to the scores of a
// parent's children when the beam first expands that parent (the others are
// never read): the same products in the same order, with a zero where a node
// has no weight, so the same scores (up to the sign of a zero score).
//
// Built once when a model is opened; immutable, so any number of threads may
// search with it at once, each with its own InferenceWorkspace.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/inference.h"
#include "core/layer.h"
#include "core/sparse.h"

namespace xmr {

// Trees with more nodes in all, or more weights, than these get no index:
// it is a second copy of the weights (6 bytes a weight, built at load in
// 5-8 ns a weight), worth it up to 16 M weights: five disentangled
// cooking trees (6.2 M) search 6x faster with it than chunk by chunk.
constexpr size_t kFlatMaxNodes = kMaxChildrenPerNode;
constexpr size_t kFlatMaxWeights = size_t(1) << 24;

// What finding a query feature in a chunk costs, in weights added. Fitted to
// timings of both searches on the shared sets: where chunks hold few of the
// features (text) a lookup costs far more than the few weights it finds, and
// the one pass wins at every beam; on delicious, whose chunks hold most of its
// 500 features, it wins at beam 10 and loses at beam 5 (README, "Performance").
constexpr double kLookupCost = 32;
// What adding one weight of the dense block or of a row costs, in weights
// added through entries (contiguous and vectorised, no child index to read).
// Measured on delicious for rows too: 0.25 and 0.15 searched as fast and moved
// the beam at which the one pass is chosen by one (README, "Performance").
constexpr double kDenseWeightCost = 0.35;

struct FlatIndex {
  LayerData merged;     // one parent; child n is node n of the concatenated levels
  LayerLookup lookup;   // merged's bucket index
  LayerView view;       // merged, with lookup
  // level_base[m][t]: merged child of tree m's layer-t child 0.
  std::vector<std::vector<size_t>> level_base;
  // Features dense_from .. dense_from + dense_dim - 1 are an embedding's.
  // With a dense block they are not in merged: dense[j * nodes + n] is node
  // n's weight of feature dense_from + j, 0 where it has none. Without one
  // (dense empty) they are in merged like the rest.
  size_t dense_from = 0, dense_dim = 0;
  std::vector<float> dense;
  // Features (below dense_from) kept as dense rows, ascending, and their
  // rows: rows[r * nodes + n] is node n's weight of row_features[r], 0 where
  // it has none. These features have no entries in merged.
  std::vector<Index> row_features;
  std::vector<float> rows;
  // What the one pass adds per sparse query feature, in weights added
  // through entries: merged's entries of features below dense_from plus the
  // rows at kDenseWeightCost, spread over the features below dense_from.
  double one_pass_weights_per_feature = 0;
  // Per tree and level: parents (chunks), weights per other feature, and
  // weights of the embedding's features.
  struct LevelCost {
    size_t parents;
    double weights_per_feature;
    double dense_weights;
  };
  std::vector<std::vector<LevelCost>> level_cost;

  // Whether the one pass is estimated cheaper than beam search with this beam
  // over every tree, for a query of `query_nnz` features (the embedding's
  // included): the lookups and weights each is expected to cost, as above.
  bool faster(int beam_size, size_t query_nnz) const;
  size_t heap_bytes() const;
};

// The index of `trees` (a model's trees, in order, over `num_features`
// features, of which those from `dense_from` on are in every query: a deep
// matcher's embedding; num_features when there is none), or null when they
// are too large for one (the limits above). The index points into nothing of
// the trees: it holds its own copy of their weights.
std::unique_ptr<FlatIndex> build_flat_index(const std::vector<TreeView>& trees, size_t num_features,
                                            size_t dense_from);

// Top params.top_k labels for q, as beam_search (one tree) or ensemble_search
// (several) gives them with `trees`, the trees `index` was built from.
void flat_search(const FlatIndex& index, const std::vector<TreeView>& trees, const SparseVectorView& q,
                 const PredictParams& params, InferenceWorkspace& ws, std::vector<ScoredLabel>& out);

}  // namespace xmr
