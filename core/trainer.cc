#include "core/trainer.h"

#include <omp.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <numeric>

#include "core/deep_matcher.h"
#include "core/knn_weight.h"
#include "core/error.h"
#include "core/inference.h"
#include "core/rng.h"
#include "core/sibling_solver.h"

namespace xmr {

NegativeSampling parse_negative_sampling(const std::string& name) {
  if (name == "tfn") return NegativeSampling::kTeacherForced;
  if (name == "man") return NegativeSampling::kMatcherAware;
  if (name == "tfn+man") return NegativeSampling::kBoth;
  throw Error("unknown negative sampling '" + name + "' (known: tfn, man, tfn+man)");
}

const char* negative_sampling_name(NegativeSampling n) {
  switch (n) {
    case NegativeSampling::kTeacherForced: return "tfn";
    case NegativeSampling::kMatcherAware: return "man";
    case NegativeSampling::kBoth: return "tfn+man";
  }
  return "?";
}

SolverKind parse_solver(const std::string& name) {
  if (name == "l2-svm") return SolverKind::kL2SvmDual;
  if (name == "logistic") return SolverKind::kLogisticDual;
  throw Error("unknown solver '" + name + "' (known: l2-svm, logistic)");
}

const char* solver_name(SolverKind s) { return s == SolverKind::kL2SvmDual ? "l2-svm" : "logistic"; }

void TrainParams::validate() const {
  clustering.validate();
  solver.validate();
  if (!(weight_threshold >= 0)) throw Error("weight_threshold must be >= 0");
  if (matcher_beam_size < 1) throw Error("matcher_beam_size must be >= 1");
  if (threads < 0) throw Error("threads must be >= 0");
  if (trees < 1 || size_t(trees) > kMaxTrees) throw Error("trees must be in 1.." + std::to_string(kMaxTrees));
  disentangle.validate();
  if (deep.enabled) deep.validate();
  knn.validate();
}

TrainParams TrainParams::tree_params(int m) const {
  TrainParams p = *this;
  p.trees = 1;
  p.seed = seed + uint64_t(m);
  p.clustering.max_leaf_size = m % 2 ? std::max(2, clustering.max_leaf_size / 2) : clustering.max_leaf_size;
  return p;
}

std::string TrainParams::to_json() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("embedding"); w.String(embedding == LabelEmbeddingKind::kPifa ? "pifa" : "pii");
  w.Key("branching"); w.Int(clustering.branching);
  w.Key("max_leaf_size"); w.Int(clustering.max_leaf_size);
  w.Key("kmeans_max_iter"); w.Int(clustering.max_iter);
  w.Key("solver"); w.String(solver_name(solver.kind));
  w.Key("Cp"); w.Double(solver.Cp);
  w.Key("Cn"); w.Double(solver.Cn);
  w.Key("eps"); w.Double(solver.eps);
  w.Key("max_iter"); w.Int(solver.max_iter);
  w.Key("bias"); w.Double(solver.bias);
  w.Key("weight_threshold"); w.Double(weight_threshold);
  w.Key("negatives"); w.String(negative_sampling_name(negatives));
  w.Key("matcher_beam_size"); w.Int(matcher_beam_size);
  w.Key("postprocessor"); w.String(postprocessor_name(postprocessor));
  w.Key("seed"); w.Uint64(seed);
  if (trees > 1) {
    w.Key("trees"); w.Int(trees);
  }
  w.Key("disentangle_max_copies"); w.Int(disentangle.max_copies);
  if (disentangle.enabled()) {
    w.Key("disentangle_rounds"); w.Int(disentangle.rounds);
    w.Key("disentangle_matcher_beam"); w.Int(disentangle.matcher_beam_size);
    w.Key("disentangle_reach"); w.Int(disentangle.reach);
    w.Key("disentangle_min_votes"); w.Uint64(disentangle.min_votes);
    w.Key("disentangle_leaf_growth"); w.Double(disentangle.leaf_growth);
    w.Key("disentangle_route_positives"); w.Bool(disentangle.route_positives);
  }
  if (deep.enabled) {
    const std::string encoder = deep.to_json();
    w.Key("encoder"); w.RawValue(encoder.c_str(), encoder.size(), rapidjson::kObjectType);
  }
  if (knn.enabled()) {
    w.Key("knn"); w.Int(knn.k);
    w.Key("knn_power"); w.Double(knn.power);
    if (knn.auto_weight()) {
      w.Key("knn_weight"); w.String("auto");
    } else {
      w.Key("knn_weight"); w.Double(knn.weight);
    }
  }
  w.EndObject();
  return buf.GetString();
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Rows: instances; entries: positive node ids of one tree layer (sorted, unique).
struct NodeSets {
  std::vector<Offset> ptr{0};
  std::vector<Index> ids;
  bool contains(size_t i, Index node) const {
    return std::binary_search(ids.begin() + ptr[i], ids.begin() + ptr[i + 1], node);
  }
};

// Positives per tree layer: result[t] for t = 1..depth (result[0] unused).
// Every slot of an instance's labels is a positive slot; the clusters above
// follow `slot_positives` when given (the routed copies), else every slot.
std::vector<NodeSets> positive_nodes(const CsrMatrix& Y, const LabelTree& tree, const CsrMatrix* slot_positives) {
  const size_t depth = tree.depth();
  const auto parent = tree.parents();
  std::vector<std::vector<Index>> label_slots(tree.num_labels);
  for (size_t s = 0; s < tree.slot_label.size(); ++s) label_slots[tree.slot_label[s]].push_back(Index(s));
  std::vector<NodeSets> pos(depth + 1);
  std::vector<Index> row;
  for (size_t i = 0; i < Y.rows; ++i) {
    row.clear();
    const SparseVectorView y = Y.row(i);
    for (size_t k = 0; k < y.nnz; ++k) row.insert(row.end(), label_slots[y.indices[k]].begin(), label_slots[y.indices[k]].end());
    for (size_t t = depth; t >= 1; --t) {
      if (t < depth) {
        for (Index& n : row) n = parent[t][n];
      }
      std::sort(row.begin(), row.end());
      row.erase(std::unique(row.begin(), row.end()), row.end());
      pos[t].ids.insert(pos[t].ids.end(), row.begin(), row.end());
      pos[t].ptr.push_back(pos[t].ids.size());
      if (t == depth && slot_positives) {
        const SparseVectorView routed = slot_positives->row(i);
        row.assign(routed.indices, routed.indices + routed.nnz);
      }
    }
  }
  return pos;
}

// One parent's chunk, in (feature, child, weight) triples plus child biases.
struct ChunkResult {
  struct Weight {
    Index feature;
    ChildSlot child;
    float value;
  };
  std::vector<Weight> weights;
  std::vector<float> bias;
};

// A parent's instances with features renumbered 0..F-1 (read-only once built).
struct GatheredRows {
  std::vector<Index> local_of;  // global feature -> local id, or kNone (scratch)
  std::vector<Index> global_of;  // local id -> global feature
  CsrMatrix local;
  // The rows to train on: X's own rows, in place, when the parent uses at
  // least half the features (local ids would save little) or holds at least
  // an eighth of X's non-zeros (a copy per thread would cost more memory than
  // the solver's X.cols-long weight vector costs time); else `local`, with
  // local feature ids.
  bool in_place = false;
  RowSubset rows;
  std::vector<double> sq_norms;
  static constexpr Index kNone = Index(-1);
};

// Per-thread buffers for solving one child (or group of siblings) after another.
struct SolverScratch {
  std::vector<int8_t> y;
  std::vector<float> w, bias;
  SolverWorkspace solver;
  SiblingWorkspace siblings;
};

// Siblings solved together (core/sibling_solver.h) share interleaved weights
// of (cols + 1) x stride floats per thread; at most this many bytes (and a
// quarter more for the narrow copy of the last children to converge). Each
// doubling of the group halves the groups that pass over a parent's rows;
// 16 MiB puts four children together over reuters' 543k features (8 MiB
// allowed two) and left a 21 MB text input's peak, set by featurizing, as it was.
constexpr size_t kSiblingWeightBytes = size_t(16) << 20;

// How many consecutive children of a parent with `width` children form one
// group. It depends on the data only (never on the thread count, so the model
// does not either): at most kMaxSiblings, within kSiblingWeightBytes, and
// small enough that a parent gives at least two groups to run in parallel.
int sibling_group_size(size_t width, size_t cols, const SolverParams& solver) {
  if (solver.kind != SolverKind::kL2SvmDual) return 1;
  int g = kMaxSiblings;
  while (g > 1 && (cols + 1) * size_t(sibling_stride(g)) * sizeof(float) > kSiblingWeightBytes) g /= 2;
  return int(std::max<size_t>(1, std::min<size_t>(size_t(g), (width + 1) / 2)));
}

// `reference_nnz`: the non-zeros of the whole problem's X (X itself, unless X
// holds a sub-tree's rows), which sets where gathering copies rows.
void gather_parent(const CsrMatrix& X, size_t reference_nnz, const std::vector<Index>& instances, GatheredRows& g) {
  if (g.local_of.size() != X.cols) g.local_of.assign(X.cols, GatheredRows::kNone);
  g.global_of.clear();
  size_t parent_nnz = 0;
  for (Index i : instances) {
    const SparseVectorView r = X.row(i);
    parent_nnz += r.nnz;
    for (size_t k = 0; k < r.nnz; ++k) {
      if (g.local_of[r.indices[k]] == GatheredRows::kNone) {
        g.local_of[r.indices[k]] = 0;
        g.global_of.push_back(r.indices[k]);
      }
    }
  }
  // Sorted local ids keep each local row sorted.
  std::sort(g.global_of.begin(), g.global_of.end());
  g.sq_norms.clear();
  if (2 * g.global_of.size() >= X.cols || 8 * parent_nnz >= reference_nnz) {
    for (Index f : g.global_of) g.local_of[f] = GatheredRows::kNone;
    g.local = CsrMatrix{};
    g.in_place = true;
    g.rows = RowSubset{&X, instances.data(), instances.size()};
    for (Index i : instances) {
      const SparseVectorView r = X.row(i);
      double sq = 0;
      for (size_t k = 0; k < r.nnz; ++k) sq += double(r.values[k]) * r.values[k];
      g.sq_norms.push_back(sq);
    }
    return;
  }
  g.in_place = false;
  for (size_t j = 0; j < g.global_of.size(); ++j) g.local_of[g.global_of[j]] = Index(j);
  CsrMatrix& L = g.local;
  L.rows = instances.size();
  L.cols = g.global_of.size();
  L.indptr.assign(1, 0);
  L.indices.clear();
  L.values.clear();
  for (Index i : instances) {
    const SparseVectorView r = X.row(i);
    double sq = 0;
    for (size_t k = 0; k < r.nnz; ++k) {
      L.indices.push_back(g.local_of[r.indices[k]]);
      L.values.push_back(r.values[k]);
      sq += double(r.values[k]) * r.values[k];
    }
    L.indptr.push_back(L.indices.size());
    g.sq_norms.push_back(sq);
  }
  for (Index f : g.global_of) g.local_of[f] = GatheredRows::kNone;
  g.rows = RowSubset{&g.local, nullptr, g.local.rows};
}

// Trains children [first, first + count) of a parent (slots from `first_slot`)
// and appends their kept weights; one child alone uses solve_binary, several
// are solved together.
void train_children(const GatheredRows& g, const std::vector<Index>& instances, const NodeSets& pos, Index first,
                    int count, ChildSlot first_slot, const TrainParams& params, uint64_t seed, SolverScratch& s,
                    std::vector<ChunkResult::Weight>& weights, float* bias) {
  std::fill(bias, bias + count, 0.0f);
  if (instances.empty()) return;
  auto keep = [&](size_t j, ChildSlot slot, float v) {
    if (v != 0.0f && std::fabs(v) >= params.weight_threshold) {
      weights.push_back({g.in_place ? Index(j) : g.global_of[j], slot, v});
    }
  };
  const size_t cols = g.rows.cols();
  if (count == 1) {
    s.y.resize(instances.size());
    for (size_t k = 0; k < instances.size(); ++k) s.y[k] = pos.contains(instances[k], first) ? 1 : -1;
    solve_binary(g.rows, g.sq_norms, s.y, params.solver, seed, s.solver, s.w, bias);
    for (size_t j = 0; j < cols; ++j) keep(j, first_slot, s.w[j]);
    return;
  }
  s.y.resize(instances.size() * size_t(count));
  for (size_t k = 0; k < instances.size(); ++k) {
    for (int c = 0; c < count; ++c) s.y[k * size_t(count) + size_t(c)] = pos.contains(instances[k], Index(first + c)) ? 1 : -1;
  }
  solve_siblings(g.rows, g.sq_norms, s.y, params.solver, seed, s.siblings, s.bias);
  const int stride = sibling_stride(count);
  for (int c = 0; c < count; ++c) {
    bias[c] = s.bias[size_t(c)];
    for (size_t j = 0; j < cols; ++j) keep(j, ChildSlot(first_slot + c), sibling_weight(s.siblings, stride, j, c));
  }
}

ModelParts train_levels(const CsrMatrix& X, const CsrMatrix& Y, const LabelTree& tree, const TrainParams& params,
                        const ProgressFn& progress, const CsrMatrix* slot_positives, const TreePlacement& placement) {
  params.validate();
  tree.validate();
  if (X.rows != Y.rows) throw Error("features have " + std::to_string(X.rows) + " rows, labels " + std::to_string(Y.rows));
  if (Y.cols != tree.num_labels) throw Error("label matrix has " + std::to_string(Y.cols) + " labels, the tree " + std::to_string(tree.num_labels));
  const int threads = params.threads > 0 ? params.threads : omp_get_max_threads();
  const size_t depth = tree.depth();
  const size_t N = X.rows;
  if (slot_positives && (slot_positives->rows != Y.rows || slot_positives->cols != tree.slot_label.size())) {
    throw Error("slot positives have the wrong shape for the tree");
  }
  const std::vector<NodeSets> pos = positive_nodes(Y, tree, slot_positives);

  ModelParts parts;
  parts.num_features = X.cols;
  parts.num_labels = tree.num_labels;
  parts.slot_label = tree.slot_label;
  parts.postprocessor = params.postprocessor;
  parts.train_params_json = params.to_json();

  std::vector<GatheredRows> gathered(threads);
  std::vector<SolverScratch> scratch(threads);
  for (size_t t = 0; t < depth; ++t) {
    const std::string step = "level " + std::to_string(t + 1) + "/" + std::to_string(depth);
    const auto& child_ptr = tree.child_ptr[t];
    const size_t P = tree.num_nodes(t);
    const size_t level_nodes = child_ptr[P];
    std::atomic<size_t> nodes_done{0};
    auto node_trained = [&] {
      const size_t d = ++nodes_done;
      if (progress && (d % 64 == 0 || d == level_nodes)) progress(step, d, level_nodes);
    };
    if (progress) progress(step, 0, level_nodes);
    for (size_t p = 0; p < P; ++p) {
      if (child_ptr[p + 1] - child_ptr[p] > kMaxChildrenPerNode) {
        throw Error("tree node " + std::to_string(p) + " of layer " + std::to_string(t) + " has more than " +
                    std::to_string(kMaxChildrenPerNode) + " children");
      }
    }
    // Active instances of each parent.
    std::vector<std::vector<Index>> active(P);
    if (t == 0) {
      active[0].resize(N);
      std::iota(active[0].begin(), active[0].end(), 0);
    } else {
      if (params.negatives != NegativeSampling::kMatcherAware) {
        for (size_t i = 0; i < N; ++i) {
          for (Offset k = pos[t].ptr[i]; k < pos[t].ptr[i + 1]; ++k) active[pos[t].ids[k]].push_back(Index(i));
        }
      }
      if (params.negatives != NegativeSampling::kTeacherForced) {
        TreeView partial;
        for (size_t u = 0; u < t; ++u) partial.layers.push_back(parts.layers[u].view());
        PredictParams pp;
        pp.beam_size = params.matcher_beam_size;
        pp.postprocessor = params.postprocessor;
        std::vector<std::vector<ScoredLabel>> reached(N);
#pragma omp parallel num_threads(threads)
        {
          InferenceWorkspace ws;
#pragma omp for schedule(dynamic, 256)
          for (size_t i = 0; i < N; ++i) beam_search(partial, X.row(i), pp, ws, reached[i], t - 1);
        }
        for (size_t i = 0; i < N; ++i) {
          for (const auto& n : reached[i]) active[n.label].push_back(Index(i));
        }
        for (auto& a : active) {
          std::sort(a.begin(), a.end());
          a.erase(std::unique(a.begin(), a.end()), a.end());
        }
      }
    }

    std::vector<ChunkResult> chunks(P);
    for (size_t p = 0; p < P; ++p) chunks[p].bias.assign(child_ptr[p + 1] - child_ptr[p], 0.0f);
    const size_t seed_level = placement.root_layer + t;
    const Index first_child = placement.first_node.empty() ? 0 : placement.first_node[t];
    auto seed_of = [&](Index child) { return mix_seed({params.seed, seed_level, first_child + child}); };
    const size_t reference_nnz = placement.larger_nnz ? placement.larger_nnz : X.nnz();

    if (P >= size_t(4 * threads)) {
      // Many parents: one thread per parent, biggest first for balance.
      std::vector<Index> order(P);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) {
        return active[a].size() * (child_ptr[a + 1] - child_ptr[a]) > active[b].size() * (child_ptr[b + 1] - child_ptr[b]);
      });
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
      for (size_t k = 0; k < P; ++k) {
        const Index p = order[k];
        const int tid = omp_get_thread_num();
        gather_parent(X, reference_nnz, active[p], gathered[tid]);
        const size_t width = child_ptr[p + 1] - child_ptr[p];
        const int group = sibling_group_size(width, gathered[tid].rows.cols(), params.solver);
        for (size_t j = 0; j < width; j += size_t(group)) {
          const Index c = Index(child_ptr[p] + j);
          const int count = int(std::min(width - j, size_t(group)));
          train_children(gathered[tid], active[p], pos[t + 1], c, count, ChildSlot(j), params, seed_of(c),
                         scratch[tid], chunks[p].weights, &chunks[p].bias[j]);
          for (int k = 0; k < count; ++k) node_trained();
        }
      }
    } else {
      // Few parents (the top levels): parallel over each parent's children.
      for (size_t p = 0; p < P; ++p) {
        gather_parent(X, reference_nnz, active[p], gathered[0]);
        const size_t width = child_ptr[p + 1] - child_ptr[p];
        const size_t group = size_t(sibling_group_size(width, gathered[0].rows.cols(), params.solver));
        const size_t groups = (width + group - 1) / group;
        std::vector<std::vector<ChunkResult::Weight>> per_group(groups);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (size_t k = 0; k < groups; ++k) {
          const size_t j = k * group;
          const Index c = Index(child_ptr[p] + j);
          const int count = int(std::min(width - j, group));
          train_children(gathered[0], active[p], pos[t + 1], c, count, ChildSlot(j), params, seed_of(c),
                         scratch[omp_get_thread_num()], per_group[k], &chunks[p].bias[j]);
          for (int n = 0; n < count; ++n) node_trained();
        }
        for (auto& w : per_group) chunks[p].weights.insert(chunks[p].weights.end(), w.begin(), w.end());
      }
    }

