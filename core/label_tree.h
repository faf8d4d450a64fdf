// A hierarchical label tree with all leaves at the same depth.
//
// Layer 0 is the root (one node); layer t+1 holds the children of layer t's
// nodes, stored so each node's children are a contiguous range
// [child_ptr[t][p], child_ptr[t][p+1]). The last layer's nodes are label
// *slots*: slot s stands for label slot_label[s]. A label normally has one
// slot; after label disentanglement it may have several (one per leaf
// cluster it belongs to).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/sparse.h"

namespace xmr {

struct LabelTree {
  size_t num_labels = 0;
  std::vector<std::vector<Index>> child_ptr;  // one per layer above the labels
  std::vector<Index> slot_label;              // label id of each last-layer slot

  // Number of weight layers (= layers below the root).
  size_t depth() const { return child_ptr.size(); }
  // Nodes in layer t, for t in [0, depth()]; layer depth() is the label slots.
  size_t num_nodes(size_t t) const { return t == 0 ? 1 : child_ptr[t - 1].back(); }
  // True when some label has more than one slot.
  bool has_repeated_labels() const;

  // Throws xmr::Error unless: depth >= 1, every child range is non-empty and
  // ranges tile each layer in order, slot_label has one entry per slot, every
  // slot's label < num_labels and every label has at least one slot.
  void validate() const;

  // parent[t][c]: the parent (in layer t) of node c in layer t+1.
  std::vector<std::vector<Index>> parents() const;
};

}  // namespace xmr
