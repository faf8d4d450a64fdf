// Learning-to-rank feature logging: the features of each returned hit, from
// what the search and the stages computed for the query (no extra scoring).
#pragma once

#include <vector>

#include "plugin/pipeline.h"

namespace xmr {

// Places in HitFeatures::values, in hit_feature_names() order.
enum HitFeatureIndex : size_t {
  kOriginalScore,
  kOriginalRank,
  kInWindow,
  kMatched,
  kModelScore,
  kLabelCount,
  kLabelScoreMax,
  kLabelScoreMean,
  kFinalScore,
  kFinalRank,
  kTopCategoryScore,
  kTopCategoryProbability,
  kCategoryMatchScore,
  kCategoryMatchRank,
  kNumFeatures
};

// One HitFeatures per hit of `hits` (the final list), in order, named by
// hit_feature_names(). `retrieved` is the list the search returned (before
// post-retrieval stages), `explanations` the rescoring stage's (one per hit,
// same order, or empty) and `categories` the query's.
std::vector<HitFeatures> hit_features(const std::vector<Hit>& hits, const std::vector<Hit>& retrieved,
                                      const std::vector<HitExplanation>& explanations,
                                      const std::vector<ClassificationResult>& categories);

}  // namespace xmr
