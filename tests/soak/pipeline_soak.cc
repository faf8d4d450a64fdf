// Soak test of the plugin pipeline: N threads query a real on-disk Lucene++
// index for a fixed time while the model is swapped between two versions
// every few hundred milliseconds. Every answer must equal what model A or
// model B gives alone (never a mix, never an error). Reports queries served,
// latency p50/p99, swaps and resident memory at the start and the end.
//
//   pipeline_soak [--seconds 60] [--threads 8] [--swap-ms 300]
//
// Data: the shared flipkart set when ../shared/datasets is present (titles
// indexed, model trained from the index), else a generated product catalog.
// Exit code 1 if any query failed or mixed models.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>
#include <unistd.h>

#include "analyzers/lucene_analyzers.h"
#include "analyzers/lucene_index.h"
#include "analyzers/text_model.h"
#include "analyzers/utf8.h"
#include "examples/catalog.h"
#include "plugin/pipeline.h"
#include "tests/plugin/search_outcome.h"

#include <lucene++/LuceneHeaders.h>

namespace xmr {
namespace {

using Clock = std::chrono::steady_clock;

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return double(resident) * double(::sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

using Outcome = testing::SearchOutcome;
using testing::outcome_of;

int run(int argc, char** argv) {
  double seconds = 60;
  int threads = 8, swap_ms = 300;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--swap-ms")) swap_ms = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: pipeline_soak [--seconds S] [--threads N] [--swap-ms MS]\n");
      return 2;
    }
  }
  if (seconds <= 0 || threads < 1 || swap_ms < 1) {
    std::fprintf(stderr, "pipeline_soak: --seconds, --threads and --swap-ms must be positive\n");
    return 2;
  }
  char tmpl[] = "/tmp/xmr-soak-XXXXXX";
  if (!::mkdtemp(tmpl)) return 2;
  const std::string dir = tmpl;
  const std::string flipkart = std::string(XMR_DATASETS_DIR) + "/flipkart";
  struct stat st;
  const bool real = ::stat((flipkart + "/train.jsonl").c_str(), &st) == 0;
  std::string text_field = "text", label_field = "labels";
  std::vector<std::string> queries;
  IndexSpec spec;
  if (real) {
    spec.text_fields = {"text"};
    spec.label_fields = {"labels"};
    build_lucene_index(flipkart + "/train.jsonl", dir + "/index", spec);
    queries = read_jsonl_dataset(flipkart + "/test.jsonl").texts;
  } else {
    CatalogParams cp;
    cp.products = 8000;
    cp.queries = 500;
    const Catalog c = generate_catalog(cp);
    write_catalog_products(c, dir + "/products.jsonl");
    for (const auto& q : c.queries) queries.push_back(q.text);
    text_field = "title";
    label_field = "categories";
    spec.text_fields = {"title"};
    spec.label_fields = {"categories"};
    build_lucene_index(dir + "/products.jsonl", dir + "/index", spec);
  }
  queries.resize(std::min<size_t>(queries.size(), 500));
  const TextDataset train = read_lucene_index(dir + "/index", text_field, label_field);
  TextModel::train(train, default_vectorizer_config(), default_text_train_params()).save(dir + "/a.xmr");
  TrainParams other = default_text_train_params();
  other.negatives = NegativeSampling::kTeacherForced;
  other.seed = 1;
  TextModel::train(train, default_vectorizer_config(), other).save(dir + "/b.xmr");

  Lucene::DirectoryPtr d = Lucene::FSDirectory::open(utf8_to_wide(dir + "/index"));
  const Lucene::IndexSearcherPtr searcher =
      Lucene::newLucene<Lucene::IndexSearcher>(Lucene::IndexReader::open(d, true));
  const Lucene::AnalyzerPtr analyzer = make_lucene_analyzer("standard");
  auto make = [&](const std::string& model) {
    const std::string config = R"({"plugins": [")" XMR_PLUGIN_PATH R"("], "query": {"default_field": ")" +
                               text_field + R"("}, "stages": [
        {"type": "categorize", "model": ")" + model + R"(", "model_name": "products", "top_k": 3},
        {"type": "rerank", "model": ")" + model + R"(", "model_name": "products", "label_field": ")" + label_field +
                               R"(", "window_size": 50, "rescore_query_weight": 5, "label_score": "sum"}]})";
    return Pipeline::create(config, searcher, analyzer, PipelineOptions{dir});
  };
  std::vector<Outcome> expect_a, expect_b;
  {
    const auto pa = make("a.xmr"), pb = make("b.xmr");
    SearchRequest r;
    for (const std::string& q : queries) {
      r.text = q;
      expect_a.push_back(outcome_of(pa->search(r)));
      expect_b.push_back(outcome_of(pb->search(r)));
    }
  }
  const auto live = make("a.xmr");
  const double rss_start = rss_mib();

  std::atomic<bool> stop{false};
  std::atomic<size_t> served{0}, from_a{0}, from_b{0}, mixed{0}, failed{0};
  std::vector<std::vector<float>> latency_us(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      SearchRequest r;
      auto& lat = latency_us[size_t(t)];
      for (size_t i = size_t(t) * 37 % queries.size(); !stop; i = (i + 1) % queries.size()) {
        r.text = queries[i];
        const auto t0 = Clock::now();
        try {
          const Outcome o = outcome_of(live->search(r));
          lat.push_back(float(std::chrono::duration<double, std::micro>(Clock::now() - t0).count()));
          (o == expect_a[i] ? from_a : o == expect_b[i] ? from_b : mixed)++;
        } catch (const std::exception& e) {
          if (failed++ == 0) std::fprintf(stderr, "pipeline_soak: query failed: %s\n", e.what());
        }
        served++;
      }
    });
  }
  size_t swaps = 0, failed_swaps = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  for (bool to_b = true; Clock::now() < end; to_b = !to_b) {
    std::this_thread::sleep_for(std::chrono::milliseconds(swap_ms));
    try {
      live->reload("products", dir + (to_b ? "/b.xmr" : "/a.xmr"));
      ++swaps;
    } catch (const std::exception& e) {
      ++failed_swaps;
      std::fprintf(stderr, "pipeline_soak: swap failed: %s\n", e.what());
    }
  }
  stop = true;
  for (auto& th : pool) th.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<float> all;
  for (const auto& l : latency_us) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) { return all.empty() ? 0.0 : double(all[std::min(all.size() - 1, size_t(q * all.size()))]); };
  std::printf("pipeline_soak: %s, %d threads, %.1f s, swap every %d ms\n", real ? "flipkart" : "generated catalog",
              threads, elapsed, swap_ms);
  std::printf("  queries served %zu (%.0f/s): %zu from model A, %zu from model B, %zu mixed, %zu failed\n",
              served.load(), double(served.load()) / elapsed, from_a.load(), from_b.load(), mixed.load(),
              failed.load());
  std::printf("  latency p50 %.0f us, p99 %.0f us; swaps %zu (%zu failed)\n", pct(0.5), pct(0.99), swaps, failed_swaps);
  std::printf("  resident memory %.1f MiB at start, %.1f MiB at end\n", rss_start, rss_mib());
  std::system(("rm -rf '" + dir + "'").c_str());
  return failed == 0 && mixed == 0 && failed_swaps == 0 && from_a > 0 && from_b > 0 ? 0 : 1;
}

}  // namespace
}  // namespace xmr

int main(int argc, char** argv) {
  try {
    return xmr::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pipeline_soak: error: %s\n", e.what());
    return 1;
  }
}
