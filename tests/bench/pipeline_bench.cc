// What the plugin's stages add to a Lucene++ search: per-query latency
// percentiles on one thread, over the shared flipkart set (an index of the
// training titles, the test titles as queries).
//
//   build/tests/pipeline_bench [--rounds N] [--json FILE]
//
// Each configuration runs every test title once as warm-up, then `rounds`
// times measured; configurations are interleaved per round so drift in the
// machine affects them alike.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "../core/test_util.h"
#include "analyzers/lucene_analyzers.h"
#include "analyzers/lucene_index.h"
#include "analyzers/text_model.h"
#include "analyzers/utf8.h"
#include "plugin/pipeline.h"
#include "core/metrics.h"

#include <lucene++/LuceneHeaders.h>

using namespace xmr;

int main(int argc, char** argv) {
  int rounds = 3;
  std::string json_out;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--json") && i + 1 < argc) json_out = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--rounds N] [--json FILE]\n", argv[0]);
      return 2;
    }
  }
  const std::string data = std::string(XMR_DATASETS_DIR) + "/flipkart";
  struct stat st;
  if (::stat((data + "/train.jsonl").c_str(), &st) != 0) {
    std::fprintf(stderr, "shared dataset absent: %s/train.jsonl\n", data.c_str());
    return 1;
  }
  try {
    testing::TempDir dir;
    IndexSpec spec;
    spec.text_fields = {"text"};
    spec.label_fields = {"labels"};
    build_lucene_index(data + "/train.jsonl", dir.file("index"), spec);
    const TextDataset train = read_lucene_index(dir.file("index"), "text", "labels");
    TextModel::train(train, default_vectorizer_config(), default_text_train_params()).save(dir.file("m.xmr"));
    const TextDataset test = read_jsonl_dataset(data + "/test.jsonl");

    Lucene::IndexSearcherPtr searcher = Lucene::newLucene<Lucene::IndexSearcher>(
        Lucene::IndexReader::open(Lucene::FSDirectory::open(utf8_to_wide(dir.file("index"))), true));
    Lucene::AnalyzerPtr analyzer = make_lucene_analyzer("standard");
    const std::string categorize = R"({"type": "categorize", "model": "m.xmr", "top_k": 5})";
    const std::string boost =
        R"({"type": "categorize", "model": "m.xmr", "top_k": 5, "mode": "boost", "field": "labels"})";
    const std::string rerank = R"({"type": "rerank", "model": "m.xmr", "label_field": "labels", "window_size": 100,
                                   "rescore_query_weight": 5, "label_score": "sum"})";
    struct Config {
      const char* name;
      std::string stages;
      std::vector<double> micros = {};
      std::unique_ptr<Pipeline> pipeline = nullptr;
      std::vector<std::pair<std::string, double>> stage_micros = {};  // summed per step
    };
    std::vector<Config> configs;
    configs.push_back({"lucene only", ""});
    configs.push_back({"+ categorize (annotate)", categorize});
    configs.push_back({"+ categorize (boost)", boost});
    configs.push_back({"+ rerank (window 100)", rerank});
    configs.push_back({"+ categorize + rerank", categorize + "," + rerank});
    for (auto& c : configs) {
      c.pipeline = Pipeline::create("{\"plugins\": [\"" XMR_PLUGIN_PATH "\"], \"stages\": [" + c.stages + "]}",
                                    searcher, analyzer, PipelineOptions{dir.path()});
    }
    SearchRequest r;
    r.num_hits = 10;
    for (int round = -1; round < rounds; ++round) {  // round -1 warms up
      for (auto& c : configs) {
        for (const auto& text : test.texts) {
          r.text = text;
          const auto t0 = std::chrono::steady_clock::now();
          const SearchResult res = c.pipeline->search(r);
          const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
          if (round < 0) continue;
          c.micros.push_back(us);
          if (c.stage_micros.empty()) {
            for (const auto& t : res.timings) c.stage_micros.emplace_back(t.stage, 0.0);
          }
          for (size_t k = 0; k < res.timings.size() && k < c.stage_micros.size(); ++k) {
            c.stage_micros[k].second += res.timings[k].micros;
          }
        }
      }
    }
    std::printf("flipkart: %zu index docs, %zu queries x %d rounds, top 10, one thread\n", train.size(),
                test.size(), rounds);
    std::printf("%-26s %10s %10s %10s %12s\n", "pipeline", "p50 us", "p99 us", "mean us", "p50 added");
    const double base_p50 = percentile(configs[0].micros, 0.50);
    std::string json = "[";
    for (const auto& c : configs) {
      double mean = 0;
      for (double x : c.micros) mean += x;
      mean /= (double)c.micros.size();
      const double p50 = percentile(c.micros, 0.50), p99 = percentile(c.micros, 0.99);
      std::string steps;
      for (const auto& [step, total] : c.stage_micros) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "%s%s %.0f", steps.empty() ? "" : ", ", step.c_str(),
                      total / (double)c.micros.size());
        steps += buf;
      }
      std::printf("%-26s %10.1f %10.1f %10.1f %12.1f   mean per step (us): %s\n", c.name, p50, p99, mean,
                  p50 - base_p50, steps.c_str());
      json += std::string(json.size() > 1 ? "," : "") + "{\"pipeline\": \"" + c.name + "\", \"p50_us\": " +
              std::to_string(p50) + ", \"p99_us\": " + std::to_string(p99) + ", \"mean_us\": " + std::to_string(mean) +
              "}";
    }
    json += "]\n";
    if (!json_out.empty()) std::ofstream(json_out) << json;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pipeline_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
