#include "core/clustering.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "core/rng.h"

namespace xmr {

void ClusteringParams::validate() const {
  if (branching < 2 || branching > 256) throw Error("branching factor must be in 2..256, got " + std::to_string(branching));
  if (max_leaf_size < 1) throw Error("max_leaf_size must be >= 1, got " + std::to_string(max_leaf_size));
  if (max_iter < 0) throw Error("k-means max_iter must be >= 0, got " + std::to_string(max_iter));
}

namespace {

// The items' rows with columns renumbered densely (0..F-1) over the columns
// the items use, so a split of n items costs O(nnz + k F), not O(k D).
struct LocalRows {
  std::vector<Offset> ptr{0};
  std::vector<Index> col;
  std::vector<float> val;
  size_t num_cols = 0;
};

LocalRows gather_local(const CsrMatrix& E, const std::vector<Index>& items) {
  LocalRows out;
  size_t nnz = 0;
  for (Index i : items) nnz += E.row(i).nnz;
  // Local column numbers follow the original order. A large node (near the
  // root) marks its columns in a table over all of E's columns; a small one
  // sorts the columns it uses, so its cost does not grow with E.cols.
  std::vector<Index> sorted_cols, table;
  if (nnz >= E.cols) {
    constexpr Index kUnused = Index(-1);
    table.assign(E.cols, kUnused);
    for (Index i : items) {
      const SparseVectorView r = E.row(i);
      for (size_t k = 0; k < r.nnz; ++k) table[r.indices[k]] = 0;
    }
    for (Index& t : table) {
      if (t != kUnused) t = Index(out.num_cols++);
    }
  } else {
    sorted_cols.reserve(nnz);
    for (Index i : items) {
      const SparseVectorView r = E.row(i);
      sorted_cols.insert(sorted_cols.end(), r.indices, r.indices + r.nnz);
    }
    std::sort(sorted_cols.begin(), sorted_cols.end());
    sorted_cols.erase(std::unique(sorted_cols.begin(), sorted_cols.end()), sorted_cols.end());
    out.num_cols = sorted_cols.size();
  }
  auto local = [&](Index c) {
    return table.empty() ? Index(std::lower_bound(sorted_cols.begin(), sorted_cols.end(), c) - sorted_cols.begin())
                         : table[c];
  };
  out.ptr.reserve(items.size() + 1);
  out.col.reserve(nnz);  // exact: at the root this is a copy of the whole label embedding
  out.val.reserve(nnz);
  for (Index i : items) {
    const SparseVectorView r = E.row(i);
    double sq = 0;
    for (size_t k = 0; k < r.nnz; ++k) sq += double(r.values[k]) * r.values[k];
    const float inv = sq > 0 ? float(1.0 / std::sqrt(sq)) : 0.0f;
    for (size_t k = 0; k < r.nnz; ++k) {
      out.col.push_back(local(r.indices[k]));
      out.val.push_back(r.values[k] * inv);
    }
    out.ptr.push_back(out.col.size());
  }
  return out;
}

// Balanced assignment by regret: items are placed in order of decreasing
// (best - second best similarity), each into its most similar cluster that
// still has room. A cluster holds q = n / k items, and r = n % k clusters may
// hold one more, so sizes are exactly balanced. For k = 2 this is the optimal
// balanced split (sort by similarity difference, cut in the middle).
void balanced_assign(const std::vector<float>& sim, size_t n, size_t k, std::vector<Index>& assign) {
  std::vector<std::pair<float, Index>> regret(n);
  for (size_t i = 0; i < n; ++i) {
    const float* s = sim.data() + i * k;
    float best = -std::numeric_limits<float>::infinity(), second = best;
    for (size_t c = 0; c < k; ++c) {
      if (s[c] > best) {
        second = best;
        best = s[c];
      } else if (s[c] > second) {
        second = s[c];
      }
    }
    regret[i] = {best - second, Index(i)};
  }
  std::sort(regret.begin(), regret.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  const size_t q = n / k;
  size_t bonus_left = n % k;
  std::vector<size_t> size(k, 0);
  for (const auto& entry : regret) {
    const Index i = entry.second;
    const float* s = sim.data() + size_t(i) * k;
    size_t chosen = k;
    for (size_t c = 0; c < k; ++c) {
      const bool room = size[c] < q || (size[c] == q && bonus_left > 0);
      if (room && (chosen == k || s[c] > s[chosen])) chosen = c;
    }
    if (size[chosen] == q) --bonus_left;
    ++size[chosen];
    assign[i] = Index(chosen);
  }
}

}  // namespace

std::vector<Index> balanced_spherical_kmeans(const CsrMatrix& E, const std::vector<Index>& items, int num_clusters,
                                             int max_iter, uint64_t seed) {
  const size_t n = items.size();
  const size_t k = std::min<size_t>(size_t(num_clusters), n);
  std::vector<Index> assign(n, 0);
  if (k <= 1) return assign;
  if (k == n) {
    std::iota(assign.begin(), assign.end(), 0);
    return assign;
  }
  const LocalRows X = gather_local(E, items);
  const size_t F = X.num_cols;

  // Initial centroids: k distinct items chosen by a seeded partial shuffle.
  std::vector<Index> order(n);
  std::iota(order.begin(), order.end(), 0);
  uint64_t state = seed;
  for (size_t c = 0; c < k; ++c) {
    state = splitmix64(state);
    std::swap(order[c], order[c + state % (n - c)]);
  }
  // Centroids are stored feature-major (centroid[f * k + c]) so each non-zero
  // of an item touches k adjacent floats: the similarity loop vectorises and
  // reads one cache line per feature instead of k scattered ones.
  std::vector<float> centroid(F * k, 0.0f);
  for (size_t c = 0; c < k; ++c) {
    const Index i = order[c];
    for (Offset p = X.ptr[i]; p < X.ptr[i + 1]; ++p) centroid[size_t(X.col[p]) * k + c] = X.val[p];
  }

  std::vector<float> sim(n * k);
  std::vector<Index> prev(n, Index(-1));
  std::vector<double> norm_sq(k);
  for (int iter = 0; iter <= max_iter; ++iter) {
#pragma omp parallel for schedule(static) if (n * k > 65536)
    for (size_t i = 0; i < n; ++i) {
      float* s = sim.data() + i * k;
      std::fill(s, s + k, 0.0f);
      for (Offset p = X.ptr[i]; p < X.ptr[i + 1]; ++p) {
        const float v = X.val[p];
        const float* w = centroid.data() + size_t(X.col[p]) * k;
        for (size_t c = 0; c < k; ++c) s[c] += v * w[c];
      }
    }
    balanced_assign(sim, n, k, assign);
    if (assign == prev || iter == max_iter) break;
    prev = assign;
    std::fill(centroid.begin(), centroid.end(), 0.0f);
    for (size_t i = 0; i < n; ++i) {
      const size_t c = assign[i];
      for (Offset p = X.ptr[i]; p < X.ptr[i + 1]; ++p) centroid[size_t(X.col[p]) * k + c] += X.val[p];
    }
    std::fill(norm_sq.begin(), norm_sq.end(), 0.0);
    for (size_t f = 0; f < F; ++f) {
      for (size_t c = 0; c < k; ++c) norm_sq[c] += double(centroid[f * k + c]) * centroid[f * k + c];
    }
    std::vector<float> inv(k);
    for (size_t c = 0; c < k; ++c) inv[c] = norm_sq[c] > 0 ? float(1.0 / std::sqrt(norm_sq[c])) : 0.0f;
    for (size_t f = 0; f < F; ++f) {
      for (size_t c = 0; c < k; ++c) centroid[f * k + c] *= inv[c];
    }
  }
  return assign;
}

namespace {

// Splits every group of `groups` into min(B, size) clusters; appends the
// layer's child ranges to `tree` and returns the new groups in tree order.
// `first_group`: the index in its layer of groups[0] (the groups are
// consecutive nodes of `layer`), which seeds each split.
std::vector<std::vector<Index>> split_layer(const CsrMatrix& E, const std::vector<std::vector<Index>>& groups,
                                            const ClusteringParams& params, int branching, size_t layer,
                                            LabelTree& tree, size_t first_group = 0) {
  std::vector<std::vector<std::vector<Index>>> parts(groups.size());
#pragma omp parallel for schedule(dynamic, 1) if (groups.size() > 1)
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& items = groups[g];
    const std::vector<Index> assign = balanced_spherical_kmeans(E, items, branching, params.max_iter,
                                                                mix_seed({params.seed, layer, first_group + g}));
    const size_t k = std::min<size_t>(size_t(branching), items.size());
    parts[g].assign(std::max<size_t>(k, 1), {});
    for (size_t i = 0; i < items.size(); ++i) parts[g][assign[i]].push_back(items[i]);
  }
  std::vector<Index> ptr{0};
  std::vector<std::vector<Index>> next;
  for (auto& p : parts) {
    for (auto& child : p) next.push_back(std::move(child));
    ptr.push_back(Index(next.size()));
  }
  tree.child_ptr.push_back(std::move(ptr));
  return next;
}

}  // namespace

std::vector<int> level_branching(size_t num_items, const ClusteringParams& params) {
  // Leaves: the smallest power of two (>= 2) that keeps them <= max_leaf_size.
  size_t leaves = 2;
  while (double(num_items) / double(leaves) > double(params.max_leaf_size)) leaves *= 2;
  // Levels of B below a top level that takes the remainder.
  std::vector<int> branching;
  size_t below = 1;
  while (below * size_t(params.branching) < leaves) {
    branching.push_back(params.branching);
    below *= size_t(params.branching);
  }
  branching.push_back(int((leaves + below - 1) / below));
  std::reverse(branching.begin(), branching.end());
  return branching;
}

namespace {

void append_leaf_layer(const std::vector<std::vector<Index>>& leaves, LabelTree& tree) {
  std::vector<Index> ptr{0};
  for (const auto& leaf : leaves) {
    tree.slot_label.insert(tree.slot_label.end(), leaf.begin(), leaf.end());
    ptr.push_back(Index(tree.slot_label.size()));
  }
  tree.child_ptr.push_back(std::move(ptr));
}

}  // namespace

LabelTree build_label_tree(const CsrMatrix& embedding, const ClusteringParams& params) {
  params.validate();
  const size_t L = embedding.rows;
  if (L == 0) throw Error("cannot build a label tree over zero labels");
  LabelTree tree;
  tree.num_labels = L;
  std::vector<std::vector<Index>> groups(1);
  groups[0].resize(L);
  std::iota(groups[0].begin(), groups[0].end(), 0);
  const std::vector<int> branching = level_branching(L, params);
  for (size_t t = 0; t < branching.size(); ++t) groups = split_layer(embedding, groups, params, branching[t], t, tree);
  append_leaf_layer(groups, tree);
  tree.validate();
  return tree;
}

std::vector<size_t> layer_node_counts(size_t num_items, const std::vector<int>& branching) {
  // A split of n items into k = min(b, n) clusters gives n % k of n / k + 1
  // items and the rest of n / k: the sizes, and so the counts below, follow.
  std::vector<std::pair<size_t, size_t>> sizes{{num_items, 1}};  // (group size, how many groups)
  std::vector<size_t> counts{1};
  for (int b : branching) {
    std::vector<std::pair<size_t, size_t>> next;
    size_t nodes = 0;
    for (const auto& [n, many] : sizes) {
      const size_t k = std::max<size_t>(1, std::min<size_t>(size_t(b), n));
      const size_t big = n % k;
      if (big) next.emplace_back(n / k + 1, big * many);
      if (k - big) next.emplace_back(n / k, (k - big) * many);
      nodes += k * many;
    }
    std::sort(next.begin(), next.end());
    sizes.clear();
    for (const auto& e : next) {
      if (!sizes.empty() && sizes.back().first == e.first) {
        sizes.back().second += e.second;
      } else {
        sizes.push_back(e);
      }
    }
    counts.push_back(nodes);
  }
  return counts;
}

std::vector<std::vector<Index>> cluster_top_layers(const CsrMatrix& embedding, const ClusteringParams& params,
                                                   size_t layers, LabelTree& top) {
  params.validate();
  const size_t L = embedding.rows;
  if (L == 0) throw Error("cannot build a label tree over zero labels");
  const std::vector<int> branching = level_branching(L, params);
  if (layers > branching.size()) throw Error("cluster_top_layers: the tree has fewer layers of splits");
  top = LabelTree{};
  top.num_labels = L;
  std::vector<std::vector<Index>> groups(1);
  groups[0].resize(L);
  std::iota(groups[0].begin(), groups[0].end(), 0);
  for (size_t t = 0; t < layers; ++t) groups = split_layer(embedding, groups, params, branching[t], t, top);
  return groups;
}

SubtreeClusters cluster_subtree(const CsrMatrix& embedding, std::vector<Index> items, const ClusteringParams& params,
                                const std::vector<int>& branching, size_t layer, const std::vector<size_t>& first_node) {
  params.validate();
  if (first_node.size() < branching.size() - layer) throw Error("cluster_subtree: a first node per layer is needed");
  LabelTree part;  // collects the child ranges of the sub-tree's layers
  std::vector<std::vector<Index>> groups{std::move(items)};
  for (size_t t = layer; t < branching.size(); ++t) {
    groups = split_layer(embedding, groups, params, branching[t], t, part, first_node[t - layer]);
  }
  SubtreeClusters out;
  for (const auto& ptr : part.child_ptr) {
    std::vector<Index> counts;
    for (size_t k = 0; k + 1 < ptr.size(); ++k) counts.push_back(ptr[k + 1] - ptr[k]);
    out.child_counts.push_back(std::move(counts));
  }
  out.leaves = std::move(groups);
  return out;
}

LabelTree build_tree_over_leaves(const CsrMatrix& embedding, const std::vector<std::vector<Index>>& leaves,
                                 const ClusteringParams& params) {
  params.validate();
  if (leaves.empty()) throw Error("user tree: no leaf clusters");
  LabelTree tree;
  tree.num_labels = embedding.rows;
  std::vector<std::vector<Index>> groups(1);
  if (leaves.size() > size_t(params.branching)) {
    // Each leaf is represented by the sum of its labels' embeddings.
    CsrMatrix leaf_emb;
    leaf_emb.cols = embedding.cols;
    for (const auto& leaf : leaves) {
      std::vector<std::pair<Index, float>> entries;
      for (Index l : leaf) {
        if (l >= embedding.rows) throw Error("user tree: label " + std::to_string(l) + " out of range");
        const SparseVectorView r = embedding.row(l);
        for (size_t k = 0; k < r.nnz; ++k) entries.emplace_back(r.indices[k], r.values[k]);
      }
      leaf_emb.append_row(std::move(entries));
    }
    ClusteringParams upper = params;
    upper.max_leaf_size = params.branching;
    groups[0].resize(leaves.size());
    std::iota(groups[0].begin(), groups[0].end(), 0);
    const std::vector<int> branching = level_branching(leaves.size(), upper);
    for (size_t t = 0; t < branching.size(); ++t) groups = split_layer(leaf_emb, groups, upper, branching[t], t, tree);
  } else {
    groups[0].resize(leaves.size());
    std::iota(groups[0].begin(), groups[0].end(), 0);
  }
  // `groups` now lists, per bottom cluster, its leaves in order.
  std::vector<std::vector<Index>> ordered_leaves;
  std::vector<Index> ptr{0};
  for (const auto& g : groups) {
    for (Index j : g) ordered_leaves.push_back(leaves[j]);
    ptr.push_back(Index(ordered_leaves.size()));
  }
  tree.child_ptr.push_back(std::move(ptr));
  append_leaf_layer(ordered_leaves, tree);
  tree.validate();
  return tree;
}

std::vector<std::vector<Index>> read_leaf_clusters(const std::string& path, size_t num_labels) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open leaf cluster file");
  std::vector<std::vector<Index>> leaves;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream words(line);
    std::string word;
    std::vector<Index> leaf;
    while (words >> word) {
      size_t used = 0;
      unsigned long long id = 0;
      try {
        id = std::stoull(word, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != word.size() || word[0] == '-') throw InputError(path, line_no, "'" + word + "' is not a label id");
      if (id >= num_labels) {
        throw InputError(path, line_no, "label id " + word + " out of range (L = " + std::to_string(num_labels) + ")");
      }
      leaf.push_back(Index(id));
    }
    leaves.push_back(std::move(leaf));
  }
  if (leaves.empty()) throw Error(path + ": no leaf clusters");
  return leaves;
}

}  // namespace xmr
