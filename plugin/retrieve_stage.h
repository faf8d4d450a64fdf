// Retrieval by the model (post-retrieval, "documents are labels"): the
// query's top documents by beam search over a model whose labels are
// document keys, merged with the search's hits by a declared rule, so a
// document whose text never says the query's words can still be found.
//
// The model is trained on (query text -> keys of the documents clicked or
// bought) pairs, and each document's own text as a pseudo-query (xmr train
// --format index --label-field KEY --query-log LOG). Keys are looked up in
// the index's `key_field`, per segment like rerank's labels; a key that is
// not in the index, or whose document was deleted, is skipped.
//
// The search's top `window_size` hits and the model's top `num_candidates`
// documents are fused (plugin/rank_fusion.h); the fused list replaces the
// hits (the search's hits below the window are dropped, as in Elasticsearch's
// rrf retriever). The model side ignores a pre-retrieval stage's filter.
// Explain gives each hit's rank and score on each side.
//
// Options (JSON; all but "model" and "key_field" optional):
//   "model", "model_name", "allowed_models"   as for categorize
//   "key_field"        indexed field holding each document's key (unique)
//   "num_candidates"   documents the model proposes (100); "beam_size" (10)
//   "window_size"      search hits fused (100; 0: the model's documents alone)
//   "fusion"           "rrf" (default) | "weighted"
//   "rank_constant"    rrf's k (60)
//   "lexical_weight", "model_weight"   weighted: weights of the min-max normalised scores (1, 1)
//   "min_model_score"  model documents scoring below this are left out (0)
// Request parameters: num_candidates, window_size, rank_constant, lexical_weight, model_weight.
#pragma once

#include <memory>

#include "plugin/stage.h"

namespace xmr {

std::unique_ptr<Stage> make_retrieve_stage(const StageSpec& spec, StageEnv& env);

}  // namespace xmr
