#include "core/label_tree.h"

#include "core/error.h"

namespace xmr {

bool LabelTree::has_repeated_labels() const { return slot_label.size() != num_labels; }

void LabelTree::validate() const {
  if (child_ptr.empty()) throw Error("label tree: no layers");
  size_t nodes = 1;
  for (size_t t = 0; t < child_ptr.size(); ++t) {
    const auto& ptr = child_ptr[t];
    if (ptr.size() != nodes + 1 || ptr[0] != 0) {
      throw Error("label tree: layer " + std::to_string(t) + " child ranges do not cover its " + std::to_string(nodes) + " nodes");
    }
    for (size_t p = 0; p < nodes; ++p) {
      if (ptr[p + 1] <= ptr[p]) throw Error("label tree: node " + std::to_string(p) + " of layer " + std::to_string(t) + " has no children");
    }
    nodes = ptr.back();
  }
  if (slot_label.size() != nodes) {
    throw Error("label tree: " + std::to_string(nodes) + " leaf slots but " + std::to_string(slot_label.size()) + " slot labels");
  }
  std::vector<char> seen(num_labels, 0);
  for (Index l : slot_label) {
    if (l >= num_labels) throw Error("label tree: slot label " + std::to_string(l) + " >= number of labels " + std::to_string(num_labels));
    seen[l] = 1;
  }
  for (size_t l = 0; l < num_labels; ++l) {
    if (!seen[l]) throw Error("label tree: label " + std::to_string(l) + " is in no leaf");
  }
}

std::vector<std::vector<Index>> LabelTree::parents() const {
  std::vector<std::vector<Index>> parent(depth());
  for (size_t t = 0; t < depth(); ++t) {
    parent[t].resize(child_ptr[t].back());
    for (size_t p = 0; p + 1 < child_ptr[t].size(); ++p) {
      for (Index c = child_ptr[t][p]; c < child_ptr[t][p + 1]; ++c) parent[t][c] = Index(p);
    }
  }
  return parent;
}

}  // namespace xmr
