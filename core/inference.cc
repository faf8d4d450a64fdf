#include "core/inference.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "core/error.h"

namespace xmr {

void PredictParams::validate() const {
  if (beam_size < 1 || beam_size > kMaxBeamSize) {
    throw Error("beam_size must be in 1.." + std::to_string(kMaxBeamSize) + ", got " + std::to_string(beam_size));
  }
  if (top_k < 1 || top_k > kMaxTopK) {
    throw Error("top_k must be in 1.." + std::to_string(kMaxTopK) + ", got " + std::to_string(top_k));
  }
}

RepeatedLabelScore parse_repeated_label_score(const std::string& name) {
  if (name == "max") return RepeatedLabelScore::kMax;
  if (name == "mean") return RepeatedLabelScore::kMean;
  throw Error("unknown repeated-label score '" + name + "' (known: max, mean)");
}

namespace {

using Node = InferenceWorkspace::Node;

inline bool better(const Node& a, const Node& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); }

// Keeps the best `keep` of v, sorted best first.
void keep_best(std::vector<Node>& v, size_t keep) {
  if (v.size() > keep) {
    std::nth_element(v.begin(), v.begin() + keep, v.end(), better);
    v.resize(keep);
  }
  std::sort(v.begin(), v.end(), better);
}

// The bar of an expansion: the `keep`-th best score among the candidates so
// far, kept as a min-heap of the best `keep` in `heap` (empty at the start of
// a level), -inf until there are `keep`.
class Bar {
 public:
  Bar(std::vector<float>& heap, size_t keep) : heap_(heap), keep_(keep) {}
  float value() const { return heap_.size() == keep_ ? heap_.front() : -std::numeric_limits<float>::infinity(); }
  void offer(float score) {
    if (heap_.size() < keep_) {
      heap_.push_back(score);
      std::push_heap(heap_.begin(), heap_.end(), std::greater<float>());
    } else if (score > heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end(), std::greater<float>());
      heap_.back() = score;
      std::push_heap(heap_.begin(), heap_.end(), std::greater<float>());
    }
  }

 private:
  std::vector<float>& heap_;
  size_t keep_;
};

// Slack, in the cube's units, above which an l3-hinge child is certainly under
// the bar: expf's and the product's rounding move a score by a few parts in
// 10^7, which is that much in log(score).
constexpr double kCubeSlack = 1e-5;

// Every post-processor but noop scales its parent's score by a factor of at
// most 1 or adds a term of at most 0, so no child of a parent under the bar
// can reach it.
inline bool children_below_parent(PostProcessor post) { return post != PostProcessor::kNoop; }

// Appends to `out` the children of one parent (raw scores raw[0..width),
// node ids from `first`) whose scores reach the bar, which rises as they
// come. Only the best `keep` candidates of a level (and any tied with the
// last) are needed, so those under the bar can be left out: the best come
// out as if none were. Under l3-hinge a child whose cube alone puts it under
// is skipped before its exponential.
void expand_children(const float* raw, size_t width, Index first, float parent_score, PostProcessor post, Bar& bar,
                     std::vector<Node>& out) {
  // The largest cube that can still reach the bar, kept as the bar rises.
  auto cube_limit = [&] {
    const float floor = bar.value();
    return floor > 0 ? std::log(double(parent_score) / double(floor)) + kCubeSlack
                     : std::numeric_limits<double>::infinity();
  };
  double max_cube = post == PostProcessor::kL3Hinge ? cube_limit() : 0.0;
  for (size_t j = 0; j < width; ++j) {
    float score;
    if (post == PostProcessor::kL3Hinge) {
      const float cube = l3_hinge_cube(raw[j]);
      if (double(cube) > max_cube) continue;
      score = parent_score * std::exp(-cube);
    } else {
      score = postprocess_combine(post, parent_score, raw[j]);
    }
    if (score < bar.value()) continue;
    out.push_back({Index(first + j), score});
    bar.offer(score);
    if (post == PostProcessor::kL3Hinge) max_cube = cube_limit();
  }
}

// Drops the candidates under the bar's final value: they were taken while it
// was lower and cannot be among the best `keep` (those tied with the last
// stay), so the selection that follows sorts only what can survive it.
void drop_under_bar(const Bar& bar, std::vector<Node>& candidates) {
  const float floor = bar.value();
  if (floor == -std::numeric_limits<float>::infinity()) return;
  candidates.erase(std::remove_if(candidates.begin(), candidates.end(), [&](const Node& n) { return n.score < floor; }),
                   candidates.end());
}