    // Assemble the level: chunk by chunk, weights sorted by (feature, child).
    LayerData L;
    L.child_ptr = child_ptr;
    for (size_t p = 0; p < P; ++p) {
      auto& ws = chunks[p].weights;
      std::sort(ws.begin(), ws.end(), [](const ChunkResult::Weight& a, const ChunkResult::Weight& b) {
        return a.feature != b.feature ? a.feature < b.feature : a.child < b.child;
      });
      for (size_t k = 0; k < ws.size(); ++k) {
        if (k == 0 || ws[k].feature != ws[k - 1].feature) {
          if (k > 0) L.feat_ptr.push_back(L.entry_value.size());
          L.feat_ids.push_back(ws[k].feature);
        }
        L.entry_child.push_back(ws[k].child);
        L.entry_value.push_back(ws[k].value);
      }
      if (!ws.empty()) L.feat_ptr.push_back(L.entry_value.size());
      L.chunk_ptr.push_back(L.feat_ids.size());
      L.bias.insert(L.bias.end(), chunks[p].bias.begin(), chunks[p].bias.end());
      ws = {};
    }
    parts.layers.push_back(std::move(L));
  }
  return parts;
}

}  // namespace

ModelParts train_on_tree(const CsrMatrix& X, const CsrMatrix& Y, const LabelTree& tree, const TrainParams& params,
                         const ProgressFn& progress, const CsrMatrix* slot_positives) {
  return train_levels(X, Y, tree, params, progress, slot_positives, TreePlacement{});
}

