// The demo's report: categorization and search quality with and without the
// plugin's stages on the generated catalog, latency, and example queries.
//
//   product_search_demo --index DIR --config PIPELINE.json --queries QUERIES.jsonl [--plugin LIB.so]
#include <lucene++/LuceneHeaders.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "analyzers/lucene_analyzers.h"
#include "analyzers/text_dataset.h"
#include "analyzers/utf8.h"
#include "examples/search_evaluation.h"
#include "plugin/pipeline.h"
#include "plugin/plugin_loader.h"

int main(int argc, char** argv) {
  std::string index_dir, config, queries_path, plugin = XMR_PLUGIN_PATH;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--index")) index_dir = argv[i + 1];
    else if (!std::strcmp(argv[i], "--config")) config = argv[i + 1];
    else if (!std::strcmp(argv[i], "--queries")) queries_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--plugin")) plugin = argv[i + 1];
  }
  if (index_dir.empty() || config.empty() || queries_path.empty()) {
    std::fprintf(stderr, "usage: %s --index DIR --config PIPELINE.json --queries QUERIES.jsonl [--plugin LIB.so]\n",
                 argv[0]);
    return 2;
  }
  try {
    xmr::load_plugin(plugin);
    Lucene::IndexSearcherPtr searcher = Lucene::newLucene<Lucene::IndexSearcher>(
        Lucene::IndexReader::open(Lucene::FSDirectory::open(xmr::utf8_to_wide(index_dir)), true));
    Lucene::AnalyzerPtr analyzer = xmr::make_lucene_analyzer("standard");
    const auto pipeline = xmr::Pipeline::create_from_file(config, searcher, analyzer);
    const auto baseline = xmr::Pipeline::create(R"({"query": {"default_field": "title"}})", searcher, analyzer);
    const xmr::TextDataset queries = xmr::read_jsonl_dataset(queries_path);
    const xmr::SearchEvaluation e = xmr::evaluate_search(searcher, *baseline, *pipeline, queries, "categories");

    std::printf("\n== xmr product search demo: %d products, %zu shopper queries ==\n\n", searcher->maxDoc(), e.queries);
    std::printf("query categorization   P@1 %.1f%%   P@3 %.1f%%   (majority class \"%s\": P@1 %.1f%%)\n",
                100 * e.categorize_p1, 100 * e.categorize_p3, e.majority_label.c_str(), 100 * e.majority_p1);
    std::printf("search, top 10         nDCG@10 %.3f -> %.3f with reranking;  P@10 %.3f -> %.3f\n", e.plain_ndcg10,
                e.pipeline_ndcg10, e.plain_p10, e.pipeline_p10);
    std::printf("latency per query      Lucene++ alone p50 %.0f us, p99 %.0f us;  with categorize + rerank p50 %.0f us,"
                " p99 %.0f us\n",
                e.plain_p50_us, e.plain_p99_us, e.pipeline_p50_us, e.pipeline_p99_us);
    std::printf("(relevant hit = shares the query's deepest category; one thread)\n\n");

    xmr::SearchRequest r;
    r.num_hits = 3;
    const size_t step = std::max<size_t>(1, queries.size() / 6);
    for (size_t i = 0; i < queries.size() && i < 6 * step; i += step) {
      r.text = queries.texts[i];
      const xmr::SearchResult res = pipeline->search(r);
      std::printf("\"%s\"\n  categories:", r.text.c_str());
      for (const auto& c : res.categories) std::printf("  %s (%.2f)", c.label.c_str(), c.score);
      std::printf("\n");
      for (const auto& h : res.hits) {
        std::printf("  hit: %s\n", xmr::wide_to_utf8(searcher->doc(h.doc)->get(L"title")).c_str());
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "product_search_demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