// Expands the nodes of ws.beam (nodes of layer t, best first) into
// ws.candidates, keeping what can be among the best `keep`; raw_of(parent)
// gives the raw scores of the parent's children. Once a parent is under the
// bar, it and the worse parents after it are skipped whole, chunk unscored.
template <typename RawOf>
void expand(const LayerView& layer, RawOf&& raw_of, PostProcessor post, size_t keep, InferenceWorkspace& ws) {
  ws.candidates.clear();
  ws.bar.clear();
  Bar bar(ws.bar, keep);
  for (const Node& parent : ws.beam) {
    if (children_below_parent(post) && parent.score < bar.value()) break;
    const size_t width = layer.num_children_of(parent.id);
    expand_children(raw_of(parent.id, width), width, layer.child_ptr[parent.id], parent.score, post, bar,
                    ws.candidates);
  }
  drop_under_bar(bar, ws.candidates);
}

// How many of the best slots slots_to_labels needs for the top k labels: k
// when no label repeats; with repeats and max, k * max_label_slots (a top-k
// label's best slot is among those: every slot above it belongs to one of
// fewer than k better labels), plus any tied with the last; a mean over a
// label's slots needs them all (SIZE_MAX).
size_t labels_keep(const TreeView& tree, size_t k, RepeatedLabelScore repeated) {
  if (!tree.repeated_labels) return k;
  if (repeated == RepeatedLabelScore::kMax && tree.max_label_slots > 0) return k * tree.max_label_slots;
  return SIZE_MAX;
}

// Maps slots to labels, merging repeated labels, then keeps the top k. A
// label's scores are combined in double precision, so a mean does not depend
// on the order the slots arrived in (batch and single-query paths agree).
void slots_to_labels(const TreeView& tree, std::vector<Node>& nodes, size_t k, RepeatedLabelScore repeated,
                     LabelMergeScratch& m, std::vector<ScoredLabel>& out) {
  for (Node& n : nodes) n.id = tree.slot_label[n.id];
  const size_t keep = labels_keep(tree, k, repeated);
  if (tree.repeated_labels && keep != SIZE_MAX && nodes.size() > keep) {  // only those need merging
    std::nth_element(nodes.begin(), nodes.begin() + keep - 1, nodes.end(), better);
    const float boundary = nodes[keep - 1].score;
    const auto end = std::partition(nodes.begin() + keep, nodes.end(), [&](const Node& n) { return n.score >= boundary; });
    nodes.resize(size_t(end - nodes.begin()));
  }
  if (tree.repeated_labels) {
    size_t table = 16;
    while (table < 2 * nodes.size()) table *= 2;
    if (m.keys.size() < table) {
      m.keys.assign(table, LabelMergeScratch::kEmpty);
      m.slot.resize(table);
    }
    const size_t mask = m.keys.size() - 1;
    m.sum.clear();
    m.count.clear();
    size_t w = 0;
    for (size_t r = 0; r < nodes.size(); ++r) {
      const Node n = nodes[r];
      size_t h = (size_t(n.id) * 0x9E3779B1u) & mask;
      while (m.keys[h] != LabelMergeScratch::kEmpty && m.keys[h] != n.id) h = (h + 1) & mask;
      if (m.keys[h] == LabelMergeScratch::kEmpty) {
        m.keys[h] = n.id;
        m.slot[h] = uint32_t(w);
        m.sum.push_back(n.score);
        m.count.push_back(1);
        nodes[w++] = n;
      } else {
        Node& first = nodes[m.slot[h]];
        first.score = std::max(first.score, n.score);
        m.sum[m.slot[h]] += n.score;
        ++m.count[m.slot[h]];
      }
    }
    nodes.resize(w);
    for (size_t j = 0; j < w; ++j) {
      size_t h = (size_t(nodes[j].id) * 0x9E3779B1u) & mask;
      while (m.keys[h] != nodes[j].id) h = (h + 1) & mask;
      m.keys[h] = LabelMergeScratch::kEmpty;
      if (repeated == RepeatedLabelScore::kMean) nodes[j].score = float(m.sum[j] / double(m.count[j]));
    }
  }
  keep_best(nodes, k);
  out.clear();
  for (const Node& n : nodes) out.push_back({n.id, n.score});
}

