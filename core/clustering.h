// Hierarchical balanced spherical k-means: clusters label embeddings into a
// LabelTree with branching factor B and leaves of at most max_leaf_size labels.
//
// The number of leaves is the smallest power of two (>= 2) that keeps leaves
// at most max_leaf_size labels, so leaves hold between max_leaf_size / 2 and
// max_leaf_size labels (as in PECOS). Levels below the root branch B ways; the
// top level takes the remainder (e.g. L = 2000, leaf 100, B = 16: 32 leaves,
// root -> 2 -> 32). Each node's items are split into min(b, n) clusters whose
// sizes differ by at most one (balanced), by spherical k-means (cosine
// similarity, unit centroids) with a greedy capacity-constrained assignment.
// The tree depends only on the embedding and the seed, not on thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/label_tree.h"
#include "core/sparse.h"

namespace xmr {

struct ClusteringParams {
  int branching = 16;      // B, 2..256
  int max_leaf_size = 100;
  int max_iter = 20;       // k-means iterations per split
  uint64_t seed = 0;

  void validate() const;  // throws xmr::Error on out-of-range values
};

// Branching factor of each level, top first, for `num_items` items.
std::vector<int> level_branching(size_t num_items, const ClusteringParams& params);

// `embedding` has one row per label (rows need not be normalised).
LabelTree build_label_tree(const CsrMatrix& embedding, const ClusteringParams& params);

// build_label_tree in pieces, for distributed clustering (each piece's splits
// are seeded by their layer and node, so the pieces give the same tree):
//
// Nodes in each layer of the tree over `num_items` items with these
// branching factors (level_branching), top first: counts[0] = 1 (the root).
std::vector<size_t> layer_node_counts(size_t num_items, const std::vector<int>& branching);
// The top `layers` layers of splits: fills `top` (num_labels and `layers`
// child ranges, no leaves) and returns the groups of layer `layers` (the
// labels of each node there, in tree order).
std::vector<std::vector<Index>> cluster_top_layers(const CsrMatrix& embedding, const ClusteringParams& params,
                                                   size_t layers, LabelTree& top);
// Below one node of layer `layer` holding `items` (rows of `embedding`, in
// its group's order): first_node[k] is the index in layer `layer + k` of the
// node's first descendant there (first_node[0] is the node itself);
// `branching` is the whole tree's (level_branching). child_counts[k] gives
// the children of each of its nodes in layer `layer + k`; leaves the items
// of each leaf, in order.
struct SubtreeClusters {
  std::vector<std::vector<Index>> child_counts;
  std::vector<std::vector<Index>> leaves;
};
SubtreeClusters cluster_subtree(const CsrMatrix& embedding, std::vector<Index> items, const ClusteringParams& params,
                                const std::vector<int>& branching, size_t layer, const std::vector<size_t>& first_node);

// Splits `items` (row ids of `embedding`) into min(B, items.size()) balanced
// clusters. Returns the cluster of each item, in 0..k-1. Exposed for tests.
std::vector<Index> balanced_spherical_kmeans(const CsrMatrix& embedding, const std::vector<Index>& items, int num_clusters,
                                             int max_iter, uint64_t seed);

// A user-supplied tree: `leaves[j]` lists the labels of leaf cluster j (every
// label in at least one leaf). The layers above the leaves are built by
// clustering the leaves' mean embeddings with the same balanced k-means.
LabelTree build_tree_over_leaves(const CsrMatrix& embedding, const std::vector<std::vector<Index>>& leaves,
                                 const ClusteringParams& params);

// Reads leaf clusters from a text file: one leaf per line, label ids
// separated by spaces; '#' starts a comment line. Errors name file and line.
std::vector<std::vector<Index>> read_leaf_clusters(const std::string& path, size_t num_labels);

}  // namespace xmr
