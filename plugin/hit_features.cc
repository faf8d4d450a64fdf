#include "plugin/hit_features.h"

#include <algorithm>
#include <unordered_map>

namespace xmr {

const std::vector<std::string>& hit_feature_names() {
  static const std::vector<std::string> names = {
      "original_score", "original_rank",  "in_window",          "matched",
      "model_score",    "label_count",    "label_score_max",    "label_score_mean",
      "final_score",    "final_rank",     "top_category_score", "top_category_probability",
      "category_match_score", "category_match_rank"};
  return names;
}

std::vector<HitFeatures> hit_features(const std::vector<Hit>& hits, const std::vector<Hit>& retrieved,
                                      const std::vector<HitExplanation>& explanations,
                                      const std::vector<ClassificationResult>& categories) {
  std::unordered_map<int32_t, size_t> retrieved_rank;  // doc -> place in the search's list
  for (size_t i = 0; i < retrieved.size(); ++i) retrieved_rank.emplace(retrieved[i].doc, i);
  std::vector<HitFeatures> out(hits.size());
  for (size_t i = 0; i < hits.size(); ++i) {
    HitFeatures& f = out[i];
    f.doc = hits[i].doc;
    std::vector<double>& v = f.values;
    v.assign(kNumFeatures, 0.0);
    const auto r = retrieved_rank.find(hits[i].doc);
    if (r != retrieved_rank.end()) {
      v[kOriginalScore] = retrieved[r->second].score;
      v[kOriginalRank] = double(r->second + 1);
    }
    v[kFinalScore] = hits[i].score;
    v[kFinalRank] = double(i + 1);
    v[kTopCategoryProbability] = -1;
    if (!categories.empty()) {
      v[kTopCategoryScore] = categories[0].score;
      v[kTopCategoryProbability] = categories[0].probability;
    }
    if (i >= explanations.size() || explanations[i].doc != hits[i].doc) continue;
    const HitExplanation& e = explanations[i];
    v[kInWindow] = e.in_window;
    v[kMatched] = e.matched;
    v[kModelScore] = e.model_score;
    v[kLabelCount] = double(e.labels.size());
    if (!e.labels.empty()) {
      double best = e.labels[0].score, sum = 0;
      for (const auto& l : e.labels) {
        best = std::max(best, double(l.score));
        sum += l.score;
      }
      v[kLabelScoreMax] = best;
      v[kLabelScoreMean] = sum / double(e.labels.size());
    }
    // The best of the query's categories that is one of the hit's labels.
    for (size_t c = 0; c < categories.size(); ++c) {
      const bool hit_has_it = std::any_of(e.labels.begin(), e.labels.end(),
                                          [&](const ClassificationResult& l) { return l.label == categories[c].label; });
      if (hit_has_it) {
        v[kCategoryMatchScore] = categories[c].score;
        v[kCategoryMatchRank] = double(c + 1);
        break;
      }
    }
    f.labels = e.labels;
  }
  return out;
}

}  // namespace xmr
