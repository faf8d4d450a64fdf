#include "core/layer.h"

#include <algorithm>

namespace xmr {

namespace {

inline void add_feature(const LayerView& L, size_t slot, float qv, float* out) {
  for (Offset e = L.feat_ptr[slot]; e < L.feat_ptr[slot + 1]; ++e) out[L.entry_child[e]] += qv * L.entry_value[e];
}

// First position in [f, end) whose value is >= key, by galloping from f:
// consecutive query features land close together in a chunk, so this costs
// O(log gap) nearby reads instead of O(log n) scattered ones.
inline const Index* gallop(const Index* f, const Index* end, Index key) {
  const size_t n = size_t(end - f);
  if (n == 0 || f[0] >= key) return f;
  size_t lo = 0, hi = 1;  // f[lo] < key
  while (hi < n && f[hi] < key) {
    lo = hi;
    hi *= 2;
  }
  return std::lower_bound(f + lo + 1, f + std::min(hi, n), key);
}

}  // namespace

void LayerView::score_chunk(size_t parent, const SparseVectorView& q, float* out) const {
  const size_t first_child = child_ptr[parent];
  const size_t width = child_ptr[parent + 1] - first_child;
  for (size_t j = 0; j < width; ++j) out[j] = bias[first_child + j];

  const Index* f = feat_ids + chunk_ptr[parent];
  const Index* const f_end = feat_ids + chunk_ptr[parent + 1];

  // Gallop to each query feature in turn. With few query features this skips
  // most of the chunk; with many it degrades to a merge (gaps of 1 cost O(1)).
  for (size_t k = 0; k < q.nnz && f < f_end; ++k) {
    f = gallop(f, f_end, q.indices[k]);
    if (f != f_end && *f == q.indices[k]) add_feature(*this, size_t(f - feat_ids), q.values[k], out);
  }
}

LayerView LayerData::view() const {
  LayerView v;
  v.num_parents = child_ptr.size() - 1;
  v.num_children = child_ptr.back();
  v.num_chunk_feats = feat_ids.size();
  v.nnz = entry_value.size();
  v.child_ptr = child_ptr.data();
  v.chunk_ptr = chunk_ptr.data();
  v.feat_ids = feat_ids.data();
  v.feat_ptr = feat_ptr.data();
  v.entry_child = entry_child.data();
  v.entry_value = entry_value.data();
  v.bias = bias.data();
  return v;
}

}  // namespace xmr
