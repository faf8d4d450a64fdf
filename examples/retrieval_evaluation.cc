#include "examples/retrieval_evaluation.h"

#include <lucene++/LuceneHeaders.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <unordered_set>

#include <unistd.h>

#include "analyzers/lucene_analyzers.h"
#include "analyzers/lucene_index.h"
#include "analyzers/query_log.h"
#include "analyzers/text_model.h"
#include "analyzers/utf8.h"
#include "plugin/pipeline.h"

namespace xmr {

namespace {

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return double(resident) * double(::sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

}  // namespace

RetrievalEvaluation evaluate_retrieval(const Lucene::IndexSearcherPtr& searcher, const Pipeline& pipeline,
                                       const std::vector<ShopperQuery>& test, const std::string& key_field) {
  const std::wstring field = utf8_to_wide(key_field);
  // Keys by doc id, read once (stored fields are slow next to the searches timed).
  std::vector<std::string> key_of(size_t(searcher->maxDoc()));
  for (int32_t d = 0; d < searcher->maxDoc(); ++d) {
    if (!searcher->getIndexReader()->isDeleted(d)) key_of[size_t(d)] = wide_to_utf8(searcher->doc(d)->get(field));
  }
  RetrievalEvaluation e;
  std::vector<double> micros;
  SearchRequest r;
  r.num_hits = 100;
  for (const ShopperQuery& q : test) {
    if (q.keys.empty()) continue;
    r.text = q.text;
    const auto t0 = std::chrono::steady_clock::now();
    const SearchResult res = pipeline.search(r);
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    const std::unordered_set<std::string> relevant(q.keys.begin(), q.keys.end());
    size_t found = 0;
    double dcg = 0, ideal = 0;
    for (size_t i = 0; i < res.hits.size(); ++i) {
      const bool rel = relevant.count(key_of[size_t(res.hits[i].doc)]) > 0;
      found += rel;
      if (i < 10 && rel) dcg += 1.0 / std::log2(double(i) + 2);
    }
    for (size_t i = 0; i < std::min<size_t>(10, relevant.size()); ++i) ideal += 1.0 / std::log2(double(i) + 2);
    e.recall100 += double(found) / double(std::min<size_t>(100, relevant.size()));
    e.ndcg10 += dcg / ideal;
    ++e.queries;
  }
  if (e.queries > 0) {
    e.recall100 /= double(e.queries);
    e.ndcg10 /= double(e.queries);
    std::sort(micros.begin(), micros.end());
    e.p50_us = micros[micros.size() / 2];
    e.p99_us = micros[std::min(micros.size() - 1, size_t(0.99 * double(micros.size())))];
  }
  return e;
}

RetrievalComparison compare_retrieval(const std::string& work_dir, size_t products, size_t intents) {
  CatalogParams cp;
  cp.products = products;
  cp.queries = 0;
  const Catalog catalog = generate_catalog(cp);
  write_catalog_products(catalog, work_dir + "/products.jsonl");
  ShopperQueryParams qp;
  qp.intents = intents;
  const ShopperQueries queries = make_shopper_queries(catalog, qp);
  write_shopper_queries(queries.log, work_dir + "/log.jsonl");
  write_shopper_queries(queries.test, work_dir + "/test.jsonl");

  IndexSpec spec;
  spec.text_fields = {"title"};
  spec.label_fields = {"categories"};
  spec.key_field = "id";
  spec.overwrite = true;
  build_lucene_index(work_dir + "/products.jsonl", work_dir + "/index", spec);

  RetrievalComparison out;
  out.products = catalog.products.size();
  out.test_queries = queries.test.size();
  const auto t0 = std::chrono::steady_clock::now();
  TextDataset data = read_lucene_index(work_dir + "/index", "title", "id");
  std::unordered_set<std::string> keys;
  for (const auto& l : data.labels) keys.insert(l.begin(), l.end());
  out.logged_queries = append_query_log(work_dir + "/log.jsonl", keys, data).added;
  TextModel::train(std::move(data), default_vectorizer_config(), default_text_train_params())
      .save(work_dir + "/docs.xmr");
  out.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.model_mb = double(std::ifstream(work_dir + "/docs.xmr", std::ios::ate | std::ios::binary).tellg()) / 1e6;

  Lucene::IndexSearcherPtr searcher = Lucene::newLucene<Lucene::IndexSearcher>(
      Lucene::IndexReader::open(Lucene::FSDirectory::open(utf8_to_wide(work_dir + "/index")), true));
  Lucene::AnalyzerPtr analyzer = make_lucene_analyzer("standard");
  PipelineOptions options;
  options.base_dir = work_dir;
  const std::string query = R"("query": {"default_field": "title"})";
  const auto lucene = Pipeline::create("{" + query + "}", searcher, analyzer, options);
  const double rss_before = rss_mib();
  const auto model_only = Pipeline::create(
      "{" + query + R"(, "stages": [{"type": "retrieve", "model": "docs.xmr", "key_field": "id", "window_size": 0}]})",
      searcher, analyzer, options);
  out.model_resident_mib = rss_mib() - rss_before;
  const auto hybrid = Pipeline::create(
      "{" + query + R"(, "stages": [{"type": "retrieve", "model": "docs.xmr", "key_field": "id"}]})", searcher,
      analyzer, options);
  out.lucene = evaluate_retrieval(searcher, *lucene, queries.test, "id");
  out.model_only = evaluate_retrieval(searcher, *model_only, queries.test, "id");
  out.hybrid = evaluate_retrieval(searcher, *hybrid, queries.test, "id");
  return out;
}

}  // namespace xmr
