// Query categorization (pre-retrieval): the query text goes through the
// model's own analyzer and TF-IDF, then beam search down the label tree; the
// top labels are the query's categories.
//
// Options (JSON; all but "model" optional):
//   "model"       a model of the pipeline's model store by name, else a model
//                 file path (required); "model_name" the file's resource name
//   "allowed_models"  store names or paths a request may choose instead
//                 (SearchRequest::models), each loaded once
//   "top_k"       categories kept (5), "beam_size" (10), "min_score" (0.0)
//   "min_probability"  keep only categories whose calibrated probability
//                 reaches this (0..1); needs a calibrated model. A model
//                 swapped in without calibration then keeps no category.
//   "mode"        "annotate": only report the categories (default);
//                 "boost": add a SHOULD clause field:category^(boost*weight) per category,
//                          weight = the score, or the probability with "boost_by": "probability"
//                          (which needs a calibrated model; one swapped in without
//                          calibration then adds no clause);
//                 "filter": keep only hits in one of the categories (scores unchanged;
//                           no filter when no category reaches min_score)
//   "field"       the indexed category field ("boost" and "filter" modes)
//   "boost"       weight of the boost clauses (1.0)
#pragma once

#include <memory>

#include "plugin/stage.h"

namespace xmr {

std::unique_ptr<Stage> make_categorize_stage(const StageSpec& spec, StageEnv& env);

}  // namespace xmr
