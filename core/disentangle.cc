#include "core/disentangle.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace xmr {

void DisentangleParams::validate() const {
  auto fail = [](const std::string& what) { return Error("disentanglement: " + what); };
  if (max_copies < 1 || max_copies > 6) throw fail("K (max copies) must be in 1..6, got " + std::to_string(max_copies));
  if (rounds < 1 || rounds > 10) throw fail("rounds must be in 1..10, got " + std::to_string(rounds));
  if (matcher_beam_size < 1 || matcher_beam_size > 1000) {
    throw fail("matcher beam must be in 1..1000, got " + std::to_string(matcher_beam_size));
  }
  if (reach < 1 || reach > matcher_beam_size) throw fail("reach must be in 1..matcher beam, got " + std::to_string(reach));
  if (min_votes < 1) throw fail("min votes must be >= 1");
  if (!(leaf_growth >= 0.0 && leaf_growth <= 10.0)) throw fail("leaf growth must be in 0..10");
}

size_t max_leaf_size(const LabelTree& tree) {
  const auto& leaf_ptr = tree.child_ptr.back();
  size_t best = 0;
  for (size_t c = 0; c + 1 < leaf_ptr.size(); ++c) best = std::max<size_t>(best, leaf_ptr[c + 1] - leaf_ptr[c]);
  return best;
}

namespace {

struct Vote {
  Index label, cluster;
  bool operator<(const Vote& o) const { return label < o.label || (label == o.label && cluster < o.cluster); }
  bool operator==(const Vote& o) const { return label == o.label && cluster == o.cluster; }
};

// Step 4: each positive pair of Y goes to the copy of its label in the cluster
// ranked highest for its instance; to every copy when none is ranked.
CsrMatrix route_positives(const LabelTree& tree, const std::vector<Index>& ranked,
                          const std::vector<uint16_t>& ranked_count, size_t beam, const CsrMatrix& Y) {
  const auto& leaf_ptr = tree.child_ptr.back();
  struct Copy {
    Index cluster, slot;
  };
  std::vector<std::vector<Copy>> copies(tree.num_labels);
  for (size_t c = 0; c + 1 < leaf_ptr.size(); ++c) {
    for (Index s = leaf_ptr[c]; s < leaf_ptr[c + 1]; ++s) copies[tree.slot_label[s]].push_back({Index(c), s});
  }
  CsrMatrix out;
  out.rows = Y.rows;
  out.cols = tree.slot_label.size();
  out.indices.reserve(Y.nnz());
  std::vector<Index> row;
  for (size_t i = 0; i < Y.rows; ++i) {
    row.clear();
    const Index* mine = ranked.data() + i * beam;
    const SparseVectorView y = Y.row(i);
    for (size_t k = 0; k < y.nnz; ++k) {
      const auto& cs = copies[y.indices[k]];
      if (cs.size() == 1) {
        row.push_back(cs[0].slot);
        continue;
      }
      size_t best_rank = beam;
      Index best_slot = 0;
      for (const Copy& c : cs) {
        const size_t rank = size_t(std::find(mine, mine + ranked_count[i], c.cluster) - mine);
        if (rank < ranked_count[i] && rank < best_rank) best_rank = rank, best_slot = c.slot;
      }
      if (best_rank < beam) {
        row.push_back(best_slot);
      } else {
        for (const Copy& c : cs) row.push_back(c.slot);
      }
    }
    std::sort(row.begin(), row.end());
    out.indices.insert(out.indices.end(), row.begin(), row.end());
    out.indptr.push_back(out.indices.size());
  }
  out.values.assign(out.indices.size(), 1.0f);
  return out;
}

}  // namespace