// The beam search of beam_search and beam_search_scored; raw_of(t, parent,
// width) gives the raw scores of a layer-t parent's children.
template <typename RawOf>
void search_levels(const TreeView& tree, RawOf&& raw_of, const PredictParams& params, InferenceWorkspace& ws,
                   std::vector<ScoredLabel>& out, size_t stop_layer) {
  const size_t depth = tree.layers.size();
  const size_t last = std::min(stop_layer, depth - 1);
  ws.beam.clear();
  ws.beam.push_back({0, postprocess_initial(params.postprocessor)});
  const size_t last_keep = stop_layer < depth ? size_t(params.beam_size) : labels_keep(tree, size_t(params.top_k), params.repeated);
  for (size_t t = 0; t <= last; ++t) {
    const size_t keep = t < last ? size_t(params.beam_size) : last_keep;
    expand(tree.layers[t], [&](Index parent, size_t width) { return raw_of(t, parent, width); }, params.postprocessor,
           keep, ws);
    std::swap(ws.beam, ws.candidates);
    if (t < last) keep_best(ws.beam, size_t(params.beam_size));
  }
  if (stop_layer < depth) {  // stopped early: report nodes, not labels
    keep_best(ws.beam, size_t(params.beam_size));
    out.clear();
    for (const Node& n : ws.beam) out.push_back({n.id, n.score});
    return;
  }
  slots_to_labels(tree, ws.beam, size_t(params.top_k), params.repeated, ws.merge, out);
}

}  // namespace

void beam_search(const TreeView& tree, const SparseVectorView& q, const PredictParams& params, InferenceWorkspace& ws,
                 std::vector<ScoredLabel>& out, size_t stop_layer) {
  auto score = [&](size_t t, Index parent, size_t width) {
    if (ws.raw.size() < width) ws.raw.resize(width);
    tree.layers[t].score_chunk(parent, q, ws.raw.data());
    return static_cast<const float*>(ws.raw.data());
  };
  search_levels(tree, score, params, ws, out, stop_layer);
}

void beam_search_scored(const TreeView& tree, float* const* level_scores, const PredictParams& params,
                        InferenceWorkspace& ws, std::vector<ScoredLabel>& out, const FinishChildScores* finish) {
  auto scored = [&](size_t t, Index parent, size_t width) {
    float* scores = level_scores[t] + tree.layers[t].child_ptr[parent];
    if (finish) finish->children(t, tree.layers[t].child_ptr[parent], width, scores);
    return static_cast<const float*>(scores);
  };
  search_levels(tree, scored, params, ws, out, SIZE_MAX);
}

void beam_search_batch(const TreeView& tree, const CsrMatrix& X, size_t begin, size_t end, const PredictParams& params,
                       BatchWorkspace& ws, std::vector<ScoredLabel>* out) {
  const size_t n = end - begin;
  const size_t depth = tree.layers.size();
  if (ws.beams.size() < n) {
    ws.beams.resize(n);
    ws.candidates.resize(n);
  }
  if (ws.bars.size() < n) ws.bars.resize(n);
  for (size_t i = 0; i < n; ++i) ws.beams[i].assign(1, {0, postprocess_initial(params.postprocessor)});
  const PostProcessor post = params.postprocessor;
  for (size_t t = 0; t < depth; ++t) {
    const LayerView& layer = tree.layers[t];
    const size_t keep = t + 1 < depth ? size_t(params.beam_size) : labels_keep(tree, size_t(params.top_k), params.repeated);
    ws.pairs.clear();
    for (size_t i = 0; i < n; ++i) {
      for (const Node& node : ws.beams[i]) ws.pairs.push_back({node.id, Index(i), node.score});
      ws.candidates[i].clear();
      ws.bars[i].clear();
    }
    std::sort(ws.pairs.begin(), ws.pairs.end(), [](const BatchWorkspace::Pair& a, const BatchWorkspace::Pair& b) {
      return a.parent < b.parent || (a.parent == b.parent && a.query < b.query);
    });
    // A query's parents come in id order here, not best first, so a parent
    // under its query's bar is skipped alone (chunk unscored).
    for (const BatchWorkspace::Pair& pair : ws.pairs) {
      Bar bar(ws.bars[pair.query], keep);
      if (children_below_parent(post) && pair.score < bar.value()) continue;
      const size_t width = layer.num_children_of(pair.parent);
      if (ws.raw.size() < width) ws.raw.resize(width);
      layer.score_chunk(pair.parent, X.row(begin + pair.query), ws.raw.data());
      expand_children(ws.raw.data(), width, layer.child_ptr[pair.parent], pair.score, post, bar,
                      ws.candidates[pair.query]);
    }
    for (size_t i = 0; i < n; ++i) {
      drop_under_bar(Bar(ws.bars[i], keep), ws.candidates[i]);
      std::swap(ws.beams[i], ws.candidates[i]);
      if (t + 1 < depth) keep_best(ws.beams[i], size_t(params.beam_size));
    }
  }
  for (size_t i = 0; i < n; ++i) slots_to_labels(tree, ws.beams[i], size_t(params.top_k), params.repeated, ws.merge, out[i]);
}

