#include "core/flat_search.h"

#include <algorithm>

#include "core/ensemble.h"
#include "core/row_kernels.h"

namespace xmr {

size_t FlatIndex::heap_bytes() const {
  return merged.child_ptr.size() * sizeof(Index) + merged.chunk_ptr.size() * sizeof(Offset) +
         merged.feat_ids.size() * sizeof(Index) + merged.feat_ptr.size() * sizeof(Offset) +
         merged.entry_child.size() * sizeof(ChildSlot) + merged.entry_value.size() * sizeof(float) +
         merged.bias.size() * sizeof(float) + lookup.chunks.size() * sizeof(ChunkBuckets) +
         lookup.bucket_start.size() * sizeof(uint32_t) + dense.size() * sizeof(float) +
         row_features.size() * sizeof(Index) + rows.size() * sizeof(float);
}

bool FlatIndex::faster(int beam_size, size_t query_nnz) const {
  const double sparse_nnz = double(query_nnz > dense_dim ? query_nnz - dense_dim : 0);
  double chunk_by_chunk = 0;
  // The embedding: its block, or its lookups and entries like the others'.
  double one_pass = dense.empty() ? double(query_nnz) * kLookupCost
                                  : sparse_nnz * kLookupCost + double(dense.size()) * kDenseWeightCost;
  for (const auto& levels : level_cost) {
    for (const LevelCost& L : levels) {
      // The beam expands min(beam, parents) chunks of the level, looks every
      // query feature up in each, and finds that share of its weights.
      const double expanded = double(std::min(size_t(beam_size), L.parents));
      const double share = expanded / double(std::max<size_t>(1, L.parents));
      const double found = sparse_nnz * L.weights_per_feature + L.dense_weights;
      chunk_by_chunk += expanded * double(query_nnz) * kLookupCost + share * found;
      if (dense.empty()) one_pass += L.dense_weights;  // the embedding's entries, in every query
    }
  }
  one_pass += sparse_nnz * one_pass_weights_per_feature;
  return one_pass <= chunk_by_chunk;
}

namespace {

// f(layer, parent, first) for every chunk of every tree, in chunk order,
// first = the node of the parent's child 0, nodes numbered from each level's
// base (level_base).
template <typename F>
void for_each_tree_chunk(const std::vector<TreeView>& trees, const std::vector<std::vector<size_t>>& level_base,
                         F&& f) {
  for (size_t m = 0; m < trees.size(); ++m) {
    for (size_t t = 0; t < trees[m].layers.size(); ++t) {
      const LayerView& L = trees[m].layers[t];
      for (size_t p = 0; p < L.num_parents; ++p) f(L, p, level_base[m][t] + L.child_ptr[p]);
    }
  }
}

// f(layer, slot, first) for every slot of every tree.
template <typename F>
void for_each_tree_slot(const std::vector<TreeView>& trees, const std::vector<std::vector<size_t>>& level_base,
                        F&& f) {
  for_each_tree_chunk(trees, level_base, [&](const LayerView& L, size_t p, size_t first) {
    for (Offset s = L.chunk_ptr[p]; s < L.chunk_ptr[p + 1]; ++s) f(L, s, first);
  });
}

size_t slot_weights(const LayerView& L, Offset s) { return L.entry_begin(s + 1) - L.entry_begin(s); }

// Writes slot s's weights into a dense row over the nodes: row[n] for each
// child n of the slot's chunk (row points at the chunk's first node).
void copy_slot_to_row(const LayerView& L, Offset s, float* row) {
  for (Offset e = L.entry_begin(s); e < L.entry_begin(s + 1); ++e) row[L.child_of(e)] = L.entry_value[e];
}

// Entries written per block of the scatter below: their children and values
// (6 bytes each) stay in the L2 cache while the block is filled.
constexpr uint32_t kScatterBlockEntries = 1 << 16;

// Writes every weight of a feature below entries_below where the layout says:
// its row (row_of[k] != 0) or its next entry (at[k]++), k = position(f).
// Chunk by chunk, the features' entries would land all over the entry arrays,
// a cache miss each run of a chunk's feature (a text feature has one to three
// weights a chunk); so the features are taken a block at a time, by position,
// each chunk resuming where the previous block stopped, and each block's
// writes fall in one cache-sized stretch of the arrays. Same layout: a
// feature's entries still come chunk after chunk.
template <typename Position>
void scatter_entries(const std::vector<TreeView>& trees, const std::vector<std::vector<size_t>>& level_base,
                     Index entries_below, Position&& position, const std::vector<uint32_t>& row_of, size_t nodes,
                     std::vector<uint32_t>& at, LayerData& M, std::vector<float>& rows) {
  struct Chunk {
    const LayerView* layer;
    size_t parent;
    size_t first_node;
    Offset next;  // chunk feature slot to resume at
  };
  std::vector<Chunk> chunks;
  for_each_tree_chunk(trees, level_base, [&](const LayerView& L, size_t p, size_t first) {
    chunks.push_back({&L, p, first, L.chunk_ptr[p]});
  });
  const size_t positions = row_of.size();
  for (size_t block_begin = 0; block_begin < positions;) {
    // The block: positions from block_begin whose entries fit, at least one.
    size_t block_end = block_begin + 1;
    while (block_end < positions && at[block_end + 1] - at[block_begin] <= kScatterBlockEntries) ++block_end;
    for (Chunk& c : chunks) {
      const LayerView& L = *c.layer;
      Offset s = c.next;
      for (; s < L.chunk_ptr[c.parent + 1]; ++s) {
        const Index f = L.feat_ids[s];
        if (f >= entries_below) break;
        const size_t k = position(f);
        if (k >= block_end) break;
        if (row_of[k] != 0) {
          copy_slot_to_row(L, s, rows.data() + size_t(row_of[k] - 1) * nodes + c.first_node);
          continue;
        }
        uint32_t out = at[k];
        for (Offset e = L.entry_begin(s); e < L.entry_begin(s + 1); ++e, ++out) {
          M.entry_child[out] = ChildSlot(c.first_node + L.child_of(e));
          M.entry_value[out] = L.entry_value[e];
        }
        at[k] = out;
      }
      c.next = s;
    }
    block_begin = block_end;
  }
}

}  // namespace

std::unique_ptr<FlatIndex> build_flat_index(const std::vector<TreeView>& trees, size_t num_features,
                                            size_t dense_from) {
  dense_from = std::min(dense_from, num_features);
  const size_t dense_dim = num_features - dense_from;
  size_t nodes = 0, weights = 0;
  Index max_feature = 0;
  for (const TreeView& tree : trees) {
    for (const LayerView& L : tree.layers) {
      nodes += L.num_children;
      weights += L.nnz;
    }
  }
  if (nodes > kFlatMaxNodes || weights > kFlatMaxWeights) return nullptr;

  auto index = std::make_unique<FlatIndex>();
  index->dense_from = dense_from;
  index->dense_dim = dense_dim;
  size_t base = 0, dense_weights = 0;
  for (const TreeView& tree : trees) {
    index->level_cost.emplace_back();
    index->level_base.emplace_back();
    for (const LayerView& L : tree.layers) {
      size_t level_dense = 0;
      if (dense_dim > 0) {
        for (Offset s = 0; s < L.num_chunk_feats; ++s) {
          if (L.feat_ids[s] >= dense_from) level_dense += slot_weights(L, s);
        }
      }
      dense_weights += level_dense;
      const double sparse_features = double(std::max<size_t>(1, dense_from));
      index->level_cost.back().push_back(
          {L.num_parents, double(L.nnz - level_dense) / sparse_features, double(level_dense)});
      index->level_base.back().push_back(base);
      base += L.num_children;
    }
  }

  // The embedding's weights as a dense block where they fill enough of it to
  // cost less so, else as entries like any feature's.
  const bool block = dense_dim > 0 && double(dense_weights) >= kDenseWeightCost * double(dense_dim * nodes);
  const Index entries_below = Index(block ? dense_from : num_features);
  if (block) index->dense.assign(dense_dim * nodes, 0.0f);
  size_t entries = 0;
  for_each_tree_slot(trees, index->level_base, [&](const LayerView& L, Offset s, size_t first) {
    const Index f = L.feat_ids[s];
    if (f >= entries_below) {
      copy_slot_to_row(L, s, index->dense.data() + (f - dense_from) * nodes + first);
    } else {
      max_feature = std::max(max_feature, f);
      entries += slot_weights(L, s);
    }
  });

  LayerData& M = index->merged;
  M.child_ptr = {0, Index(nodes)};
  M.bias.reserve(nodes);
  for (const TreeView& tree : trees) {
    for (const LayerView& L : tree.layers) M.bias.insert(M.bias.end(), L.bias, L.bias + L.num_children);
  }
  // Weights per feature, by a counting sort over the feature ids themselves
  // when they are few beside the weights, else over the ranks of the
  // features used (so a file's huge feature count allocates nothing).
  const bool by_id = size_t(max_feature) < 4 * entries + 1024;
  std::vector<Index> used;
  if (!by_id) {
    for (const TreeView& tree : trees) {
      for (const LayerView& L : tree.layers) {
        for (size_t k = 0; k < L.num_chunk_feats; ++k) {
          if (L.feat_ids[k] < entries_below) used.push_back(L.feat_ids[k]);  // chunk by chunk, not sorted overall
        }
      }
    }
    std::sort(used.begin(), used.end());
    used.erase(std::unique(used.begin(), used.end()), used.end());
  }
  auto position = [&](Index f) {
    return by_id ? size_t(f) : size_t(std::lower_bound(used.begin(), used.end(), f) - used.begin());
  };
  const size_t positions = by_id ? size_t(max_feature) + 1 : used.size();
  std::vector<uint32_t> at(positions + 1, 0);  // weights <= kFlatMaxWeights < 2^32
  for_each_tree_slot(trees, index->level_base, [&](const LayerView& L, Offset s, size_t) {
    if (L.feat_ids[s] < entries_below) at[position(L.feat_ids[s]) + 1] += uint32_t(slot_weights(L, s));
  });
  // Features on enough of the nodes become rows (row_of: their row + 1, 0
  // for the others); the rest stay entries, laid out feature by feature. The
  // embedding's features (from dense_from on) have their block, or entries.
  const double row_min = kDenseWeightCost * double(nodes);
  std::vector<uint32_t> row_of(positions, 0);
  size_t row_weights = 0;
  for (size_t k = 0; k < positions; ++k) {
    if (at[k + 1] == 0) continue;
    const Index f = by_id ? Index(k) : used[k];
    if (f < dense_from && double(at[k + 1]) >= row_min) {
      index->row_features.push_back(f);
      row_of[k] = uint32_t(index->row_features.size());
      row_weights += at[k + 1];
      at[k + 1] = 0;
    } else {
      M.feat_ids.push_back(f);
      M.feat_ptr.push_back(M.feat_ptr.back() + at[k + 1]);
    }
  }
  for (size_t k = 0; k < positions; ++k) at[k + 1] += at[k];
  index->rows.assign(index->row_features.size() * nodes, 0.0f);
  M.entry_child.resize(entries - row_weights);
  M.entry_value.resize(entries - row_weights);
  scatter_entries(trees, index->level_base, entries_below, position, row_of, nodes, at, M, index->rows);
  // The embedding's own entries (no block) are counted by level, as the
  // query always has them.
  const size_t embedding_entries = block ? 0 : dense_weights;
  index->one_pass_weights_per_feature =
      (double(M.entry_value.size() - embedding_entries) + double(index->rows.size()) * kDenseWeightCost) /
      double(std::max<size_t>(1, dense_from));
  M.chunk_ptr = {0, Offset(M.feat_ids.size())};
  index->view = M.view();
  index->lookup = build_lookup(index->view);
  index->view.lookup = &index->lookup;
  return index;
}

namespace {

// The dense block's products, added to a parent's children when the search
// first reads them (children of parents it never expands are not worth
// them): each child adds its embedding products after its entries', in
// feature order, as the chunk-by-chunk search adds them.
class DenseBlockFinish final : public FinishChildScores {
 public:
  DenseBlockFinish(const FlatIndex& index, const SparseVectorView& q) : index_(index), q_(q) {
    // The embedding's features are the query's last.
    begin_ = q.nnz;
    while (begin_ > 0 && q.indices[begin_ - 1] >= index.dense_from) --begin_;
    end_ = begin_;
    while (end_ < q.nnz && q.indices[end_] - index.dense_from < index.dense_dim) ++end_;
  }
  void set_tree(size_t m) { tree_ = m; }
  void children(size_t t, Index first, size_t width, float* scores) const override {
    const size_t nodes = index_.view.num_children;
    const float* block = index_.dense.data() + index_.level_base[tree_][t] + first;
    auto row = [&](size_t k) { return block + (q_.indices[k] - index_.dense_from) * nodes; };
    size_t k = begin_;
    // Four embedding values per pass over the children: each score is read
    // and written once per four products, which it adds in the same order.
    for (; k + 4 <= end_; k += 4) {
      const float v0 = q_.values[k], v1 = q_.values[k + 1], v2 = q_.values[k + 2], v3 = q_.values[k + 3];
      const float *r0 = row(k), *r1 = row(k + 1), *r2 = row(k + 2), *r3 = row(k + 3);
      for (size_t n = 0; n < width; ++n) scores[n] = (((scores[n] + v0 * r0[n]) + v1 * r1[n]) + v2 * r2[n]) + v3 * r3[n];
    }
    for (; k < end_; ++k) {
      const float v = q_.values[k];
      const float* r = row(k);
      for (size_t n = 0; n < width; ++n) scores[n] += v * r[n];
    }
  }

