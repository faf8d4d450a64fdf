#include "core/flat_search.h"

#include <algorithm>

#include "core/ensemble.h"

namespace xmr {

size_t FlatIndex::heap_bytes() const {
  return merged.child_ptr.size() * sizeof(Index) + merged.chunk_ptr.size() * sizeof(Offset) +
         merged.feat_ids.size() * sizeof(Index) + merged.feat_ptr.size() * sizeof(Offset) +
         merged.entry_child.size() * sizeof(ChildSlot) + merged.entry_value.size() * sizeof(float) +
         merged.bias.size() * sizeof(float) + lookup.chunks.size() * sizeof(ChunkBuckets) +
         lookup.bucket_start.size() * sizeof(uint32_t);
}

bool FlatIndex::faster(int beam_size) const {
  double chunk_by_chunk = 0, one_pass = kLookupCost;
  for (const auto& levels : level_cost) {
    for (const LevelCost& L : levels) {
      // The beam expands min(beam, parents) chunks of the level, and finds
      // that share of its weights.
      const double expanded = double(std::min(size_t(beam_size), L.parents));
      chunk_by_chunk += expanded * kLookupCost + expanded / double(std::max<size_t>(1, L.parents)) * L.weights_per_feature;
      one_pass += L.weights_per_feature;
    }
  }
  return one_pass <= chunk_by_chunk;
}

namespace {

// Calls f(feature, node, weight) for every weight of `L`, node counted from
// `base`, in chunk order (so each feature's nodes ascend).
template <typename F>
void for_each_weight(const LayerView& L, size_t base, F&& f) {
  for (size_t p = 0; p < L.num_parents; ++p) {
    const size_t first = base + L.child_ptr[p];
    for (Offset s = L.chunk_ptr[p]; s < L.chunk_ptr[p + 1]; ++s) {
      for (Offset e = L.entry_begin(s); e < L.entry_begin(s + 1); ++e) f(L.feat_ids[s], first + L.child_of(e), L.entry_value[e]);
    }
  }
}

}  // namespace

std::unique_ptr<FlatIndex> build_flat_index(const std::vector<TreeView>& trees, size_t num_features) {
  size_t nodes = 0, weights = 0;
  Index max_feature = 0;
  for (const TreeView& tree : trees) {
    for (const LayerView& L : tree.layers) {
      nodes += L.num_children;
      weights += L.nnz;
      if (L.num_chunk_feats > 0) max_feature = std::max(max_feature, *std::max_element(L.feat_ids, L.feat_ids + L.num_chunk_feats));
    }
  }
  if (nodes > kFlatMaxNodes || weights > kFlatMaxWeights) return nullptr;

  auto index = std::make_unique<FlatIndex>();
  for (const TreeView& tree : trees) {
    index->level_cost.emplace_back();
    for (const LayerView& L : tree.layers) {
      index->level_cost.back().push_back({L.num_parents, double(L.nnz) / double(std::max<size_t>(1, num_features))});
    }
  }
  LayerData& M = index->merged;
  M.child_ptr = {0, Index(nodes)};
  M.bias.reserve(nodes);
  // Counting sort of every weight by feature, over the feature ids
  // themselves when they are few beside the weights, else over the ranks of
  // the features used (so a file's huge feature count allocates nothing).
  const bool by_id = size_t(max_feature) < 4 * weights + 1024;
  std::vector<Index> used;
  if (!by_id) {
    for (const TreeView& tree : trees) {
      for (const LayerView& L : tree.layers) used.insert(used.end(), L.feat_ids, L.feat_ids + L.num_chunk_feats);
    }
    std::sort(used.begin(), used.end());
    used.erase(std::unique(used.begin(), used.end()), used.end());
  }
  auto position = [&](Index f) {
    return by_id ? size_t(f) : size_t(std::lower_bound(used.begin(), used.end(), f) - used.begin());
  };
  const size_t positions = by_id ? size_t(max_feature) + 1 : used.size();
  std::vector<uint32_t> at(positions + 1, 0);  // weights <= kFlatMaxWeights < 2^32
  size_t base = 0;
  for (const TreeView& tree : trees) {
    index->level_base.emplace_back();
    for (const LayerView& L : tree.layers) {
      index->level_base.back().push_back(base);
      M.bias.insert(M.bias.end(), L.bias, L.bias + L.num_children);
      for_each_weight(L, base, [&](Index f, size_t, float) { ++at[position(f) + 1]; });
      base += L.num_children;
    }
  }
  for (size_t k = 0; k < positions; ++k) {
    if (at[k + 1] > 0) {
      M.feat_ids.push_back(by_id ? Index(k) : used[k]);
      M.feat_ptr.push_back(M.feat_ptr.back() + at[k + 1]);
    }
    at[k + 1] += at[k];
  }
  M.entry_child.resize(weights);
  M.entry_value.resize(weights);
  for (size_t m = 0; m < trees.size(); ++m) {
    for (size_t t = 0; t < trees[m].layers.size(); ++t) {
      for_each_weight(trees[m].layers[t], index->level_base[m][t], [&](Index f, size_t node, float w) {
        const uint32_t e = at[position(f)]++;
        M.entry_child[e] = ChildSlot(node);
        M.entry_value[e] = w;
      });
    }
  }
  M.chunk_ptr = {0, Offset(M.feat_ids.size())};
  index->view = M.view();
  index->lookup = build_lookup(index->view);
  index->view.lookup = &index->lookup;
  return index;
}

void flat_search(const FlatIndex& index, const std::vector<TreeView>& trees, const SparseVectorView& q,
                 const PredictParams& params, InferenceWorkspace& ws, std::vector<ScoredLabel>& out) {
  ws.flat_scores.resize(index.view.num_children);
  index.view.score_chunk(0, q, ws.flat_scores.data());
  auto levels_of = [&](size_t m) {
    ws.flat_levels.clear();
    for (size_t base : index.level_base[m]) ws.flat_levels.push_back(ws.flat_scores.data() + base);
    return ws.flat_levels.data();
  };
  if (trees.size() == 1) {
    beam_search_scored(trees.front(), levels_of(0), params, ws, out);
    return;
  }
  ws.ensemble_found.resize(trees.size());
  ws.ensemble_found_ptrs.resize(trees.size());
  const PredictParams tree_params = ensemble_tree_params(params);
  for (size_t m = 0; m < trees.size(); ++m) {
    beam_search_scored(trees[m], levels_of(m), tree_params, ws, ws.ensemble_found[m]);
    ws.ensemble_found_ptrs[m] = &ws.ensemble_found[m];
  }
  ensemble_combine(trees, ws.ensemble_found_ptrs, params, ws, out);
}

}  // namespace xmr
