// The smallest Lucene++ application with xmr: wrap the host's searcher in a
// pipeline, run queries. It builds against an installed xmr only:
//
//   cmake -S examples/minimal_host -B host-build -DCMAKE_PREFIX_PATH=<xmr prefix>
//   cmake --build host-build && host-build/minimal_host INDEX_DIR PIPELINE.json "query" ...
//
// The pipeline loads the xmr plugin by itself (from the install's lib/xmr/, or
// XMR_PLUGIN_PATH) when the config lists no plugin.
#include <lucene++/LuceneHeaders.h>

#include <xmr/pipeline.h>
#include <xmr/plugin_loader.h>
#include <xmr/utf8.h>
#include <xmr/version.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s INDEX_DIR PIPELINE.json \"query text\"...\n", argv[0]);
    return 2;
  }
  try {
    // The host's own searcher and analyzer; the pipeline only reads them.
    Lucene::IndexSearcherPtr searcher = Lucene::newLucene<Lucene::IndexSearcher>(
        Lucene::IndexReader::open(Lucene::FSDirectory::open(xmr::utf8_to_wide(argv[1])), true));
    Lucene::AnalyzerPtr analyzer = Lucene::newLucene<Lucene::StandardAnalyzer>(Lucene::LuceneVersion::LUCENE_30);
    auto pipeline = xmr::Pipeline::create_from_file(argv[2], searcher, analyzer);  // bad config throws here
    for (const auto& plugin : xmr::loaded_plugins()) {
      std::printf("xmr %s, plugin %s %s from %s\n", XMR_VERSION_STRING, plugin.name.c_str(), plugin.version.c_str(),
                  plugin.path.c_str());
    }
    for (int q = 3; q < argc; ++q) {
      xmr::SearchRequest request;
      request.text = argv[q];
      request.num_hits = 5;
      request.explain = true;
      const xmr::SearchResult result = pipeline->search(request);  // thread-safe
      std::printf("query \"%s\"\n", argv[q]);
      for (const auto& c : result.categories) std::printf("  category %.3f  %s\n", c.score, c.label.c_str());
      for (size_t i = 0; i < result.hits.size(); ++i) {
        const Lucene::DocumentPtr doc = searcher->doc(result.hits[i].doc);
        const bool reranked = i < result.explanations.size() && result.explanations[i].matched;
        std::printf("  hit %8.3f%s  %s\n", result.hits[i].score, reranked ? " reranked" : "",
                    xmr::wide_to_utf8(doc->get(L"title")).c_str());
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minimal_host: %s\n", e.what());
    return 1;
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "minimal_host: cannot write to standard output\n");
    return 1;
  }
  return 0;
}
