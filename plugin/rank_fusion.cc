#include "plugin/rank_fusion.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

namespace xmr {

namespace {

// Min-max normalisation of a list's scores.
struct Normaliser {
  double min = 0, range = 0;
  explicit Normaliser(const std::vector<Hit>& hits) {
    if (hits.empty()) return;
    const auto [lo, hi] = std::minmax_element(hits.begin(), hits.end(),
                                              [](const Hit& a, const Hit& b) { return a.score < b.score; });
    min = lo->score;
    range = hi->score - lo->score;
  }
  double operator()(double s) const { return range > 0 ? (s - min) / range : 1.0; }
};

}  // namespace

std::vector<FusedHit> fuse(const std::vector<Hit>& lexical, const std::vector<Hit>& model, const FusionParams& p) {
  std::vector<FusedHit> out;
  out.reserve(lexical.size() + model.size());
  std::unordered_map<int32_t, size_t> place;  // doc -> index in out
  for (size_t i = 0; i < lexical.size(); ++i) {
    place.emplace(lexical[i].doc, out.size());
    FusedHit f;
    f.doc = lexical[i].doc;
    f.lexical_rank = int(i + 1);
    f.lexical_score = lexical[i].score;
    out.push_back(f);
  }
  for (size_t i = 0; i < model.size(); ++i) {
    auto [it, added] = place.emplace(model[i].doc, out.size());
    if (added) {
      out.push_back({});
      out.back().doc = model[i].doc;
    }
    FusedHit& f = out[it->second];
    f.model_rank = int(i + 1);
    f.model_score = model[i].score;
  }
  const Normaliser lexical_norm(lexical), model_norm(model);
  for (FusedHit& f : out) {
    if (p.rule == FusionRule::kRrf) {
      f.score = (f.lexical_rank ? 1.0 / (p.rank_constant + f.lexical_rank) : 0.0) +
                (f.model_rank ? 1.0 / (p.rank_constant + f.model_rank) : 0.0);
    } else {
      f.score = (f.lexical_rank ? p.lexical_weight * lexical_norm(f.lexical_score) : 0.0) +
                (f.model_rank ? p.model_weight * model_norm(f.model_score) : 0.0);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const FusedHit& a, const FusedHit& b) { return a.score > b.score; });
  return out;
}

}  // namespace xmr
