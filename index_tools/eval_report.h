// `xmr eval --report FILE`: one self-contained HTML page (inline SVG, no
// script, no external resource) a person opens in a browser: P@k/R@k/nDCG@k,
// the reliability diagram before and after calibration, precision and
// coverage against a probability threshold, P@1 by label frequency, and the
// labels most often wrong at rank 1.
#pragma once

#include <string>
#include <vector>

#include "core/inference.h"
#include "core/metrics.h"
#include "core/model.h"
#include "core/sparse.h"

namespace xmr::cli {

struct EvalReportInput {
  std::string model_path, data_path;
  const Model* model = nullptr;
  const std::vector<std::vector<ScoredLabel>>* predictions = nullptr;  // raw scores, best first
  const CsrMatrix* truth = nullptr;  // rows x labels (ids >= num_labels: labels the model does not know)
  RankingMetrics metrics;
  int k = 5;
  bool calibrated = false;  // the model's calibration applies to these scores
};

// The page's HTML text.
std::string eval_report_html(const EvalReportInput& in);

}  // namespace xmr::cli
