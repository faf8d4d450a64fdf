#include "core/layer.h"

#include <algorithm>

namespace xmr {

namespace {

inline void add_feature(const LayerView& L, size_t slot, float qv, float* out) {
  for (Offset e = L.feat_ptr[slot]; e < L.feat_ptr[slot + 1]; ++e) out[L.entry_child[e]] += qv * L.entry_value[e];
}

}  // namespace

void LayerView::score_chunk(size_t parent, const SparseVectorView& q, float* out) const {
  const size_t first_child = child_ptr[parent];
  const size_t width = child_ptr[parent + 1] - first_child;
  for (size_t j = 0; j < width; ++j) out[j] = bias[first_child + j];

  const Index* f = feat_ids + chunk_ptr[parent];
  const Index* const f_end = feat_ids + chunk_ptr[parent + 1];
  const size_t chunk_feats = size_t(f_end - f);
  if (chunk_feats == 0 || q.nnz == 0) return;

  // Short queries against large chunks: binary-search each query feature in
  // the remaining range; otherwise a linear merge is cheaper.
  if (q.nnz * 16 < chunk_feats) {
    for (size_t k = 0; k < q.nnz && f < f_end; ++k) {
      f = std::lower_bound(f, f_end, q.indices[k]);
      if (f != f_end && *f == q.indices[k]) add_feature(*this, size_t(f - feat_ids), q.values[k], out);
    }
    return;
  }
  size_t k = 0;
  while (k < q.nnz && f < f_end) {
    if (*f < q.indices[k]) {
      ++f;
    } else if (*f > q.indices[k]) {
      ++k;
    } else {
      add_feature(*this, size_t(f - feat_ids), q.values[k], out);
      ++f;
      ++k;
    }
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
