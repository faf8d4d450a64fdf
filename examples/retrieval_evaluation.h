// Measures document retrieval on test queries with known relevant documents:
// capped Recall@100 (relevant documents in the top 100, over min(relevant,
// 100)) and nDCG@10 (binary gains), and the latency per query on one thread,
// for any pipeline (Lucene++ alone, the retrieve stage alone, the hybrid).
#pragma once

#include <lucene++/Lucene.h>

#include <string>
#include <vector>

#include "examples/shopper_queries.h"

namespace xmr {

class Pipeline;

struct RetrievalEvaluation {
  size_t queries = 0;
  double recall100 = 0, ndcg10 = 0;
  double p50_us = 0, p99_us = 0;
};

// Runs each test query through `pipeline` (100 hits) and compares the hits'
// `key_field` values with the query's relevant keys.
RetrievalEvaluation evaluate_retrieval(const Lucene::IndexSearcherPtr& searcher, const Pipeline& pipeline,
                                       const std::vector<ShopperQuery>& test, const std::string& key_field);

struct RetrievalComparison {
  size_t products = 0, test_queries = 0, logged_queries = 0;
  double train_seconds = 0, model_mb = 0, model_resident_mib = 0;
  RetrievalEvaluation lucene, model_only, hybrid;
};

// The whole experiment in `work_dir` (files are left there): a catalog of
// `products`, shopper queries from `intents`, its index, a documents-as-labels
// model trained on the titles and the click log (default settings), then
// Lucene++ alone, the retrieve stage alone (window_size 0) and the hybrid
// (rrf, k 60) on the test queries. The plugin must be loaded.
RetrievalComparison compare_retrieval(const std::string& work_dir, size_t products, size_t intents);

}  // namespace xmr
