#include "core/knn_vote.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/row_kernels.h"

namespace xmr {

void KnnVoteParams::validate() const {
  if (k < 0 || k > kMaxKnn) throw Error("knn: k must be in 0.." + std::to_string(kMaxKnn) + ", got " + std::to_string(k));
  if (!(power > 0) || !(power <= 100)) throw Error("knn: power must be in (0, 100]");
  if (!auto_weight() && (!(weight > 0) || !(weight <= 1))) throw Error("knn: weight must be in (0, 1] or auto");
}

namespace {

struct OwnedRows {
  CsrMatrix by_feature;  // X transposed
  CsrMatrix labels;      // Y
};

// Best first: higher similarity, then the lower row. (A function object, so
// the heap's calls inline.)
struct Nearer {
  bool operator()(const std::pair<float, uint32_t>& a, const std::pair<float, uint32_t>& b) const {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  }
};
constexpr Nearer nearer;

bool better(const std::pair<uint32_t, float>& a, const std::pair<uint32_t, float>& b) {
  return a.second > b.second || (a.second == b.second && a.first < b.first);
}

}  // namespace

std::shared_ptr<const KnnVote> KnnVote::build(const CsrMatrix& X, const CsrMatrix& Y, const KnnVoteParams& params) {
  params.validate();
  if (X.rows != Y.rows) {
    throw Error("knn: " + std::to_string(X.rows) + " feature rows but " + std::to_string(Y.rows) + " label rows");
  }
  auto owned = std::make_shared<OwnedRows>();
  owned->by_feature = X.transposed();
  owned->labels = Y;
  KnnArrays a;
  a.num_features = X.cols;
  a.num_rows = X.rows;
  a.num_labels = Y.cols;
  a.feature_ptr = owned->by_feature.indptr.data();
  a.rows = owned->by_feature.indices.data();
  a.values = owned->by_feature.values.data();
  a.label_ptr = owned->labels.indptr.data();
  a.labels = owned->labels.indices.data();
  return view(a, params, owned, "knn");
}

std::shared_ptr<const KnnVote> KnnVote::view(const KnnArrays& a, const KnnVoteParams& params,
                                             std::shared_ptr<const void> owner, const std::string& name) {
  try {
    params.validate();
    if (params.auto_weight()) throw Error("knn: the weight is still auto (choose it first: core/knn_weight.h)");
  } catch (const Error& e) {
    throw Error(name + ": " + e.what());
  }
  if (a.num_rows > UINT32_MAX) throw Error(name + ": knn: more than 2^32 training rows");
  if (a.feature_ptr[0] != 0 || a.label_ptr[0] != 0) throw Error(name + ": corrupt knn vote: pointers do not start at 0");
  for (size_t f = 0; f < a.num_features; ++f) {
    if (a.feature_ptr[f + 1] < a.feature_ptr[f]) throw Error(name + ": corrupt knn vote: feature pointers decrease");
    for (uint64_t e = a.feature_ptr[f]; e < a.feature_ptr[f + 1]; ++e) {
      if (a.rows[e] >= a.num_rows || (e > a.feature_ptr[f] && a.rows[e] <= a.rows[e - 1])) {
        throw Error(name + ": corrupt knn vote: feature " + std::to_string(f) + "'s rows out of range or order");
      }
      if (!std::isfinite(a.values[e])) throw Error(name + ": corrupt knn vote: a non-finite feature value");
    }
  }
  for (size_t r = 0; r < a.num_rows; ++r) {
    if (a.label_ptr[r + 1] < a.label_ptr[r]) throw Error(name + ": corrupt knn vote: label pointers decrease");
  }
  for (size_t e = 0; e < a.label_entries(); ++e) {
    if (a.labels[e] >= a.num_labels) throw Error(name + ": corrupt knn vote: a label out of range");
  }
  auto vote = std::shared_ptr<KnnVote>(new KnnVote());
  vote->params_ = params;
  vote->arrays_ = a;
  vote->owner_ = std::move(owner);
  vote->dense_column_.assign(a.num_features, -1);
  size_t columns = 0;
  for (size_t f = 0; f < a.num_features; ++f) {
    if (a.num_rows > 0 && (a.feature_ptr[f + 1] - a.feature_ptr[f]) * kKnnDenseShare >= a.num_rows) {
      vote->dense_column_[f] = int32_t(columns++);
    }
  }
  vote->dense_.assign(columns * a.num_rows, 0.0f);
  for (size_t f = 0; f < a.num_features; ++f) {
    if (vote->dense_column_[f] < 0) continue;
    float* column = vote->dense_.data() + size_t(vote->dense_column_[f]) * a.num_rows;
    for (uint64_t e = a.feature_ptr[f]; e < a.feature_ptr[f + 1]; ++e) column[a.rows[e]] = a.values[e];
  }
  return vote;
}

void KnnVote::vote(const SparseVectorView& q, KnnWorkspace& ws) const {
  const KnnArrays& a = arrays_;
  ws.similarity.resize(a.num_rows, 0.0f);
  ws.touched.clear();
  ws.nearest.clear();
  const size_t k = size_t(params_.k);
  // Keeps the k nearest in a heap whose top is the farthest kept; `floor`
  // (that one's similarity once k are kept) rejects most rows in one compare.
  float floor = 0.0f;
  auto offer = [&](float sim, uint32_t r) {
    if (!(sim > floor) && !(sim == floor && sim > 0.0f)) return;
    if (ws.nearest.size() < k) {
      ws.nearest.emplace_back(sim, r);
      std::push_heap(ws.nearest.begin(), ws.nearest.end(), nearer);
    } else if (nearer({sim, r}, ws.nearest.front())) {
      std::pop_heap(ws.nearest.begin(), ws.nearest.end(), nearer);
      ws.nearest.back() = {sim, r};
      std::push_heap(ws.nearest.begin(), ws.nearest.end(), nearer);
    } else {
      return;
    }
    if (ws.nearest.size() == k) floor = ws.nearest.front().first;
  };
  size_t work = 0;
  bool dense = false;
  for (size_t i = 0; i < q.nnz; ++i) {
    if (q.indices[i] >= a.num_features) continue;
    work += size_t(a.feature_ptr[q.indices[i] + 1] - a.feature_ptr[q.indices[i]]);
    dense |= dense_column_[q.indices[i]] >= 0;
  }
  // Features ascending, rows ascending within each: the same sums on every
  // path. Where the query reaches many rows (or a dense column, which adds to
  // all), adding without tracking which and scanning them all is cheaper
  // (bibtex's queries add 65k entries).
  const bool scan_all = dense || work >= a.num_rows / 2;
  for (size_t i = 0; i < q.nnz; ++i) {
    const Index f = q.indices[i];
    if (f >= a.num_features) continue;
    const float x = q.values[i];
    const uint32_t* rows = a.rows;
    const float* values = a.values;
    float* sim = ws.similarity.data();
    if (dense_column_[f] >= 0) {
      add_scaled(sim, dense_.data() + size_t(dense_column_[f]) * a.num_rows, x, a.num_rows);
    } else if (scan_all) {
      for (uint64_t e = a.feature_ptr[f]; e < a.feature_ptr[f + 1]; ++e) sim[rows[e]] += x * values[e];
    } else {
      for (uint64_t e = a.feature_ptr[f]; e < a.feature_ptr[f + 1]; ++e) {
        if (sim[rows[e]] == 0.0f) ws.touched.push_back(rows[e]);
        sim[rows[e]] += x * values[e];
      }
    }
  }
  if (scan_all) {
    // Blocks none of whose rows reaches the floor are skipped by one
    // vectorised pass; the rest are offered row by row.
    constexpr size_t kBlock = 256;
    const float* sim = ws.similarity.data();
    for (size_t b = 0; b < a.num_rows; b += kBlock) {
      const size_t end = std::min(a.num_rows, b + kBlock);
      if (!any_at_least(sim + b, end - b, floor)) continue;
      for (size_t r = b; r < end; ++r) {
        if (sim[r] >= floor) offer(sim[r], uint32_t(r));
      }
    }
    std::fill(ws.similarity.begin(), ws.similarity.end(), 0.0f);
  } else {
    // A row whose sum returned to exactly 0 was listed again; offered once.
    for (uint32_t r : ws.touched) {
      offer(ws.similarity[r], r);
      ws.similarity[r] = 0.0f;
    }
  }
  std::sort_heap(ws.nearest.begin(), ws.nearest.end(), nearer);  // nearest first
  // Each label's votes add up nearest first.
  ws.label_votes.resize(a.num_labels, 0.0);
  ws.voted.clear();
  double total = 0;
  for (const auto& [sim, r] : ws.nearest) {
    const double w = std::pow(double(sim), double(params_.power));
    if (!(w > 0)) continue;  // underflowed: no vote (so a voted label's sum is > 0)
    total += w;
    for (uint64_t e = a.label_ptr[r]; e < a.label_ptr[r + 1]; ++e) {
      if (ws.label_votes[a.labels[e]] == 0.0) ws.voted.push_back(a.labels[e]);
      ws.label_votes[a.labels[e]] += w;
    }
  }
  std::sort(ws.voted.begin(), ws.voted.end());  // w > 0, so each label is listed once
  ws.votes.clear();
  for (uint32_t label : ws.voted) {
    ws.votes.emplace_back(label, float(ws.label_votes[label] / total));
    ws.label_votes[label] = 0.0;
  }
}

void KnnVote::fuse_pairs(const SparseVectorView& q, size_t top_k, KnnWorkspace& ws) const {
  vote(q, ws);
  fuse_votes(top_k, params_.weight, ws);
}

void KnnVote::fuse_votes(size_t top_k, float w, KnnWorkspace& ws) const {
  ws.vote_used.assign(ws.votes.size(), 0);
  auto by_label = [](const std::pair<uint32_t, float>& v, uint32_t label) { return v.first < label; };
  for (auto& [label, score] : ws.fused) {
    const auto it = std::lower_bound(ws.votes.begin(), ws.votes.end(), label, by_label);
    float vote = 0;
    if (it != ws.votes.end() && it->first == label) {
      vote = it->second;
      ws.vote_used[size_t(it - ws.votes.begin())] = 1;
    }
    score = (1 - w) * score + w * vote;
  }
  for (size_t i = 0; i < ws.votes.size(); ++i) {
    if (!ws.vote_used[i]) ws.fused.emplace_back(ws.votes[i].first, w * ws.votes[i].second);
  }
  const size_t keep = std::min(top_k, ws.fused.size());
  std::partial_sort(ws.fused.begin(), ws.fused.begin() + keep, ws.fused.end(), better);
  ws.fused.resize(keep);
}

void KnnVote::fuse_scores(const SparseVectorView& q, const uint32_t* labels, size_t n, KnnWorkspace& ws,
                          float* scores) const {
  vote(q, ws);
  const float w = params_.weight;
  auto by_label = [](const std::pair<uint32_t, float>& v, uint32_t label) { return v.first < label; };
  for (size_t i = 0; i < n; ++i) {
    const auto it = std::lower_bound(ws.votes.begin(), ws.votes.end(), labels[i], by_label);
    const float vote = it != ws.votes.end() && it->first == labels[i] ? it->second : 0.0f;
    scores[i] = (1 - w) * scores[i] + w * vote;
  }
}

}  // namespace xmr