 private:
  const FlatIndex& index_;
  const SparseVectorView& q_;
  size_t begin_ = 0, end_ = 0, tree_ = 0;
};

// Every node's score from the biases, the entries and the rows (not the
// dense block): q's features in ascending order, each run of features kept
// as entries added through the lookup, each row's feature added as a row
// (add_scaled: rows span every node, so its call costs little beside them;
// the dense block's short per-parent stretches keep their own loop, which
// measured faster there).
void score_entries_and_rows(const FlatIndex& index, const SparseVectorView& q, float* scores) {
  const std::vector<Index>& rows = index.row_features;
  if (rows.empty()) {
    index.view.score_chunk(0, q, scores);
    return;
  }
  const size_t nodes = index.view.num_children;
  std::copy(index.merged.bias.begin(), index.merged.bias.end(), scores);
  auto row = rows.begin();
  size_t run = 0;  // first query feature not added yet
  for (size_t k = 0; k < q.nnz; ++k) {
    row = std::lower_bound(row, rows.end(), q.indices[k]);
    if (row == rows.end()) break;  // no row at or past this feature: the rest are entries
    if (*row != q.indices[k]) continue;
    if (k > run) index.view.add_chunk(0, SparseVectorView{q.indices + run, q.values + run, k - run}, scores);
    add_scaled(scores, index.rows.data() + size_t(row - rows.begin()) * nodes, q.values[k], nodes);
    run = k + 1;
  }
  if (run < q.nnz) index.view.add_chunk(0, SparseVectorView{q.indices + run, q.values + run, q.nnz - run}, scores);
}

}  // namespace

void flat_search(const FlatIndex& index, const std::vector<TreeView>& trees, const SparseVectorView& q,
                 const PredictParams& params, InferenceWorkspace& ws, std::vector<ScoredLabel>& out) {
  ws.flat_scores.resize(index.view.num_children);
  // The entries and rows now (the lookup stops at the first feature past
  // them); the dense block's products as the search reads each parent's
  // children.
  score_entries_and_rows(index, q, ws.flat_scores.data());
  DenseBlockFinish dense(index, q);
  const FinishChildScores* finish = index.dense.empty() ? nullptr : &dense;
  auto levels_of = [&](size_t m) {
    ws.flat_levels.clear();
    for (size_t base : index.level_base[m]) ws.flat_levels.push_back(ws.flat_scores.data() + base);
    dense.set_tree(m);
    return ws.flat_levels.data();
  };
  if (trees.size() == 1) {
    beam_search_scored(trees.front(), levels_of(0), params, ws, out, finish);
    return;
  }
  ensemble_search_each(trees, params, ws, out, [&](size_t m, const PredictParams& p, std::vector<ScoredLabel>& found) {
    beam_search_scored(trees[m], levels_of(m), p, ws, found, finish);
  });
}

}  // namespace xmr
