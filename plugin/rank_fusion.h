// Merging a lexical hit list (Lucene's) with a learned one (an XMR model's
// documents) into one ranking, as hybrid search does:
//
//   rrf:      score(d) = sum over the lists that have d of 1 / (rank_constant + rank),
//             rank from 1 (Cormack, Clarke and Buettcher, SIGIR 2009; Elasticsearch's
//             and OpenSearch's "rrf" with rank_constant 60 by default)
//   weighted: score(d) = lexical_weight * norm(lexical score) + model_weight * norm(model score),
//             norm = min-max over that list ((s - min) / (max - min), 1 when all equal);
//             a list without d adds 0
//
// The fused list holds every document of either list once, best first; ties
// keep the lexical list's order, then the model list's.
#pragma once

#include <cstdint>
#include <vector>

#include "plugin/stage.h"

namespace xmr {

enum class FusionRule { kRrf, kWeighted };

struct FusionParams {
  FusionRule rule = FusionRule::kRrf;
  double rank_constant = 60;
  double lexical_weight = 1, model_weight = 1;
};

struct FusedHit {
  int32_t doc = 0;
  double score = 0;
  int lexical_rank = 0, model_rank = 0;  // from 1; 0 when that list does not have the document
  double lexical_score = 0, model_score = 0;
};

// `lexical` and `model` are each best first, a document at most once per list.
std::vector<FusedHit> fuse(const std::vector<Hit>& lexical, const std::vector<Hit>& model, const FusionParams& p);

}  // namespace xmr
