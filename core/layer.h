// The weights of one tree level, laid out for beam search.
//
// A level holds one linear model per node of layer t (the "children") and is
// stored as one chunk per node of layer t-1 (the "parent"): beam search only
// ever scores all children of a parent at once. A chunk is a small sparse
// matrix in row-per-feature form:
//
//   chunk p covers feat_ids[chunk_ptr[p] .. chunk_ptr[p+1])   (sorted features)
//   feature slot j has entries [feat_ptr[j] .. feat_ptr[j+1]) of
//   (entry_child = child index within p's children, entry_value = weight)
//
// so scoring a sparse query against a chunk is a merge-join of two sorted
// feature lists. bias[c] is child c's constant term. LayerView points into
// memory owned elsewhere (a model blob, mapped or not); LayerData owns it.
//
// Finding a query's features in a large chunk is the cost of inference, so a
// loaded model adds a ChunkLookup to each level: every chunk's features are
// cut into buckets of equal id range (about two features each), and a query
// feature is found by one shift and a short scan instead of a search. The
// lookup changes how slots are found, never which ones, so scores are
// bit-identical with and without it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/sparse.h"

namespace xmr {

using ChildSlot = uint16_t;  // a child's index within its parent's chunk
constexpr size_t kMaxChildrenPerNode = 65535;

// Per-chunk bucket index (see above). Chunks with few features have none.
struct ChunkBuckets {
  Index base = 0;        // the chunk's smallest feature id
  uint32_t shift = 0;    // bucket of feature f: (f - base) >> shift
  uint32_t count = 0;    // number of buckets; 0 = not indexed
  Offset first = 0;      // the chunk's first entry in LayerLookup::bucket_start
};

struct LayerLookup {
  std::vector<ChunkBuckets> chunks;  // one per parent
  // For an indexed chunk c: bucket b holds the chunk's features at positions
  // [bucket_start[c.first + b], bucket_start[c.first + b + 1]) relative to the
  // chunk's start (count + 1 entries per chunk).
  std::vector<uint32_t> bucket_start;
};

struct LayerView {
  size_t num_parents = 0;
  size_t num_children = 0;
  size_t num_chunk_feats = 0;
  size_t nnz = 0;
  const Index* child_ptr = nullptr;    // num_parents + 1
  const Offset* chunk_ptr = nullptr;   // num_parents + 1
  const Index* feat_ids = nullptr;     // num_chunk_feats
  // Entry ranges (num_chunk_feats + 1) and child slots (nnz) come in two
  // widths, exactly one pointer of each pair set: training's LayerData has the
  // wide ones; a model file (format 3) stores the narrowest that fit, 4-byte
  // ranges when the level has fewer than 2^32 weights and 1-byte slots when no
  // node has more than 256 children (see narrow_fits()).
  const Offset* feat_ptr = nullptr;
  const uint32_t* feat_ptr32 = nullptr;
  const ChildSlot* entry_child = nullptr;
  const uint8_t* entry_child8 = nullptr;
  const float* entry_value = nullptr;      // nnz
  const float* bias = nullptr;             // num_children
  const LayerLookup* lookup = nullptr;     // optional, see build_lookup()

  size_t num_children_of(size_t p) const { return child_ptr[p + 1] - child_ptr[p]; }
  // Entries of chunk feature slot j: [entry_begin(j), entry_begin(j + 1)).
  Offset entry_begin(size_t slot) const { return feat_ptr32 ? feat_ptr32[slot] : feat_ptr[slot]; }
  size_t child_of(Offset entry) const { return entry_child8 ? entry_child8[entry] : entry_child[entry]; }

  // out[j] = raw score of the j-th child of `parent` for query q (sorted
  // unique feature ids). Uses the lookup when there is one.
  void score_chunk(size_t parent, const SparseVectorView& q, float* out) const;

  // The same scores found by searching the chunk's sorted feature list
  // (galloping), without the lookup: the reference the fast path must equal.
  void score_chunk_search(size_t parent, const SparseVectorView& q, float* out) const;

  // score_chunk without the biases: adds the products of q's features found
  // in the chunk to out[j], feature by feature as score_chunk adds them, so
  // scoring a query's features in consecutive parts gives the same sums.
  void add_chunk(size_t parent, const SparseVectorView& q, float* out) const;
};

// Builds the bucket index of every chunk of L with at least
// kMinIndexedChunkFeatures features (L's features must be sorted per chunk).
constexpr size_t kMinIndexedChunkFeatures = 8;
LayerLookup build_lookup(const LayerView& L);

// Whether a level's entry ranges fit 4 bytes and its child slots 1 byte.
struct NarrowWidths {
  bool feat_ptr32 = false, entry_child8 = false;
};
NarrowWidths narrow_fits(const LayerView& L);

struct LayerData {
  std::vector<Index> child_ptr{0};
  std::vector<Offset> chunk_ptr{0};
  std::vector<Index> feat_ids;
  std::vector<Offset> feat_ptr{0};
  std::vector<ChildSlot> entry_child;
  std::vector<float> entry_value;
  std::vector<float> bias;

  LayerView view() const;
};

}  // namespace xmr
