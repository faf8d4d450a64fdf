// Serving an ensemble of label trees that share labels and features.
//
// A label's ensemble score is the mean over the trees of its score in each
// tree (post-processed, as beam search gives it). Search: the candidates are
// the union of the trees' top-k lists, and a tree that did not return a label
// adds 0 for it (as PECOS averages its members' sparse predictions). Scoring
// given labels (score_labels) takes every tree's exact score, as if each tree
// had reached the label; so for a label some tree missed, score_labels is
// higher than the search's score, and equal otherwise.
//
// Measured on validation splits of the five shared sets (README,
// "Ensembles"): the mean ranks as well as the geometric mean and better than
// reciprocal-rank fusion; scoring missed labels exactly changed no P@1 by more
// than 0.05 and doubled the ensemble's search time, so search adds 0.
//
// Stateless: every function is safe to call from many threads at once, each
// with its own InferenceWorkspace (its ensemble buffers are reused, so after
// warm-up a query allocates nothing).
#pragma once

#include <cstddef>
#include <vector>

#include "core/inference.h"
#include "core/sparse.h"

namespace xmr {

// The parameters each tree is searched with: top_k raised to beam_size.
PredictParams ensemble_tree_params(const PredictParams& params);

// Top params.top_k labels of the ensemble for q, best first (ties: lower
// label id first).
void ensemble_search(const std::vector<TreeView>& trees, const SparseVectorView& q, const PredictParams& params,
                     InferenceWorkspace& ws, std::vector<ScoredLabel>& out);

// ensemble_search with each tree searched by search_tree(m, tree_params,
// found): the mean over what it finds for each tree m (with
// ensemble_tree_params), as ensemble_search takes from beam_search.
template <typename SearchTree>
void ensemble_search_each(const std::vector<TreeView>& trees, const PredictParams& params, InferenceWorkspace& ws,
                          std::vector<ScoredLabel>& out, SearchTree&& search_tree);

// The same from each tree's list already found (found[m]: tree m's beam
// search result for the query with ensemble_tree_params), e.g. by
// beam_search_batch.
void ensemble_combine(const std::vector<TreeView>& trees, const std::vector<const std::vector<ScoredLabel>*>& found,
                      const PredictParams& params, InferenceWorkspace& ws, std::vector<ScoredLabel>& out);

// The ensemble score of each of `labels` (< num_labels) for q: the mean of
// the trees' exact scores.
void ensemble_score_labels(const std::vector<TreeView>& trees, const SparseVectorView& q, const Index* labels, size_t n,
                           PostProcessor post, RepeatedLabelScore repeated, InferenceWorkspace& ws, float* out);

template <typename SearchTree>
void ensemble_search_each(const std::vector<TreeView>& trees, const PredictParams& params, InferenceWorkspace& ws,
                          std::vector<ScoredLabel>& out, SearchTree&& search_tree) {
  ws.ensemble_found.resize(trees.size());
  ws.ensemble_found_ptrs.resize(trees.size());
  const PredictParams tree_params = ensemble_tree_params(params);
  for (size_t m = 0; m < trees.size(); ++m) {
    search_tree(m, tree_params, ws.ensemble_found[m]);
    ws.ensemble_found_ptrs[m] = &ws.ensemble_found[m];
  }
  ensemble_combine(trees, ws.ensemble_found_ptrs, params, ws, out);
}

}  // namespace xmr
