#include "core/layer.h"

#include <algorithm>
#include <cstdint>

namespace xmr {

namespace {

// The arrays of a level at one pair of widths, for the scoring loops below.
template <typename Ptr, typename Slot>
struct Entries {
  const Ptr* feat_ptr;
  const Slot* child;
  const float* value;
  void add_feature(size_t slot, float qv, float* out) const {
    for (Ptr e = feat_ptr[slot]; e < feat_ptr[slot + 1]; ++e) out[child[e]] += qv * value[e];
  }
};

// Calls f(Entries<...>) with L's widths (one branch per chunk, not per entry).
// Always inlined: called as a function, its loops read the caller's
// variables through the closure (8% slower chunk by chunk on the 100,000-label
// benchmark model).
template <typename F>
[[gnu::always_inline]] inline void with_entries(const LayerView& L, F&& f) {
  if (L.feat_ptr32) {
    if (L.entry_child8) f(Entries<uint32_t, uint8_t>{L.feat_ptr32, L.entry_child8, L.entry_value});
    else f(Entries<uint32_t, ChildSlot>{L.feat_ptr32, L.entry_child, L.entry_value});
  } else {
    if (L.entry_child8) f(Entries<Offset, uint8_t>{L.feat_ptr, L.entry_child8, L.entry_value});
    else f(Entries<Offset, ChildSlot>{L.feat_ptr, L.entry_child, L.entry_value});
  }
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

// The products of q's features in L's chunk `parent`, added to out, found by
// galloping through the chunk's sorted features (no lookup needed).
void add_chunk_by_search(const LayerView& L, size_t parent, const SparseVectorView& q, float* out) {
  const Index* f = L.feat_ids + L.chunk_ptr[parent];
  const Index* const f_end = L.feat_ids + L.chunk_ptr[parent + 1];

  // Gallop to each query feature in turn. With few query features this skips
  // most of the chunk; with many it degrades to a merge (gaps of 1 cost O(1)).
  with_entries(L, [&](const auto& entries) {
    for (size_t k = 0; k < q.nnz && f < f_end; ++k) {
      f = gallop(f, f_end, q.indices[k]);
      if (f != f_end && *f == q.indices[k]) entries.add_feature(size_t(f - L.feat_ids), q.values[k], out);
    }
  });
}

// The same through L's lookup where the chunk has one: the search's
// innermost loop, inlined into both score_chunk and add_chunk.
[[gnu::always_inline]] inline void add_chunk_products(const LayerView& L, size_t parent, const SparseVectorView& q, float* out) {
  if (L.lookup == nullptr || L.lookup->chunks[parent].count == 0) {
    add_chunk_by_search(L, parent, q, out);
    return;
  }
  const ChunkBuckets& c = L.lookup->chunks[parent];
  const uint32_t* start = L.lookup->bucket_start.data() + c.first;
  const Offset chunk_begin = L.chunk_ptr[parent];
  const Index* f = L.feat_ids + chunk_begin;
  with_entries(L, [&](const auto& entries) {
    for (size_t k = 0; k < q.nnz; ++k) {
      const Index feature = q.indices[k];
      if (feature < c.base) continue;
      const size_t b = size_t(feature - c.base) >> c.shift;
      if (b >= c.count) break;  // query features ascend: the rest are past the chunk too
      for (uint32_t pos = start[b], end = start[b + 1]; pos < end; ++pos) {
        if (f[pos] >= feature) {
          if (f[pos] == feature) entries.add_feature(size_t(chunk_begin + pos), q.values[k], out);
          break;
        }
      }
    }
  });
}

inline void fill_biases(const LayerView& L, size_t parent, float* out) {
  const size_t first_child = L.child_ptr[parent];
  const size_t width = L.child_ptr[parent + 1] - first_child;
  for (size_t j = 0; j < width; ++j) out[j] = L.bias[first_child + j];
}

}  // namespace

void LayerView::score_chunk(size_t parent, const SparseVectorView& q, float* out) const {
  fill_biases(*this, parent, out);
  add_chunk_products(*this, parent, q, out);
}

void LayerView::add_chunk(size_t parent, const SparseVectorView& q, float* out) const {
  add_chunk_products(*this, parent, q, out);
}

void LayerView::score_chunk_search(size_t parent, const SparseVectorView& q, float* out) const {
  fill_biases(*this, parent, out);
  add_chunk_by_search(*this, parent, q, out);
}

NarrowWidths narrow_fits(const LayerView& L) {
  NarrowWidths w;
  w.feat_ptr32 = L.nnz <= UINT32_MAX;
  size_t widest = 0;
  for (size_t p = 0; p < L.num_parents; ++p) widest = std::max(widest, L.num_children_of(p));
  w.entry_child8 = widest <= size_t(UINT8_MAX) + 1;
  return w;
}

LayerLookup build_lookup(const LayerView& L) {
  LayerLookup lookup;
  lookup.chunks.resize(L.num_parents);
  for (size_t p = 0; p < L.num_parents; ++p) {
    const Index* f = L.feat_ids + L.chunk_ptr[p];
    const size_t n = size_t(L.chunk_ptr[p + 1] - L.chunk_ptr[p]);
    if (n < kMinIndexedChunkFeatures) continue;
    ChunkBuckets& c = lookup.chunks[p];
    c.base = f[0];
    const uint64_t range = uint64_t(f[n - 1]) - f[0] + 1;
    const uint64_t target = std::max<uint64_t>(1, n / 2);
    while (((range - 1) >> c.shift) + 1 > target) ++c.shift;
    c.count = uint32_t(((range - 1) >> c.shift) + 1);
    c.first = lookup.bucket_start.size();
    // bucket_start[b] = first position whose bucket is >= b
    size_t pos = 0;
    for (uint32_t b = 0; b <= c.count; ++b) {
      while (pos < n && (size_t(f[pos] - c.base) >> c.shift) < b) ++pos;
      lookup.bucket_start.push_back(uint32_t(pos));
    }
  }
  return lookup;
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
