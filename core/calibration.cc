#include "core/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "core/metrics.h"
#include "core/rng.h"

namespace xmr {

namespace {

// Isotonic regression of the outcomes on the scores of `pairs` (indices).
template <typename MapT>
MapT fit_map(const std::vector<float>& scores, const std::vector<char>& relevant, std::vector<size_t> order) {
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Pool adjacent violators in score order; equal scores form one block from
  // the start, so the map is a function of the score.
  struct Block {
    double score_sum, hits, count;
  };
  std::vector<Block> blocks;
  for (size_t i = 0; i < order.size();) {
    Block b{0, 0, 0};
    const float s = scores[order[i]];
    for (; i < order.size() && scores[order[i]] == s; ++i) {
      b.score_sum += s;
      b.hits += relevant[order[i]] ? 1 : 0;
      b.count += 1;
    }
    blocks.push_back(b);
    while (blocks.size() >= 2) {
      const Block& hi = blocks.back();
      const Block& lo = blocks[blocks.size() - 2];
      if (lo.hits / lo.count < hi.hits / hi.count) break;
      const Block merged{lo.score_sum + hi.score_sum, lo.hits + hi.hits, lo.count + hi.count};
      blocks.pop_back();
      blocks.back() = merged;
    }
  }
  MapT m;
  for (const Block& b : blocks) {
    const float x = float(b.score_sum / b.count), y = float(b.hits / b.count);
    // Block means increase strictly in exact arithmetic; float rounding can
    // tie two: keep the later (higher) probability.
    if (!m.score.empty() && x <= m.score.back()) {
      m.probability.back() = std::max(m.probability.back(), y);
      continue;
    }
    m.score.push_back(x);
    m.probability.push_back(y);
  }
  return m;
}

}  // namespace

Calibration Calibration::fit(const std::vector<float>& scores, const std::vector<char>& relevant,
                             const std::vector<uint32_t>& ranks) {
  if (scores.size() != relevant.size() || scores.size() != ranks.size()) {
    throw Error("calibration: scores, outcomes and ranks differ in count");
  }
  if (scores.empty()) throw Error("calibration: no predictions to fit on");
  std::vector<std::vector<size_t>> by_rank(kCalibratedRanks);
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) throw Error("calibration: a score is not finite");
    if (ranks[i] == 0) throw Error("calibration: ranks start at 1");
    by_rank[std::min<size_t>(ranks[i], kCalibratedRanks) - 1].push_back(i);
  }
  Calibration c;
  c.fitted_pairs_ = scores.size();
  // Ranks with no pairs (every row listed fewer labels) take the map above.
  size_t last = 0;
  while (last < kCalibratedRanks && !by_rank[last].empty()) ++last;
  for (size_t r = 0; r < last; ++r) c.maps_.push_back(fit_map<Map>(scores, relevant, by_rank[r]));
  return c;
}

float Calibration::Map::at(float s) const {
  if (!(s > score.front())) return probability.front();  // also NaN
  if (s >= score.back()) return probability.back();
  const size_t hi = size_t(std::upper_bound(score.begin(), score.end(), s) - score.begin());
  const size_t lo = hi - 1;
  const float t = (s - score[lo]) / (score[hi] - score[lo]);
  return probability[lo] + t * (probability[hi] - probability[lo]);
}

float Calibration::probability(float score, size_t rank) const {
  if (maps_.empty()) return std::min(1.0f, std::max(0.0f, score));
  const size_t r = std::min(std::max<size_t>(rank, 1), maps_.size()) - 1;
  return maps_[r].at(score);
}

void Calibration::apply(std::vector<ScoredLabel>& ranked) const {
  float above = 1.0f;
  for (size_t r = 0; r < ranked.size(); ++r) {
    above = std::min(above, probability(ranked[r].score, r + 1));
    ranked[r].score = above;
  }
}

size_t Calibration::num_knots() const {
  size_t n = 0;
  for (const Map& m : maps_) n += m.score.size();
  return n;
}

