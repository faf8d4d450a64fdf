#include "core/distributed_trainer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>

#include "core/byte_pack.h"
#include "core/clustering.h"
#include "core/error.h"
#include "core/label_embedding.h"

namespace xmr {

void check_distributed_params(const TrainParams& params) {
  params.validate();
  if (params.negatives != NegativeSampling::kTeacherForced) {
    throw Error(std::string("distributed training supports --negatives tfn only, not ") +
                negative_sampling_name(params.negatives) +
                " (matcher-aware negatives need every sub-tree's beam at every level)");
  }
  if (params.disentangle.enabled()) throw Error("distributed training does not support label disentanglement");
  if (params.trees != 1) throw Error("distributed training trains one tree (--trees 1)");
  if (params.deep.enabled) throw Error("distributed training trains XR-Linear only (no deep matcher)");
  if (params.knn.enabled()) throw Error("distributed training does not gather the training rows a knn vote keeps");
  if (params.embedding != LabelEmbeddingKind::kPifa) throw Error("distributed training supports the pifa embedding only");
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void put_matrix(ByteWriter& w, const CsrMatrix& m) {
  w.put(uint64_t(m.rows));
  w.put(uint64_t(m.cols));
  w.put_vector(m.indptr);
  w.put_vector(m.indices);
  w.put_vector(m.values);
}

CsrMatrix get_matrix(ByteReader& r) {
  CsrMatrix m;
  m.rows = r.get<uint64_t>();
  m.cols = r.get<uint64_t>();
  m.indptr = r.get_vector<Offset>();
  m.indices = r.get_vector<Index>();
  m.values = r.get_vector<float>();
  m.validate();
  return m;
}

// The rank that sums label l's embedding: labels are cut into R equal
// ranges. Rank r's range starts at the least l with l R >= r L.
int label_owner(size_t l, size_t num_labels, int ranks) { return int(l * size_t(ranks) / num_labels); }
size_t first_label_of(int rank, size_t num_labels, int ranks) {
  return (size_t(rank) * num_labels + size_t(ranks) - 1) / size_t(ranks);
}

// This shard's X^T Y rows, unnormalised, in double, one message per owner
// rank: per label with a positive here, its features (sorted) and sums over
// the shard's rows in order. Labels are summed in parallel, a block at a
// time, and packed in label order.
std::vector<std::string> pack_label_sums(const CsrMatrix& X, const CsrMatrix& Y, int ranks) {
  const CsrMatrix Yt = Y.transposed();
  constexpr size_t kBlock = 4096;
  struct LabelSums {
    std::vector<Index> features;
    std::vector<double> sums;
  };
  std::vector<LabelSums> block(kBlock);
  std::vector<ByteWriter> to(static_cast<size_t>(ranks));
  for (size_t first = 0; first < Yt.rows; first += kBlock) {
    const size_t n = std::min(kBlock, Yt.rows - first);
#pragma omp parallel
    {
      std::vector<double> acc(X.cols, 0.0);
#pragma omp for schedule(dynamic, 16)
      for (size_t b = 0; b < n; ++b) {
        const size_t l = first + b;
        LabelSums& out = block[b];
        out.sums.clear();
        sum_label_rows(X, Yt.indices.data() + Yt.indptr[l], Yt.indptr[l + 1] - Yt.indptr[l], acc, out.features);
        for (Index f : out.features) {
          out.sums.push_back(acc[f]);
          acc[f] = 0.0;
        }
      }
    }
    for (size_t b = 0; b < n; ++b) {
      if (Yt.indptr[first + b] == Yt.indptr[first + b + 1]) continue;
      ByteWriter& w = to[size_t(label_owner(first + b, Yt.rows, ranks))];
      w.put(Index(first + b));
      w.put_vector(block[b].features);
      w.put_vector(block[b].sums);
    }
  }
  std::vector<std::string> out;
  for (ByteWriter& w : to) out.push_back(std::move(w.bytes()));
  return out;
}

// The owner of labels [first, first + num_labels): the shards' sums added in
// rank order, rounded to float, normalised: those rows of pifa_embedding's
// result over all rows. The sums are read where they lie in the messages (a
// label's parts are found first, then summed in parallel).
CsrMatrix pifa_from_shards(const std::vector<std::string>& shards, size_t first, size_t num_labels,
                           size_t num_features) {
  struct Part {  // a shard's sums of one label, read in place (unaligned)
    const char* features;
    const char* sums;
    size_t n;
  };
  std::vector<std::vector<Part>> parts(num_labels);  // per label, in rank order
  for (const std::string& bytes : shards) {
    const char* p = bytes.data();
    const char* end = p + bytes.size();
    auto take = [&](size_t n) {
      if (size_t(end - p) < n) throw Error("label sums message truncated");
      const char* at = p;
      p += n;
      return at;
    };
    while (p < end) {
      Index global;
      std::memcpy(&global, take(sizeof global), sizeof global);
      const size_t l = size_t(global) - first;
      if (global < first || l >= num_labels) throw Error("label sums name label " + std::to_string(global) + ", not this rank's");
      uint64_t n;
      std::memcpy(&n, take(sizeof n), sizeof n);
      if (n > uint64_t(end - p) / sizeof(Index)) throw Error("label sums message truncated");
      const char* features = take(n * sizeof(Index));
      uint64_t m;
      std::memcpy(&m, take(sizeof m), sizeof m);
      if (m != n || m > uint64_t(end - p) / sizeof(double)) throw Error("label sums message malformed");
      const char* sums = take(m * sizeof(double));
      for (size_t k = 0; k < n; ++k) {
        Index f;
        std::memcpy(&f, features + k * sizeof(Index), sizeof f);
        if (f >= num_features) throw Error("label sums name feature " + std::to_string(f));
      }
      parts[l].push_back(Part{features, sums, n});
    }
  }
  std::vector<std::vector<Index>> idx(num_labels);
  std::vector<std::vector<float>> val(num_labels);
#pragma omp parallel
  {
    std::vector<double> acc(num_features, 0.0);
    std::vector<Index> touched;
#pragma omp for schedule(dynamic, 64)
    for (size_t l = 0; l < num_labels; ++l) {
      touched.clear();
      for (const Part& part : parts[l]) {
        for (size_t k = 0; k < part.n; ++k) {
          Index f;
          double v;
          std::memcpy(&f, part.features + k * sizeof(Index), sizeof f);
          std::memcpy(&v, part.sums + k * sizeof(double), sizeof v);
          if (acc[f] == 0.0) touched.push_back(f);
          acc[f] += v;
        }
      }
      std::sort(touched.begin(), touched.end());
      touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
      for (Index f : touched) {
        const float sum = float(acc[f]);
        if (sum != 0.0f) {
          idx[l].push_back(f);
          val[l].push_back(sum);
        }
        acc[f] = 0.0;
      }
    }
  }
  std::vector<std::vector<Part>>().swap(parts);
  CsrMatrix E;
  E.rows = num_labels;
  E.cols = num_features;
  size_t nnz = 0;
  for (const auto& v : idx) nnz += v.size();
  E.indices.reserve(nnz);
  E.values.reserve(nnz);
  E.indptr.reserve(num_labels + 1);
  for (size_t l = 0; l < num_labels; ++l) {
    E.indices.insert(E.indices.end(), idx[l].begin(), idx[l].end());
    E.values.insert(E.values.end(), val[l].begin(), val[l].end());
    E.indptr.push_back(E.indices.size());
    std::vector<Index>().swap(idx[l]);
    std::vector<float>().swap(val[l]);
  }
  E.normalize_rows_l2();
  return E;
}

std::string pack_tree(const LabelTree& tree) {
  ByteWriter w;
  w.put(uint64_t(tree.num_labels));
  w.put(uint64_t(tree.child_ptr.size()));
  for (const auto& layer : tree.child_ptr) w.put_vector(layer);
  w.put_vector(tree.slot_label);
  return std::move(w.bytes());
}

LabelTree unpack_tree(const std::string& bytes) {
  ByteReader r(bytes);
  LabelTree tree;
  tree.num_labels = r.get<uint64_t>();
  const uint64_t depth = r.get<uint64_t>();
  for (uint64_t t = 0; t < depth; ++t) tree.child_ptr.push_back(r.get_vector<Index>());
  tree.slot_label = r.get_vector<Index>();
  tree.validate();
  return tree;
}

// The shallowest layer with a node per rank, but above the labels (depth:
// no sub-trees, rank 0 trains everything). Shallow, because the levels above
// it train on rank 0 alone on every row; measured on the 100,000-label set
// at 4 ranks, splitting at the next layer down (64 sub-trees instead of 4)
// left rank 0 training for about as long as the other ranks together.
// nodes[t]: the node count of layer t, for t = 0 .. depth (the label slots).
// Clustering decides it from the counts it will make (layer_node_counts),
// training from the tree, so both split at the same layer.
size_t choose_split_layer(const std::vector<size_t>& nodes, int ranks) {
  const size_t depth = nodes.size() - 1;
  if (depth < 2) return depth;
  for (size_t d = 1; d + 1 <= depth; ++d) {
    if (nodes[d] >= size_t(ranks)) return d;
  }
  return depth - 1;
}

size_t choose_split_layer(const LabelTree& tree, int ranks) {
  std::vector<size_t> nodes;
  for (size_t t = 0; t <= tree.depth(); ++t) nodes.push_back(tree.num_nodes(t));
  return choose_split_layer(nodes, ranks);
}

// Estimated solver work at every node p of layers 0..depth-1 (training p's
// children on the rows active at p, teacher-forced): the sum over those rows
// of (non-zeros + 1) x p's children. This shard's part, flattened layer by
// layer (offset[t] is layer t's first entry).
std::vector<uint64_t> node_work(const CsrMatrix& X, const CsrMatrix& Y, const LabelTree& tree,
                                std::vector<size_t>& offset) {
  const size_t depth = tree.depth();
  offset.assign(depth + 1, 0);
  for (size_t t = 0; t < depth; ++t) offset[t + 1] = offset[t] + tree.num_nodes(t);
  std::vector<uint64_t> work(offset[depth], 0);
  const auto parent = tree.parents();
  std::vector<Index> slot_of_label(tree.num_labels, 0);
  for (size_t j = 0; j < tree.slot_label.size(); ++j) slot_of_label[tree.slot_label[j]] = Index(j);
  std::vector<Index> nodes;
  for (size_t i = 0; i < X.rows; ++i) {
    const uint64_t cost = X.row_nnz(i) + 1;
    const SparseVectorView y = Y.row(i);
    nodes.clear();
    for (size_t k = 0; k < y.nnz; ++k) nodes.push_back(slot_of_label[y.indices[k]]);
    for (size_t t = depth; t-- > 0;) {
      for (Index& n : nodes) n = parent[t][n];  // the slots' (then nodes') parents in layer t
      std::sort(nodes.begin(), nodes.end());
      nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
      for (Index p : nodes) work[offset[t] + p] += cost * (tree.child_ptr[t][p + 1] - tree.child_ptr[t][p]);
    }
  }
  return work;
}

// Node ranges of sub-tree s (rooted at node s of the split layer), per
// layer below its root: [lo[k], hi[k]) in layer split + 1 + k.
struct SubtreeRanges {
  std::vector<Index> lo, hi;
};

SubtreeRanges subtree_ranges(const LabelTree& tree, size_t split, Index s) {
  SubtreeRanges r;
  Index lo = s, hi = s + 1;
  for (size_t t = split; t < tree.depth(); ++t) {
    lo = tree.child_ptr[t][lo];
    hi = tree.child_ptr[t][hi];
    r.lo.push_back(lo);
    r.hi.push_back(hi);
  }
  return r;
}

// Rows of X and Y with their global row ids, as sent between ranks.
struct RowBlock {
  std::vector<uint64_t> ids;
  CsrMatrix X, Y;
};

void pack_rows(const CsrMatrix& X, const CsrMatrix& Y, uint64_t first_id, const std::vector<Index>& rows, ByteWriter& w) {
  std::vector<uint64_t> ids;
  std::vector<Offset> xptr{0}, yptr{0};
  std::vector<Index> xi, yi;
  std::vector<float> xv;
  for (Index i : rows) {
    ids.push_back(first_id + i);
    const SparseVectorView x = X.row(i), y = Y.row(i);
    xi.insert(xi.end(), x.indices, x.indices + x.nnz);
    xv.insert(xv.end(), x.values, x.values + x.nnz);
    yi.insert(yi.end(), y.indices, y.indices + y.nnz);
    xptr.push_back(xi.size());
    yptr.push_back(yi.size());
  }
  w.put_vector(ids);
  w.put_vector(xptr);
  w.put_vector(xi);
  w.put_vector(xv);
  w.put_vector(yptr);
  w.put_vector(yi);
}

// Appends a packed block (rows in increasing id order) to `into`.
void unpack_rows(const std::string& bytes, RowBlock& into) {
  ByteReader r(bytes);
  const auto ids = r.get_vector<uint64_t>();
  const auto xptr = r.get_vector<Offset>();
  const auto xi = r.get_vector<Index>();
  const auto xv = r.get_vector<float>();
  const auto yptr = r.get_vector<Offset>();
  const auto yi = r.get_vector<Index>();
  if (xptr.size() != ids.size() + 1 || yptr.size() != ids.size() + 1 || xptr.back() != xi.size() ||
      xi.size() != xv.size() || yptr.back() != yi.size()) {
    throw Error("malformed row message");
  }
  const Offset x0 = into.X.indices.size(), y0 = into.Y.indices.size();
  into.ids.insert(into.ids.end(), ids.begin(), ids.end());
  into.X.indices.insert(into.X.indices.end(), xi.begin(), xi.end());
  into.X.values.insert(into.X.values.end(), xv.begin(), xv.end());
  into.Y.indices.insert(into.Y.indices.end(), yi.begin(), yi.end());
  into.Y.values.insert(into.Y.values.end(), yi.size(), 1.0f);
  for (size_t k = 1; k < xptr.size(); ++k) into.X.indptr.push_back(x0 + xptr[k]);
  for (size_t k = 1; k < yptr.size(); ++k) into.Y.indptr.push_back(y0 + yptr[k]);
  into.X.rows = into.Y.rows = into.ids.size();
}

void pack_layer(const LayerData& L, ByteWriter& w) {
  w.put_vector(L.child_ptr);
  w.put_vector(L.chunk_ptr);
  w.put_vector(L.feat_ids);
  w.put_vector(L.feat_ptr);
  w.put_vector(L.entry_child);
  w.put_vector(L.entry_value);
  w.put_vector(L.bias);
}

LayerData unpack_layer(ByteReader& r) {
  LayerData L;
  L.child_ptr = r.get_vector<Index>();
  L.chunk_ptr = r.get_vector<Offset>();
  L.feat_ids = r.get_vector<Index>();
  L.feat_ptr = r.get_vector<Offset>();
  L.entry_child = r.get_vector<ChildSlot>();
  L.entry_value = r.get_vector<float>();
  L.bias = r.get_vector<float>();
  if (L.chunk_ptr.size() != L.child_ptr.size() || L.chunk_ptr.back() != L.feat_ids.size() ||
      L.feat_ptr.size() != L.feat_ids.size() + 1 || L.feat_ptr.back() != L.entry_value.size() ||
      L.entry_child.size() != L.entry_value.size() || L.bias.size() != L.child_ptr.back()) {
    throw Error("malformed sub-tree layer message");
  }
  return L;
}

// Appends a sub-tree's layer (its parents follow `into`'s) to a whole layer.
void append_layer(LayerData& into, const LayerData& part) {
  const Offset feat0 = into.feat_ids.size(), entry0 = into.entry_value.size();
  for (size_t p = 1; p < part.chunk_ptr.size(); ++p) into.chunk_ptr.push_back(feat0 + part.chunk_ptr[p]);
  for (size_t j = 1; j < part.feat_ptr.size(); ++j) into.feat_ptr.push_back(entry0 + part.feat_ptr[j]);
  into.feat_ids.insert(into.feat_ids.end(), part.feat_ids.begin(), part.feat_ids.end());
  into.entry_child.insert(into.entry_child.end(), part.entry_child.begin(), part.entry_child.end());
  into.entry_value.insert(into.entry_value.end(), part.entry_value.begin(), part.entry_value.end());
  into.bias.insert(into.bias.end(), part.bias.begin(), part.bias.end());
}

// The levels above the split layer as a tree of their own: its "labels" are
// the split layer's nodes (subtree_of_label maps a label to its node there),
// and a row's are the ancestors there of its labels.
ModelParts train_meta_tree(const RowBlock& rows, const LabelTree& tree, size_t split,
                           const std::vector<Index>& subtree_of_label, const TrainParams& params,
                           const ProgressFn& progress) {
  if (split == tree.depth()) return train_on_tree(rows.X, rows.Y, tree, params, progress);
  const size_t S = tree.num_nodes(split);
  LabelTree meta;
  meta.num_labels = S;
  meta.child_ptr.assign(tree.child_ptr.begin(), tree.child_ptr.begin() + long(split));
  meta.slot_label.resize(S);
  std::iota(meta.slot_label.begin(), meta.slot_label.end(), 0);
  CsrMatrix Ymeta;
  Ymeta.cols = S;
  std::vector<std::pair<Index, float>> row;
  for (size_t i = 0; i < rows.Y.rows; ++i) {
    row.clear();
    const SparseVectorView y = rows.Y.row(i);
    for (size_t k = 0; k < y.nnz; ++k) row.emplace_back(subtree_of_label[y.indices[k]], 1.0f);
    std::sort(row.begin(), row.end());
    row.erase(std::unique(row.begin(), row.end(), [](auto& a, auto& b) { return a.first == b.first; }), row.end());
    Ymeta.append_row(row);
  }
  return train_on_tree(rows.X, Ymeta, meta, params, progress);
}

// Sub-tree s alone: its own LabelTree, its labels renumbered in slot order,
// and the rows with a label under it.
ModelParts train_one_subtree(const RowBlock& rows, size_t total_nnz, const LabelTree& tree, size_t split, Index s,
                             const TrainParams& params) {
  const SubtreeRanges r = subtree_ranges(tree, split, s);
  LabelTree sub;
  Index lo = s, hi = s + 1;
  for (size_t k = 0; k < r.lo.size(); ++k) {
    std::vector<Index> ptr;
    for (Index p = lo; p <= hi; ++p) ptr.push_back(tree.child_ptr[split + k][p] - r.lo[k]);
    sub.child_ptr.push_back(std::move(ptr));
    lo = r.lo[k];
    hi = r.hi[k];
  }
  std::vector<Index> local_of(tree.num_labels, Index(-1));
  for (Index j = r.lo.back(); j < r.hi.back(); ++j) {
    const Index label = tree.slot_label[j];
    if (local_of[label] == Index(-1)) local_of[label] = Index(sub.num_labels++);
    sub.slot_label.push_back(local_of[label]);
  }
  std::vector<Index> active;
  CsrMatrix Ysub;
  Ysub.cols = sub.num_labels;
  std::vector<std::pair<Index, float>> row;
  for (size_t i = 0; i < rows.Y.rows; ++i) {
    row.clear();
    const SparseVectorView y = rows.Y.row(i);
    for (size_t k = 0; k < y.nnz; ++k) {
      if (local_of[y.indices[k]] != Index(-1)) row.emplace_back(local_of[y.indices[k]], 1.0f);
    }
    if (row.empty()) continue;
    active.push_back(Index(i));
    Ysub.append_row(row);
  }
  const CsrMatrix Xsub = rows.X.select_rows(active);
  TreePlacement placement{split, r.lo, total_nnz};
  return train_subtree(Xsub, Ysub, sub, params, placement);
}

// build_label_tree(emb, cp) over the ranks: rank 0 splits the layers above
// the split layer (the one training will split at), every rank the
// sub-trees below the nodes it is sent (largest first to the least loaded),
// and rank 0 joins the pieces. Each split is seeded by its layer and node, so
// the tree is build_label_tree's. `emb` is rank 0's; the tree is returned on
// rank 0 (an empty one elsewhere).
LabelTree cluster_on_ranks(const CsrMatrix* emb, size_t num_labels, const ClusteringParams& cp, Communicator& comm) {
  const int R = comm.size(), me = comm.rank();
  const std::vector<int> branching = level_branching(num_labels, cp);
  std::vector<size_t> counts = layer_node_counts(num_labels, branching);
  counts.push_back(num_labels);  // the label slots
  const size_t split = choose_split_layer(counts, R);
  const std::vector<int> below(branching.begin() + long(split), branching.end());
  LabelTree top;
  std::vector<std::vector<Index>> groups;
  std::vector<std::vector<size_t>> first_node;  // per sub-tree, per layer from the split layer
  std::vector<std::string> outgoing(static_cast<size_t>(R));
  if (me == 0) {
    groups = cluster_top_layers(*emb, cp, split, top);
    const size_t S = groups.size();
    std::vector<size_t> next(below.size() + 1, 0);
    for (size_t s = 0; s < S; ++s) {
      first_node.push_back(next);
      const std::vector<size_t> c = layer_node_counts(groups[s].size(), below);
      for (size_t k = 0; k < next.size(); ++k) next[k] += c[k];
    }
    std::vector<double> load(static_cast<size_t>(R), 0.0), work(S, 0.0);
    for (size_t s = 0; s < S; ++s) {
      for (Index l : groups[s]) work[s] += double(emb->row_nnz(l) + 1);
    }
    std::vector<size_t> order(S);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return work[a] > work[b]; });
    std::vector<ByteWriter> to(static_cast<size_t>(R));
    for (size_t s : order) {
      const size_t q = size_t(std::min_element(load.begin(), load.end()) - load.begin());
      load[q] += work[s];
      ByteWriter& w = to[q];
      w.put(uint64_t(s));
      w.put_vector(first_node[s]);
      w.put_vector(groups[s]);
      put_matrix(w, emb->select_rows(groups[s]));
    }
    for (int q = 0; q < R; ++q) outgoing[size_t(q)] = std::move(to[size_t(q)].bytes());
  }
  ByteWriter done;
  for (const std::string& bytes : comm.alltoall(std::move(outgoing))) {
    ByteReader r(bytes);
    while (!r.done()) {
      const uint64_t s = r.get<uint64_t>();
      const std::vector<size_t> first = r.get_vector<size_t>();
      const std::vector<Index> items = r.get_vector<Index>();
      const CsrMatrix local = get_matrix(r);  // the items' embedding rows, in order
      if (local.rows != items.size()) throw Error("malformed sub-tree clustering message");
      std::vector<Index> ids(items.size());
      std::iota(ids.begin(), ids.end(), 0);
      SubtreeClusters c = cluster_subtree(local, std::move(ids), cp, branching, split, first);
      done.put(s);
      for (const auto& layer : c.child_counts) done.put_vector(layer);
      done.put(uint64_t(c.leaves.size()));
      for (auto& leaf : c.leaves) {
        for (Index& l : leaf) l = items[l];  // back to label ids
        done.put_vector(leaf);
      }
    }
  }
  std::vector<std::string> pieces = comm.gather(done.bytes(), 0);
  if (me != 0) return LabelTree{};
  // Join: the child ranges of each layer below the split, sub-tree after sub-tree.
  const size_t S = groups.size();
  std::vector<std::vector<std::vector<Index>>> child_counts(S);
  std::vector<std::vector<std::vector<Index>>> leaves(S);
  for (std::string& bytes : pieces) {
    ByteReader r(bytes);
    while (!r.done()) {
      const uint64_t s = r.get<uint64_t>();
      if (s >= S || !leaves[s].empty()) throw Error("sub-tree " + std::to_string(s) + " clustered twice or unknown");
      for (size_t k = 0; k < below.size(); ++k) child_counts[s].push_back(r.get_vector<Index>());
      const uint64_t n = r.get<uint64_t>();
      for (uint64_t j = 0; j < n; ++j) leaves[s].push_back(r.get_vector<Index>());
    }
    std::string().swap(bytes);
  }
  LabelTree tree = std::move(top);
  for (size_t k = 0; k < below.size(); ++k) {
    std::vector<Index> ptr{0};
    for (size_t s = 0; s < S; ++s) {
      const std::vector<size_t> expected = layer_node_counts(groups[s].size(), below);
      if (child_counts[s].size() != below.size() || child_counts[s][k].size() != expected[k]) {
        throw Error("sub-tree " + std::to_string(s) + " came back with another shape than its size gives");
      }
      for (Index c : child_counts[s][k]) ptr.push_back(ptr.back() + c);
    }
    tree.child_ptr.push_back(std::move(ptr));
  }
  std::vector<Index> ptr{0};
  for (size_t s = 0; s < S; ++s) {
    for (const auto& leaf : leaves[s]) {
      tree.slot_label.insert(tree.slot_label.end(), leaf.begin(), leaf.end());
      ptr.push_back(Index(tree.slot_label.size()));
    }
  }
  tree.child_ptr.push_back(std::move(ptr));
  tree.validate();
  return tree;
}

}  // namespace

