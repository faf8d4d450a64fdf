// The smallest Lucene++ application with xmr: load the plugin, wrap the
// searcher in a pipeline, run a query.
//
//   minimal_host PLUGIN.so INDEX_DIR PIPELINE.json "query text"
#include <lucene++/LuceneHeaders.h>

#include <cstdio>

#include "analyzers/utf8.h"
#include "plugin/pipeline.h"
#include "plugin/plugin_loader.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s PLUGIN.so INDEX_DIR PIPELINE.json \"query text\"\n", argv[0]);
    return 2;
  }
  try {
    xmr::load_plugin(argv[1]);  // checks the plugin's ABI and build, once per process
    // The host's own searcher and analyzer; the pipeline only reads them.
    Lucene::IndexSearcherPtr searcher = Lucene::newLucene<Lucene::IndexSearcher>(
        Lucene::IndexReader::open(Lucene::FSDirectory::open(xmr::utf8_to_wide(argv[2])), true));
    Lucene::AnalyzerPtr analyzer = Lucene::newLucene<Lucene::StandardAnalyzer>(Lucene::LuceneVersion::LUCENE_30);
    auto pipeline = xmr::Pipeline::create_from_file(argv[3], searcher, analyzer);

    xmr::SearchRequest request;
    request.text = argv[4];
    request.num_hits = 5;
    const xmr::SearchResult result = pipeline->search(request);  // thread-safe
    for (const auto& c : result.categories) std::printf("category %.3f  %s\n", c.score, c.label.c_str());
    for (const auto& hit : result.hits) {
      const Lucene::DocumentPtr doc = searcher->doc(hit.doc);
      std::printf("hit %8.3f  %s\n", hit.score, xmr::wide_to_utf8(doc->get(L"title")).c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minimal_host: %s\n", e.what());
    return 1;
  }
  return 0;
}
