// Reranking (post-retrieval) with Elasticsearch/Solr rescore semantics.
//
// The top `window_size` hits are rescored: each hit's labels (the indexed
// terms of `label_field` that are labels of the model) are scored against
// the query by the model's pair scoring (exactly the score beam search would
// give the label), combined over the hit's labels, and merged with the
// original score:
//   total:    query_weight * original + rescore_query_weight * model
//   multiply: (query_weight * original) * (rescore_query_weight * model)
//   avg:      the mean of the two terms; max, min: the larger / smaller term
// A hit none of whose labels the model knows keeps query_weight * original
// (it "does not match the rescore query"). The window is re-sorted by the new
// score; hits below the window keep their scores and order beneath it.
//
// "Documents are labels": point label_field at a unique key field whose
// values are the model's labels (e.g. a model trained on query -> clicked
// document); each hit then has exactly one label.
//
// Options (JSON; all but "model" and "label_field" optional):
//   "model", "model_name", "allowed_models"   as for categorize
//   "label_field"           indexed field holding the hit's label(s)
//   "window_size" (10), "query_weight" (1.0), "rescore_query_weight" (1.0)
//   "score_mode"            "total" (default) | "multiply" | "avg" | "max" | "min"
//   "label_score"           how a hit's label scores combine: "max" (default) | "mean" | "sum"
#pragma once

#include <memory>

#include "plugin/stage.h"

namespace xmr {

std::unique_ptr<Stage> make_rerank_stage(const StageSpec& spec, StageEnv& env);

}  // namespace xmr