ModelParts train_distributed(CsrMatrix X_shard, CsrMatrix Y_shard, const TrainParams& params,
                             Communicator& comm, const DistributedInputs& inputs, DistributedStats* stats) {
  check_distributed_params(params);
  if (X_shard.rows != Y_shard.rows) {
    throw Error("features have " + std::to_string(X_shard.rows) + " rows, labels " + std::to_string(Y_shard.rows));
  }
  if (Y_shard.cols != inputs.num_labels) throw Error("label matrix has " + std::to_string(Y_shard.cols) + " labels, expected " + std::to_string(inputs.num_labels));
  DistributedStats local_stats;
  DistributedStats& st = stats ? *stats : local_stats;
  if (params.threads > 0) omp_set_num_threads(params.threads);
  const int R = comm.size(), me = comm.rank();
  const bool root = me == 0;
  auto step = [&](const std::string& name) {
    if (inputs.progress) inputs.progress(name, 0, 0);
  };

  // Where this shard's rows start, and the totals every rank checks alike.
  const size_t num_features = X_shard.cols;
  std::vector<uint64_t> counts(size_t(R) * 2 + 1, 0);
  counts[size_t(me)] = X_shard.rows;
  counts[size_t(R + me)] = X_shard.cols;
  counts[size_t(2 * R)] = X_shard.nnz();
  comm.allreduce_sum(counts);
  const uint64_t first_row = std::accumulate(counts.begin(), counts.begin() + me, uint64_t(0));
  const uint64_t total_rows = std::accumulate(counts.begin(), counts.begin() + R, uint64_t(0));
  const uint64_t total_nnz = counts[size_t(2 * R)];
  for (int q = 0; q < R; ++q) {
    if (counts[size_t(R + q)] != X_shard.cols) {
      throw Error("rank " + std::to_string(q) + "'s shard has " + std::to_string(counts[size_t(R + q)]) +
                  " features, this rank's " + std::to_string(X_shard.cols));
    }
  }
  if (total_rows == 0) throw Error("no training instances");
  if (inputs.num_labels == 0) throw Error("no labels to train on");
  if (total_nnz == 0) throw Error("every training instance has an empty feature vector; nothing to learn from");

  // 1-2. Embedding and tree on rank 0, the tree sent to all.
  step("label embedding");
  auto t0 = Clock::now();
  std::string my_rows;  // this rank's labels' embedding rows, for rank 0
  {
    const size_t first = first_label_of(me, inputs.num_labels, R), end = first_label_of(me + 1, inputs.num_labels, R);
    const CsrMatrix mine = pifa_from_shards(comm.alltoall(pack_label_sums(X_shard, Y_shard, R)), first, end - first,
                                            num_features);
    ByteWriter w;
    put_matrix(w, mine);
    my_rows = std::move(w.bytes());
  }
  std::vector<std::string> emb_rows = comm.gather(my_rows, 0);
  std::string().swap(my_rows);
  CsrMatrix emb;  // rank 0's: every label's
  if (root) {
    // The ranks' label ranges, stacked in rank order.
    std::vector<CsrMatrix> ranges;
    size_t nnz = 0;
    for (std::string& bytes : emb_rows) {
      ByteReader r(bytes);
      ranges.push_back(get_matrix(r));
      std::string().swap(bytes);
      nnz += ranges.back().nnz();
    }
    emb.rows = inputs.num_labels;
    emb.cols = num_features;
    emb.indices.reserve(nnz);
    emb.values.reserve(nnz);
    for (CsrMatrix& m : ranges) {
      if (m.cols != num_features) throw Error("label embedding rows of another width after the reduction");
      const Offset base = emb.indices.size();
      for (size_t k = 1; k < m.indptr.size(); ++k) emb.indptr.push_back(base + m.indptr[k]);
      emb.indices.insert(emb.indices.end(), m.indices.begin(), m.indices.end());
      emb.values.insert(emb.values.end(), m.values.begin(), m.values.end());
      m = CsrMatrix{};
    }
    if (emb.indptr.size() != emb.rows + 1) throw Error("label embedding rows missing after the reduction");
  }
  st.seconds_embedding = seconds_since(t0);
  step("clustering");
  t0 = Clock::now();
  // Over given leaves rank 0 builds the tree alone (as `xmr train --tree`
  // does); else the ranks cluster it together. Only rank 0 knows which.
  const bool given_leaves = comm.broadcast(root && inputs.leaf_clusters ? "1" : "0", 0) == "1";
  std::string tree_bytes;
  if (given_leaves) {
    if (root) tree_bytes = pack_tree(build_tree_over_leaves(emb, *inputs.leaf_clusters, params.clustering));
  } else {
    if (root && inputs.label_features) emb = concat_label_features(emb, *inputs.label_features);
    ClusteringParams cp = params.clustering;
    cp.seed = params.seed;
    cp.validate();
    const LabelTree clustered = cluster_on_ranks(root ? &emb : nullptr, inputs.num_labels, cp, comm);
    if (root) tree_bytes = pack_tree(clustered);
  }
  emb = CsrMatrix{};
  st.seconds_clustering = seconds_since(t0);
  const LabelTree tree = unpack_tree(comm.broadcast(std::move(tree_bytes), 0));
  if (tree.has_repeated_labels()) {
    throw Error("distributed training needs each label in one leaf cluster (the given leaves repeat a label)");
  }
  const size_t depth = tree.depth();
  const size_t split = choose_split_layer(tree, R);
  const size_t S = split < depth ? tree.num_nodes(split) : 0;
  st.split_layer = split;
  st.subtrees = S;

  // 3. Sub-tree owners, by the work under each.
  step("sending rows");
  t0 = Clock::now();
  std::vector<Index> subtree_of_label(tree.num_labels, 0);
  for (Index s = 0; s < S; ++s) {
    const SubtreeRanges r = subtree_ranges(tree, split, s);
    for (Index j = r.lo.back(); j < r.hi.back(); ++j) subtree_of_label[tree.slot_label[j]] = s;
  }
  std::vector<std::vector<Index>> subtrees_of_row(X_shard.rows);
  for (size_t i = 0; i < X_shard.rows && S > 0; ++i) {
    auto& mine = subtrees_of_row[i];
    const SparseVectorView y = Y_shard.row(i);
    for (size_t k = 0; k < y.nnz; ++k) mine.push_back(subtree_of_label[y.indices[k]]);
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
  }
  std::vector<size_t> layer_at;
  std::vector<uint64_t> work = node_work(X_shard, Y_shard, tree, layer_at);
  comm.allreduce_sum(work);
  std::vector<int> owner(S, 0);
  {
    // Rank 0 starts with the meta-tree; sub-trees go largest first to the
    // least loaded rank.
    std::vector<double> load(static_cast<size_t>(R), 0.0);
    for (size_t k = 0; k < layer_at[split]; ++k) load[0] += double(work[k]);
    std::vector<double> subtree_work(S, 0.0);
    for (Index s = 0; s < S; ++s) {
      subtree_work[s] = double(work[layer_at[split] + s]);
      const SubtreeRanges r = subtree_ranges(tree, split, s);
      for (size_t k = 0; k + 1 < r.lo.size(); ++k) {  // layers below the root, above the label slots
        for (Index p = r.lo[k]; p < r.hi[k]; ++p) subtree_work[s] += double(work[layer_at[split + 1 + k] + p]);
      }
    }
    std::vector<Index> order(S);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return subtree_work[a] > subtree_work[b]; });
    for (Index s : order) {
      const int q = int(std::min_element(load.begin(), load.end()) - load.begin());
      owner[s] = q;
      load[size_t(q)] += subtree_work[s];
    }
  }
  // Rows to each rank: rank 0 every row (the meta-tree); others those under their sub-trees.
  std::vector<std::string> outgoing(static_cast<size_t>(R));
  {
    std::vector<std::vector<Index>> rows_to(static_cast<size_t>(R));
    for (size_t i = 0; i < X_shard.rows; ++i) {
      rows_to[0].push_back(Index(i));
      int last = 0;
      std::vector<int> dests;
      for (Index s : subtrees_of_row[i]) dests.push_back(owner[s]);
      std::sort(dests.begin(), dests.end());
      for (int q : dests) {
        if (q != 0 && q != last) rows_to[size_t(q)].push_back(Index(i));
        last = q;
      }
    }
    std::vector<std::vector<Index>>().swap(subtrees_of_row);
    for (int q = 0; q < R; ++q) {
      ByteWriter w;
      pack_rows(X_shard, Y_shard, first_row, rows_to[size_t(q)], w);
      outgoing[size_t(q)] = std::move(w.bytes());
    }
  }
  X_shard = CsrMatrix{};  // every row is in a message now
  Y_shard = CsrMatrix{};
  RowBlock rows;
  rows.X.cols = num_features;
  rows.Y.cols = inputs.num_labels;
  {
    const std::vector<std::string> incoming = comm.alltoall(std::move(outgoing));
    for (const std::string& bytes : incoming) unpack_rows(bytes, rows);
  }
  st.rows_received = rows.X.rows;
  st.seconds_exchange = seconds_since(t0);

  // Training: the meta-tree on rank 0, then each rank's sub-trees.
  t0 = Clock::now();
  ModelParts parts;
  if (root) {
    step("meta-tree");
    parts = train_meta_tree(rows, tree, split, subtree_of_label, params, inputs.progress);
  }
  ByteWriter trained;
  size_t done = 0, mine = size_t(std::count(owner.begin(), owner.end(), me));
  for (Index s = 0; s < S; ++s) {
    if (owner[s] != me) continue;
    if (inputs.progress) inputs.progress("sub-trees", done, mine);
    const ModelParts sub = train_one_subtree(rows, total_nnz, tree, split, s, params);
    trained.put(uint64_t(s));
    for (const LayerData& L : sub.layers) pack_layer(L, trained);
    ++done;
  }
  if (inputs.progress && mine) inputs.progress("sub-trees", done, mine);
  st.subtrees_trained = done;
  rows = RowBlock{};
  st.seconds_matching = seconds_since(t0);

  // 4. Rank 0 assembles the levels below the split layer, sub-tree by sub-tree.
  step("gathering the model");
  t0 = Clock::now();
  std::vector<std::string> pieces = comm.gather(trained.bytes(), 0);
  trained = ByteWriter{};
  if (root && S > 0) {
    std::vector<std::vector<LayerData>> sub_layers(S);
    for (std::string& bytes : pieces) {
      ByteReader r(bytes);
      while (!r.done()) {
        const uint64_t s = r.get<uint64_t>();
        if (s >= S || !sub_layers[s].empty()) throw Error("sub-tree " + std::to_string(s) + " sent twice or unknown");
        for (size_t k = split; k < depth; ++k) sub_layers[s].push_back(unpack_layer(r));
      }
      std::string().swap(bytes);
    }
    for (Index s = 0; s < S; ++s) {
      if (sub_layers[s].empty()) throw Error("sub-tree " + std::to_string(s) + " was not trained");
    }
    for (size_t k = 0; k < depth - split; ++k) {
      LayerData L;
      L.child_ptr = tree.child_ptr[split + k];
      size_t parents = 0, feats = 0, entries = 0, children = 0;  // exact sizes: no growth by doubling
      for (Index s = 0; s < S; ++s) {
        const LayerData& part = sub_layers[s][k];
        parents += part.chunk_ptr.size() - 1;
        feats += part.feat_ids.size();
        entries += part.entry_value.size();
        children += part.bias.size();
      }
      L.chunk_ptr.reserve(parents + 1);
      L.feat_ids.reserve(feats);
      L.feat_ptr.reserve(feats + 1);
      L.entry_child.reserve(entries);
      L.entry_value.reserve(entries);
      L.bias.reserve(children);
      for (Index s = 0; s < S; ++s) {
        append_layer(L, sub_layers[s][k]);
        sub_layers[s][k] = LayerData{};
      }
      if (L.bias.size() != L.child_ptr.back()) throw Error("assembled level " + std::to_string(split + k) + " is inconsistent");
      parts.layers.push_back(std::move(L));
    }
  }
  st.seconds_gather = seconds_since(t0);
  st.bytes_sent = comm.bytes_sent();
  if (!root) return ModelParts{};

  parts.num_features = num_features;
  parts.num_labels = tree.num_labels;
  parts.slot_label = tree.slot_label;
  parts.postprocessor = params.postprocessor;
  parts.train_params_json = params.to_json();
  parts.label_names = inputs.label_names;
  size_t ranker_weights = 0;
  for (float v : parts.layers.back().entry_value) ranker_weights += v != 0.0f;
  if (ranker_weights == 0) {
    throw Error("the weight threshold " + std::to_string(params.weight_threshold) +
                " removed every ranker weight, so the model would predict nothing from the features; lower it");
  }
  return parts;
}

}  // namespace xmr