std::string Calibration::serialize() const {
  std::string out;
  auto put = [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  const uint64_t maps = maps_.size();
  put(&maps, sizeof maps);
  for (const Map& m : maps_) {
    const uint64_t n = m.score.size();
    put(&n, sizeof n);
    put(m.score.data(), n * sizeof(float));
    put(m.probability.data(), n * sizeof(float));
  }
  return out;
}

Calibration Calibration::deserialize(const std::string& bytes, size_t fitted_pairs, const std::string& name) {
  auto fail = [&](const std::string& what) { return Error(name + ": corrupt model: calibration: " + what); };
  size_t at = 0;
  auto take_count = [&](const char* what) {
    uint64_t n = 0;
    if (bytes.size() - at < sizeof n) throw fail(std::string("truncated before its ") + what);
    std::memcpy(&n, bytes.data() + at, sizeof n);
    at += sizeof n;
    return n;
  };
  const uint64_t maps = take_count("map count");
  if (maps == 0 || maps > kCalibratedRanks) throw fail(std::to_string(maps) + " maps (1.." + std::to_string(kCalibratedRanks) + " expected)");
  Calibration c;
  c.fitted_pairs_ = fitted_pairs;
  for (uint64_t k = 0; k < maps; ++k) {
    const uint64_t n = take_count("knot count");
    if (n == 0 || n > (bytes.size() - at) / (2 * sizeof(float))) {
      throw fail("map " + std::to_string(k + 1) + " claims " + std::to_string(n) + " knots, more than the section holds");
    }
    Map m;
    m.score.resize(n);
    m.probability.resize(n);
    std::memcpy(m.score.data(), bytes.data() + at, n * sizeof(float));
    at += n * sizeof(float);
    std::memcpy(m.probability.data(), bytes.data() + at, n * sizeof(float));
    at += n * sizeof(float);
    for (size_t i = 0; i < n; ++i) {
      const float x = m.score[i], y = m.probability[i];
      if (!std::isfinite(x) || !std::isfinite(y)) throw fail("a knot is not finite");
      if (!(y >= 0 && y <= 1)) throw fail("a probability is outside [0, 1]");
      if (i > 0 && !(x > m.score[i - 1])) throw fail("knot scores do not increase");
      if (i > 0 && y < m.probability[i - 1]) throw fail("knot probabilities decrease");
    }
    c.maps_.push_back(std::move(m));
  }
  if (at != bytes.size()) throw fail("bytes after the last map");
  return c;
}

void collect_pairs(const std::vector<std::vector<ScoredLabel>>& predictions, const CsrMatrix& truth,
                   std::vector<float>& scores, std::vector<char>& relevant, std::vector<uint32_t>& ranks) {
  if (predictions.size() != truth.rows) throw Error("calibration: predictions and truth differ in rows");
  for (size_t i = 0; i < predictions.size(); ++i) {
    for (size_t r = 0; r < predictions[i].size(); ++r) {
      scores.push_back(predictions[i][r].score);
      relevant.push_back(is_relevant(truth, i, predictions[i][r].label) ? 1 : 0);
      ranks.push_back(uint32_t(r + 1));
    }
  }
}

std::vector<ThresholdRow> threshold_table(const std::vector<std::vector<ScoredLabel>>& probabilities,
                                          const CsrMatrix& truth, const std::vector<float>& thresholds) {
  if (probabilities.size() != truth.rows) throw Error("calibration: predictions and truth differ in rows");
  std::vector<ThresholdRow> rows;
  const double relevant_total = double(truth.nnz());
  for (float t : thresholds) {
    size_t kept = 0, hits = 0, covered = 0;
    for (size_t i = 0; i < probabilities.size(); ++i) {
      bool any = false;
      for (const ScoredLabel& s : probabilities[i]) {
        if (s.score < t) continue;
        ++kept;
        any = true;
        hits += is_relevant(truth, i, s.label);
      }
      covered += any;
    }
    ThresholdRow r;
    r.threshold = t;
    r.precision = kept ? double(hits) / double(kept) : 0.0;
    r.recall = relevant_total > 0 ? double(hits) / relevant_total : 0.0;
    r.coverage = probabilities.empty() ? 0.0 : double(covered) / double(probabilities.size());
    rows.push_back(r);
  }
  return rows;
}

std::vector<ReliabilityBin> reliability_bins(const std::vector<std::vector<ScoredLabel>>& probabilities,
                                             const CsrMatrix& truth, int k) {
  constexpr int kBins = 10;
  std::vector<ReliabilityBin> bins(kBins);
  for (size_t i = 0; i < probabilities.size(); ++i) {
    for (size_t r = 0; r < probabilities[i].size() && r < size_t(k); ++r) {
      const float p = std::min(1.0f, std::max(0.0f, probabilities[i][r].score));
      ReliabilityBin& b = bins[size_t(std::min(kBins - 1, int(p * kBins)))];
      b.probability_sum += p;
      b.relevant += is_relevant(truth, i, probabilities[i][r].label);
      ++b.count;
    }
  }
  return bins;
}

CalibrationMetrics calibration_metrics(const std::vector<std::vector<ScoredLabel>>& probabilities,
                                       const CsrMatrix& truth, int k) {
  if (probabilities.size() != truth.rows) throw Error("calibration: predictions and truth differ in rows");
  auto ece = [&](int ranks) {
    size_t total = 0;
    double e = 0;
    const std::vector<ReliabilityBin> bins = reliability_bins(probabilities, truth, ranks);
    for (const ReliabilityBin& b : bins) total += b.count;
    for (const ReliabilityBin& b : bins) e += std::fabs(b.probability_sum - b.relevant) / double(std::max<size_t>(1, total));
    return e;
  };
  CalibrationMetrics m;
  m.ece_at_1 = ece(1);
  m.ece_at_k = ece(k);
  double brier = 0;
  for (size_t i = 0; i < probabilities.size(); ++i) {
    const float p = probabilities[i].empty() ? 0.0f : std::min(1.0f, std::max(0.0f, probabilities[i][0].score));
    const double y = probabilities[i].empty() ? 0.0 : double(is_relevant(truth, i, probabilities[i][0].label));
    brier += (p - y) * (p - y);
  }
  m.brier_at_1 = probabilities.empty() ? 0.0 : brier / double(probabilities.size());
  return m;
}

EceFloor ece_at_1_floor(const std::vector<std::vector<ScoredLabel>>& probabilities, int draws, uint64_t seed) {
  constexpr int kBins = 10;
  std::vector<double> eces;
  for (int d = 0; d < draws; ++d) {
    double p_sum[kBins] = {}, y_sum[kBins] = {};
    size_t n = 0;
    for (size_t i = 0; i < probabilities.size(); ++i) {
      if (probabilities[i].empty()) continue;
      const float p = std::min(1.0f, std::max(0.0f, probabilities[i][0].score));
      const int b = std::min(kBins - 1, int(p * kBins));
      const double u = double(splitmix64(mix_seed({seed, uint64_t(d), i})) >> 11) / double(uint64_t(1) << 53);
      p_sum[b] += p;
      y_sum[b] += u < p ? 1 : 0;
      ++n;
    }
    double e = 0;
    for (int b = 0; b < kBins; ++b) e += std::fabs(p_sum[b] - y_sum[b]);
    eces.push_back(n ? e / double(n) : 0.0);
  }
  EceFloor f;
  if (eces.empty()) return f;
  for (double e : eces) f.mean += e;
  f.mean /= double(eces.size());
  std::sort(eces.begin(), eces.end());
  f.p95 = eces[std::min(eces.size() - 1, size_t(std::ceil(0.95 * double(eces.size()))) - 1)];
  return f;
}

}  // namespace xmr