ModelParts train_subtree(const CsrMatrix& X, const CsrMatrix& Y, const LabelTree& tree, const TrainParams& params,
                         const TreePlacement& placement, const ProgressFn& progress) {
  if (placement.first_node.size() != tree.depth()) {
    throw Error("sub-tree placement names " + std::to_string(placement.first_node.size()) + " layers, the tree has " +
                std::to_string(tree.depth()));
  }
  if (params.negatives != NegativeSampling::kTeacherForced) {
    throw Error("a sub-tree alone trains with teacher-forced negatives only");
  }
  return train_levels(X, Y, tree, params, progress, nullptr, placement);
}

void check_training_data(const CsrMatrix& X, const CsrMatrix& Y) {
  if (X.rows != Y.rows) throw Error("features have " + std::to_string(X.rows) + " rows, labels " + std::to_string(Y.rows));
  if (X.rows == 0) throw Error("no training instances");
  if (Y.cols == 0) throw Error("no labels to train on");
  if (X.nnz() == 0) throw Error("every training instance has an empty feature vector; nothing to learn from");
}

LabelTree training_tree(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params, const TrainInputs& inputs,
                        TrainStats* stats) {
  TrainStats local_stats;
  TrainStats& st = stats ? *stats : local_stats;
  if (inputs.tree) {
    LabelTree tree = *inputs.tree;
    if (tree.num_labels != Y.cols) throw Error("the given tree has " + std::to_string(tree.num_labels) + " labels, the data " + std::to_string(Y.cols));
    tree.validate();
    return tree;
  }
  if (inputs.progress) inputs.progress("label embedding", 0, 0);
  auto t0 = Clock::now();
  CsrMatrix emb = label_embedding(params.embedding, X, Y);
  if (inputs.label_features) emb = concat_label_features(emb, *inputs.label_features);
  st.seconds_embedding = seconds_since(t0);
  if (inputs.progress) inputs.progress("clustering", 0, 0);
  t0 = Clock::now();
  ClusteringParams cp = params.clustering;
  cp.seed = params.seed;
  LabelTree tree = build_label_tree(emb, cp);
  st.seconds_clustering = seconds_since(t0);
  return tree;
}