void score_labels(const TreeView& tree, const SparseVectorView& q, const Index* labels, size_t n, PostProcessor post,
                  RepeatedLabelScore repeated, InferenceWorkspace& ws, float* out) {
  const size_t depth = tree.layers.size();
  // Grown, never shrunk: the trees of an ensemble differ in depth, and a
  // shrink would free buffers the next tree needs again.
  if (ws.needed.size() < depth + 1) ws.needed.resize(depth + 1);
  if (ws.combined.size() < depth + 1) ws.combined.resize(depth + 1);
  // needed[t]: sorted node ids of layer t on some requested label's path.
  auto& bottom = ws.needed[depth];
  bottom.clear();
  for (size_t i = 0; i < n; ++i) {
    if (labels[i] >= tree.num_labels) throw Error("score_labels: label " + std::to_string(labels[i]) + " out of range");
    for (Index s = tree.label_slot_ptr[labels[i]]; s < tree.label_slot_ptr[labels[i] + 1]; ++s) {
      bottom.push_back(tree.label_slots[s]);
    }
  }
  for (size_t t = depth; t-- > 0;) {
    auto& up = ws.needed[t];
    up.clear();
    const LayerView& layer = tree.layers[t];
    std::sort(ws.needed[t + 1].begin(), ws.needed[t + 1].end());
    ws.needed[t + 1].erase(std::unique(ws.needed[t + 1].begin(), ws.needed[t + 1].end()), ws.needed[t + 1].end());
    for (Index c : ws.needed[t + 1]) {
      const Index parent = Index(std::upper_bound(layer.child_ptr, layer.child_ptr + layer.num_parents + 1, c) - layer.child_ptr - 1);
      if (up.empty() || up.back() != parent) up.push_back(parent);  // children sorted => parents sorted
    }
  }
  ws.combined[0].assign(1, postprocess_initial(post));
  for (size_t t = 0; t < depth; ++t) {
    const LayerView& layer = tree.layers[t];
    const auto& parents = ws.needed[t];
    const auto& children = ws.needed[t + 1];
    ws.combined[t + 1].resize(children.size());
    size_t ci = 0;
    for (size_t pi = 0; pi < parents.size(); ++pi) {
      const Index p = parents[pi];
      const size_t width = layer.num_children_of(p);
      if (ws.raw.size() < width) ws.raw.resize(width);
      layer.score_chunk(p, q, ws.raw.data());
      for (; ci < children.size() && children[ci] < layer.child_ptr[p + 1]; ++ci) {
        ws.combined[t + 1][ci] = postprocess_combine(post, ws.combined[t][pi], ws.raw[children[ci] - layer.child_ptr[p]]);
      }
    }
  }
  const auto& slots = ws.needed[depth];
  const auto& score = ws.combined[depth];
  for (size_t i = 0; i < n; ++i) {
    float best = 0.0f;
    double sum = 0.0;  // as beam search combines a label's slots
    const Index b = tree.label_slot_ptr[labels[i]], e = tree.label_slot_ptr[labels[i] + 1];
    for (Index s = b; s < e; ++s) {
      const size_t pos = size_t(std::lower_bound(slots.begin(), slots.end(), tree.label_slots[s]) - slots.begin());
      const float v = score[pos];
      best = (s == b) ? v : std::max(best, v);
      sum += v;
    }
    out[i] = repeated == RepeatedLabelScore::kMax ? best : float(sum / double(e - b));
  }
}

}  // namespace xmr
