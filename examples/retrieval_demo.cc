// Documents as labels on the demo catalog: Recall@100 and nDCG@10 of Lucene++
// alone, the retrieve stage alone and the hybrid (reciprocal rank fusion), for
// shopper queries whose words the titles lack, with the model trained on the
// products' own titles plus a click log of other queries.
//
//   retrieval_demo [--products 40000] [--intents 3000] [--work DIR]
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "examples/retrieval_evaluation.h"
#include "plugin/plugin_loader.h"

int main(int argc, char** argv) {
  size_t products = 40000, intents = 3000;
  std::string work;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--products")) products = std::strtoul(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--intents")) intents = std::strtoul(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--work")) work = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--products N] [--intents N] [--work DIR]\n", argv[0]);
      return 2;
    }
  }
  try {
    bool temporary = false;
    if (work.empty()) {
      char tmpl[] = "/tmp/xmr-retrieval-XXXXXX";
      if (!::mkdtemp(tmpl)) throw std::runtime_error("cannot make a temporary directory");
      work = tmpl;
      temporary = true;
    }
    xmr::load_plugin(XMR_PLUGIN_PATH);
    const xmr::RetrievalComparison c = xmr::compare_retrieval(work, products, intents);
    std::printf("\n== documents as labels: %zu products, %zu test queries (%zu logged queries to train on) ==\n",
                c.products, c.test_queries, c.logged_queries);
    std::printf("model: %zu labels (documents), trained in %.1f s on titles + log; file %.1f MB; %.1f MiB resident "
                "when loaded\n",
                c.products, c.train_seconds, c.model_mb, c.model_resident_mib);
    std::printf("%-30s %11s %8s %9s %9s\n", "retrieval", "Recall@100", "nDCG@10", "p50 us", "p99 us");
    const std::pair<const char*, const xmr::RetrievalEvaluation*> rows[] = {
        {"Lucene++ alone", &c.lucene}, {"XMR retriever alone", &c.model_only}, {"hybrid (rrf, k 60)", &c.hybrid}};
    for (const auto& [name, e] : rows) {
      std::printf("%-30s %11.3f %8.3f %9.0f %9.0f\n", name, e->recall100, e->ndcg10, e->p50_us, e->p99_us);
    }
    std::printf("(top 100 per query, one thread; the retriever alone still runs the Lucene++ search it ignores)\n");
    if (temporary) std::system(("rm -rf '" + work + "'").c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "retrieval_demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