namespace {

ModelParts train_one_tree(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params, const TrainInputs& inputs,
                          TrainStats* stats, ModelParts* plain) {
  check_training_data(X, Y);
  TrainStats local_stats;
  TrainStats& st = stats ? *stats : local_stats;
  if (params.threads > 0) omp_set_num_threads(params.threads);

  LabelTree tree = training_tree(X, Y, params, inputs, &st);
  auto t0 = Clock::now();
  ModelParts parts = train_on_tree(X, Y, tree, params, inputs.progress);
  st.seconds_matching = seconds_since(t0);
  if (plain) {
    *plain = parts;
    plain->label_names = inputs.label_names;
    TrainParams plain_params = params;  // recorded as trained: without disentanglement
    plain_params.disentangle = DisentangleParams{};
    plain->train_params_json = plain_params.to_json();
  }
  if (params.disentangle.enabled() && tree.depth() >= 2) {
    t0 = Clock::now();
    const size_t original_max_leaf = max_leaf_size(tree);
    for (int round = 1; round <= params.disentangle.rounds; ++round) {
      const std::string step = "disentangle round " + std::to_string(round);
      if (inputs.progress) inputs.progress(step, 0, 0);
      const Model matcher = Model::from_parts(parts);
      DisentangleRound r;
      DisentangledTree next = disentangle_tree(tree, matcher.tree(), X, Y, params.disentangle, original_max_leaf,
                                               params.threads, params.postprocessor, &r);
      st.disentangle_rounds.push_back(r);
      if (r.copies_added == 0) break;
      tree = std::move(next.tree);
      parts = train_on_tree(X, Y, tree, params, inputs.progress,
                            next.slot_positives.rows ? &next.slot_positives : nullptr);
    }
    st.seconds_disentangle = seconds_since(t0);
  }
  // A model whose rankers have no weight scores every label by its bias alone.
  size_t ranker_weights = 0;
  for (float v : parts.layers.back().entry_value) ranker_weights += v != 0.0f;
  if (ranker_weights == 0) {
    throw Error("the weight threshold " + std::to_string(params.weight_threshold) +
                " removed every ranker weight, so the model would predict nothing from the features; lower it");
  }
  parts.label_names = inputs.label_names;
  return parts;
}

}  // namespace