DisentangledTree disentangle_tree(const LabelTree& tree, const TreeView& matcher, const CsrMatrix& X,
                                  const CsrMatrix& Y, const DisentangleParams& params, size_t original_max_leaf,
                                  int threads, PostProcessor post, DisentangleRound* round) {
  params.validate();
  DisentangleRound local;
  DisentangleRound& r = round ? *round : local;
  r = {};
  const size_t depth = tree.depth();
  if (depth < 2 || !params.enabled()) return {tree, {}};  // a single leaf cluster leaves nothing to choose
  if (matcher.layers.size() != depth) throw Error("disentanglement: the matcher's depth differs from the tree's");
  if (Y.cols != tree.num_labels || X.rows != Y.rows) throw Error("disentanglement: data does not match the tree");

  const auto& leaf_ptr = tree.child_ptr[depth - 1];
  const size_t clusters = leaf_ptr.size() - 1;
  std::vector<std::vector<Index>> label_clusters(tree.num_labels);
  for (size_t c = 0; c < clusters; ++c) {
    for (Index s = leaf_ptr[c]; s < leaf_ptr[c + 1]; ++s) label_clusters[tree.slot_label[s]].push_back(Index(c));
  }

  // Where the matcher sends each instance, and which of its labels it misses.
  PredictParams pp;
  pp.beam_size = params.matcher_beam_size;
  pp.postprocessor = post;
  const int nt = threads > 0 ? threads : omp_get_max_threads();
  // The matcher's clusters for instance i, best first: ranked[i * beam + j] for j < ranked_count[i].
  const size_t beam = size_t(params.matcher_beam_size);
  std::vector<Index> ranked(params.route_positives ? X.rows * beam : 0);
  std::vector<uint16_t> ranked_count(params.route_positives ? X.rows : 0);
  std::vector<std::vector<Vote>> votes_of(static_cast<size_t>(nt));
#pragma omp parallel num_threads(nt)
  {
    InferenceWorkspace ws;
    std::vector<ScoredLabel> reached;
    auto& votes = votes_of[size_t(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 256)
    for (size_t i = 0; i < X.rows; ++i) {
      beam_search(matcher, X.row(i), pp, ws, reached, depth - 2);
      if (params.route_positives) {
        ranked_count[i] = uint16_t(std::min(reached.size(), beam));
        for (size_t j = 0; j < ranked_count[i]; ++j) ranked[i * beam + j] = reached[j].label;
      }
      if (reached.empty()) continue;
      const size_t top = std::min(reached.size(), size_t(params.reach));
      const SparseVectorView y = Y.row(i);
      for (size_t k = 0; k < y.nnz; ++k) {
        const auto& mine = label_clusters[y.indices[k]];
        bool hit = false;
        for (size_t j = 0; j < top && !hit; ++j) hit = std::binary_search(mine.begin(), mine.end(), reached[j].label);
        if (!hit) votes.push_back({y.indices[k], reached[0].label});
      }
    }
  }
  std::vector<Vote> votes;
  for (auto& v : votes_of) votes.insert(votes.end(), v.begin(), v.end());
  r.missed = votes.size();
  std::sort(votes.begin(), votes.end());

  struct Candidate {
    size_t count;
    Vote vote;
  };
  std::vector<Candidate> candidates;
  for (size_t a = 0; a < votes.size();) {
    size_t b = a;
    while (b < votes.size() && votes[b] == votes[a]) ++b;
    if (b - a >= params.min_votes) candidates.push_back({b - a, votes[a]});
    a = b;
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& x, const Candidate& y) {
    return x.count > y.count || (x.count == y.count && x.vote < y.vote);
  });

  const size_t cap = size_t(std::ceil((1.0 + params.leaf_growth) * double(original_max_leaf)));
  std::vector<size_t> size(clusters);
  for (size_t c = 0; c < clusters; ++c) size[c] = leaf_ptr[c + 1] - leaf_ptr[c];
  std::vector<std::vector<Index>> added(clusters);
  for (const Candidate& cand : candidates) {
    const Index l = cand.vote.label, c = cand.vote.cluster;
    if (label_clusters[l].size() >= size_t(params.max_copies) || size[c] >= cap) continue;
    label_clusters[l].insert(std::lower_bound(label_clusters[l].begin(), label_clusters[l].end(), c), c);
    added[c].push_back(l);
    ++size[c];
    ++r.copies_added;
  }
  if (r.copies_added == 0) return {tree, {}};

  DisentangledTree out;
  LabelTree& next = out.tree;
  next.num_labels = tree.num_labels;
  next.child_ptr.assign(tree.child_ptr.begin(), tree.child_ptr.end() - 1);
  std::vector<Index> new_leaf_ptr{0};
  for (size_t c = 0; c < clusters; ++c) {
    next.slot_label.insert(next.slot_label.end(), tree.slot_label.begin() + leaf_ptr[c],
                           tree.slot_label.begin() + leaf_ptr[c + 1]);
    std::sort(added[c].begin(), added[c].end());
    next.slot_label.insert(next.slot_label.end(), added[c].begin(), added[c].end());
    new_leaf_ptr.push_back(Index(next.slot_label.size()));
  }
  next.child_ptr.push_back(std::move(new_leaf_ptr));
  next.validate();
  if (params.route_positives) out.slot_positives = route_positives(next, ranked, ranked_count, beam, Y);
  return out;
}

}  // namespace xmr
