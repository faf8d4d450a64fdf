// Measures what the plugin does for product search, for the demo report and
// its test: categorization P@1/P@3 against a majority-class baseline, and
// nDCG@10 / P@10 of plain Lucene++ against Lucene++ + the pipeline's stages.
//
// A hit is relevant to a query when the hit's categories (the index's
// `category_field`) include the query's deepest category.
#pragma once

#include <lucene++/Lucene.h>

#include <string>
#include <vector>

#include "analyzers/text_dataset.h"

namespace xmr {

class Pipeline;

struct SearchEvaluation {
  size_t queries = 0;
  double categorize_p1 = 0, categorize_p3 = 0;
  std::string majority_label;  // the most frequent category of the index
  double majority_p1 = 0;      // P@1 of always answering it
  double plain_ndcg10 = 0, plain_p10 = 0;
  double pipeline_ndcg10 = 0, pipeline_p10 = 0;
  double plain_p50_us = 0, plain_p99_us = 0;        // per query, one thread
  double pipeline_p50_us = 0, pipeline_p99_us = 0;
};

// Runs every query of `queries` (texts with their categories) through
// `baseline` (plain Lucene++: the same query settings, no stages) and through
// `pipeline`, which must categorize (top 3 or more) for the categorization
// figures.
SearchEvaluation evaluate_search(const Lucene::IndexSearcherPtr& searcher, const Pipeline& baseline,
                                 const Pipeline& pipeline, const TextDataset& queries,
                                 const std::string& category_field);

}  // namespace xmr