ModelParts train_model_parts(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params,
                             const TrainInputs& inputs, TrainStats* stats, ModelParts* plain) {
  params.validate();
  if (params.knn.enabled()) {
    KnnVoteParams knn = params.knn;
    std::string choice_json;
    if (knn.auto_weight()) {
      const KnnWeightChoice c = choose_knn_weight(X, Y, params);
      choice_json = c.to_json();
      char weight[16] = "off", line[160];
      if (c.weight > 0) std::snprintf(weight, sizeof weight, "%g", double(c.weight));
      std::snprintf(line, sizeof line, "knn weight %s (held-out P@1 %.2f -> %.2f at %g, standard error %.2f, %zu rows)",
                    weight, 100 * c.p1_trees, 100 * c.p1_fused, double(c.best_weight), 100 * c.gain_se, c.held_out);
      if (stats) stats->knn_choice = line;
      knn.weight = c.weight;
    }
    // The trees as without the vote (a deep matcher's on its widened rows),
    // then the vote over the rows as given.
    TrainParams trees_only = params;
    trees_only.knn = KnnVoteParams{};
    TrainStats tree_stats;
    ModelParts parts = train_model_parts(X, Y, trees_only, inputs, &tree_stats, plain);
    if (stats) {
      tree_stats.knn_choice = stats->knn_choice;
      *stats = std::move(tree_stats);
    }
    auto record = [&](const TrainParams& p) {
      std::string json = p.to_json();
      if (!choice_json.empty()) json.insert(json.size() - 1, ",\"knn_auto\":" + choice_json);
      return json;
    };
    parts.train_params_json = record(params);
    if (knn.weight > 0) parts.knn = KnnVote::build(X, Y, knn);
    if (plain) {
      plain->knn = parts.knn;
      TrainParams plain_params = params;  // as trained: without disentanglement
      plain_params.disentangle = DisentangleParams{};
      plain->train_params_json = record(plain_params);
    }
    return parts;
  }
  if (params.deep.enabled) return train_deep_matcher_parts(X, Y, params, inputs, stats, plain);
  if (params.trees == 1) return train_one_tree(X, Y, params, inputs, stats, plain);
  if (inputs.tree) throw Error("a given tree makes every tree of an ensemble the same; train one tree");
  ModelParts parts;
  TrainStats total;
  for (int m = 0; m < params.trees; ++m) {
    TrainInputs tree_inputs = inputs;
    tree_inputs.progress =
        prefixed(inputs.progress, "tree " + std::to_string(m + 1) + "/" + std::to_string(params.trees) + ": ");
    TrainStats st;
    ModelParts tree_plain;
    ModelParts tree = train_one_tree(X, Y, params.tree_params(m), tree_inputs, &st, plain ? &tree_plain : nullptr);
    total.seconds_embedding += st.seconds_embedding;
    total.seconds_clustering += st.seconds_clustering;
    total.seconds_matching += st.seconds_matching;
    total.seconds_disentangle += st.seconds_disentangle;
    total.disentangle_rounds.insert(total.disentangle_rounds.end(), st.disentangle_rounds.begin(), st.disentangle_rounds.end());
    auto add = [&](ModelParts& into, ModelParts&& one) {
      if (m == 0) {
        into = std::move(one);
        into.train_params_json = params.to_json();
      } else {
        into.more_trees.push_back(TreeParts{std::move(one.layers), std::move(one.slot_label), one.train_params_json});
      }
    };
    add(parts, std::move(tree));
    if (plain) add(*plain, std::move(tree_plain));
  }
  if (stats) *stats = std::move(total);
  return parts;
}

}  // namespace xmr
