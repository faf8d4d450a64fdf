// Soak test of the plugin pipeline: N threads query a real on-disk Lucene++
// index for a fixed time while the model is swapped between two versions
// every few hundred milliseconds. Every answer must equal what model A or
// model B gives alone (never a mix, never an error). Reports queries served,
// latency p50/p99, swaps and resident memory at the start and the end.
//
// With --reopen-ms, a writer also adds a batch of documents (and deletes the
// batch before last) that often, reopens the reader and hands it to the
// pipeline (Pipeline::set_searcher), closing the old reader at once. Hits
// then change with the index, so only the categories are compared with
// models A and B; no query may fail.
//
//   pipeline_soak [--seconds 60] [--threads 8] [--swap-ms 300] [--reopen-ms 0]
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
  int threads = 8, swap_ms = 300, reopen_ms = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--swap-ms")) swap_ms = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reopen-ms")) reopen_ms = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: pipeline_soak [--seconds S] [--threads N] [--swap-ms MS] [--reopen-ms MS]\n");
      return 2;
    }
  }
  if (seconds <= 0 || threads < 1 || swap_ms < 1 || reopen_ms < 0) {
    std::fprintf(stderr, "pipeline_soak: --seconds, --threads and --swap-ms must be positive, --reopen-ms >= 0\n");
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
  Lucene::IndexReaderPtr reader = Lucene::IndexReader::open(d, true);
  const Lucene::IndexSearcherPtr searcher = Lucene::newLucene<Lucene::IndexSearcher>(reader);
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
          Outcome o = outcome_of(live->search(r));
          lat.push_back(float(std::chrono::duration<double, std::micro>(Clock::now() - t0).count()));
          if (reopen_ms > 0) {  // the index changes under the hits: compare the categories
            o.hits.clear();
            auto categories_of = [](Outcome e) {
              e.hits.clear();
              return e;
            };
            (o == categories_of(expect_a[i]) ? from_a : o == categories_of(expect_b[i]) ? from_b : mixed)++;
          } else {
            (o == expect_a[i] ? from_a : o == expect_b[i] ? from_b : mixed)++;
          }
        } catch (const std::exception& e) {
          if (failed++ == 0) std::fprintf(stderr, "pipeline_soak: query failed: %s\n", e.what());
        }
        served++;
      }
    });
  }
  size_t swaps = 0, failed_swaps = 0;
  std::atomic<size_t> reopens{0}, failed_reopens{0}, docs_added{0};
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::thread writer;
  if (reopen_ms > 0) {
    writer = std::thread([&] {
      Lucene::IndexWriterPtr w = Lucene::newLucene<Lucene::IndexWriter>(d, analyzer, false,
                                                                        Lucene::IndexWriter::MaxFieldLengthUNLIMITED);
      for (int batch = 0; Clock::now() + std::chrono::milliseconds(reopen_ms) < end; ++batch) {
        std::this_thread::sleep_for(std::chrono::milliseconds(reopen_ms));
        try {
          // 20 copies of indexed products under a batch tag; the batch before last goes.
          for (int j = 0; j < 20; ++j) {
            const size_t source = (size_t(batch) * 20 + size_t(j)) % train.texts.size();
            Lucene::DocumentPtr doc = Lucene::newLucene<Lucene::Document>();
            doc->add(Lucene::newLucene<Lucene::Field>(utf8_to_wide(text_field), utf8_to_wide(train.texts[source]),
                                                      Lucene::Field::STORE_YES, Lucene::Field::INDEX_ANALYZED));
            for (const auto& l : train.labels[source]) {
              doc->add(Lucene::newLucene<Lucene::Field>(utf8_to_wide(label_field), utf8_to_wide(l),
                                                        Lucene::Field::STORE_YES, Lucene::Field::INDEX_NOT_ANALYZED));
            }
            doc->add(Lucene::newLucene<Lucene::Field>(L"soak_batch", utf8_to_wide(std::to_string(batch)),
                                                      Lucene::Field::STORE_NO, Lucene::Field::INDEX_NOT_ANALYZED));
            w->addDocument(doc);
          }
          if (batch >= 2) {
            w->deleteDocuments(Lucene::newLucene<Lucene::Term>(L"soak_batch", utf8_to_wide(std::to_string(batch - 2))));
          }
          w->commit();
          docs_added += 20;
          const Lucene::IndexReaderPtr old = reader;
          reader = reader->reopen();
          live->set_searcher(Lucene::newLucene<Lucene::IndexSearcher>(reader));
          old->close();  // queries still on it keep it open until they finish
          ++reopens;
        } catch (const std::exception& e) {
          if (failed_reopens++ == 0) std::fprintf(stderr, "pipeline_soak: reopen failed: %s\n", e.what());
        }
      }
      w->close();
    });
  }
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
  if (writer.joinable()) writer.join();
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
  if (reopen_ms > 0) {
    std::printf("  index reopened %zu times (%zu failed), %zu documents added; the pipeline counted %zu\n",
                reopens.load(), failed_reopens.load(), docs_added.load(), size_t(live->stats().searcher_changes));
  }
  std::printf("  resident memory %.1f MiB at start, %.1f MiB at end\n", rss_start, rss_mib());
  std::system(("rm -rf '" + dir + "'").c_str());
  const bool reopened = reopen_ms == 0 || (reopens > 0 && failed_reopens == 0);
  return failed == 0 && mixed == 0 && failed_swaps == 0 && from_a > 0 && from_b > 0 && reopened ? 0 : 1;
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
