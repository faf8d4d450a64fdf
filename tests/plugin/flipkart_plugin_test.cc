// The plugin on real data: a Lucene++ index of the shared flipkart training
// titles (title text + category field), a model trained on the same titles,
// and the test titles as queries. Skips when ../shared/datasets is absent.
//
// Relevance of a hit for a query (examples/search_evaluation.h): the hit's
// categories include the query's deepest category.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "../core/test_util.h"
#include "analyzers/lucene_index.h"
#include "analyzers/text_calibration.h"
#include "analyzers/text_model.h"
#include "core/metrics.h"
#include "examples/search_evaluation.h"
#include "plugin/pipeline.h"
#include "tests/plugin/search_outcome.h"
#include "plugin_test_util.h"

namespace xmr {
namespace {

const std::string kDir = std::string(XMR_DATASETS_DIR) + "/flipkart";

struct Fixture {
  testing::TempDir dir;
  TextDataset test;
  Lucene::IndexSearcherPtr searcher;
  Lucene::AnalyzerPtr analyzer;
  std::string model_a, model_b, model_calibrated;

  Fixture() {
    IndexSpec spec;
    spec.text_fields = {"text"};
    spec.label_fields = {"labels"};
    build_lucene_index(kDir + "/train.jsonl", dir.file("index"), spec);
    // Trained from the index itself, as a search team would.
    const TextDataset train = read_lucene_index(dir.file("index"), "text", "labels");
    model_a = dir.file("a.xmr");
    model_b = dir.file("b.xmr");
    TextModel::train(train, default_vectorizer_config(), default_text_train_params()).save(model_a);
    TrainParams other = default_text_train_params();
    other.negatives = NegativeSampling::kTeacherForced;
    other.seed = 1;
    TextModel::train(train, default_vectorizer_config(), other).save(model_b);
    // Model a with probabilities fitted as `xmr train --calibrate 0.1` does.
    model_calibrated = dir.file("calibrated.xmr");
    const FittedCalibration fitted = fit_held_out_calibration(train, default_vectorizer_config(),
                                                              default_text_train_params(), 0.1, "flipkart index");
    Model::load(model_a).with_calibration(fitted.map, fitted.info_json).save(model_calibrated);
    test = read_jsonl_dataset(kDir + "/test.jsonl");
    searcher = testing::open_searcher(dir.file("index"));
    analyzer = make_lucene_analyzer("standard");
  }

  std::unique_ptr<Pipeline> make(const std::string& stages) const {
    return Pipeline::create("{\"plugins\": [\"" + testing::plugin_path() +
                                "\"], \"query\": {\"default_field\": \"text\"}, \"stages\": [" + stages + "]}",
                            searcher, analyzer, PipelineOptions{dir.path()});
  }

};

Fixture* fixture() {
  static Fixture* f = new Fixture;
  return f;
}

bool have_data() {
  struct stat st;
  return ::stat((kDir + "/train.jsonl").c_str(), &st) == 0;
}

#define SKIP_WITHOUT_DATA()                                                                               \
  if (!have_data()) GTEST_SKIP() << "shared dataset absent: " << kDir << "/train.jsonl (run from a checkout " \
                                    "with ../shared/datasets)"

TEST(FlipkartPlugin, CategorizationThroughThePluginEqualsTheCore) {
  SKIP_WITHOUT_DATA();
  const Fixture& f = *fixture();
  const TextModel core = TextModel::load(f.model_a);
  PredictParams params = core.model().default_predict_params();
  params.top_k = 5;
  const auto core_pred = core.predict_batch(f.test.texts, params);
  const RankingMetrics core_m = evaluate_ranking(core_pred, core.labels().label_matrix(f.test, true), 5);

  const auto p = f.make(R"({"type": "categorize", "model": "a.xmr", "top_k": 5})");
  size_t hits_at_1 = 0, same_top = 0;
  SearchRequest r;
  r.num_hits = 0;  // categorization only
  for (size_t i = 0; i < f.test.size(); ++i) {
    r.text = f.test.texts[i];
    const auto cats = p->search(r).categories;
    ASSERT_FALSE(cats.empty());
    const auto& truth = f.test.labels[i];
    hits_at_1 += std::find(truth.begin(), truth.end(), cats[0].label) != truth.end();
    same_top += cats[0].label == core.model().label_name(core_pred[i][0].label) && cats[0].score == core_pred[i][0].score;
  }
  const double plugin_p1 = (double)hits_at_1 / f.test.size();
  std::printf("[flipkart] categorization P@1: plugin %.4f, core %.4f (%zu queries)\n", plugin_p1,
              core_m.precision[0], f.test.size());
  EXPECT_EQ(same_top, f.test.size());
  EXPECT_DOUBLE_EQ(plugin_p1, core_m.precision[0]);
}

// Filter mode with min_probability: the share of queries the category filter
// applies to, and the precision of the categories it keeps, per threshold.
// Calibrated means the kept categories are right at least as often as the
// threshold says.
TEST(FlipkartPlugin, MinProbabilityKeepsCategoriesAtLeastThatPrecise) {
  SKIP_WITHOUT_DATA();
  const Fixture& f = *fixture();
  std::printf("[flipkart] filter mode, top 5: min_probability | queries filtered | categories kept | precision kept\n");
  double last_precision = 0;
  for (const double t : {0.3, 0.5, 0.7, 0.8, 0.9, 0.95}) {
    char stage[256];
    std::snprintf(stage, sizeof stage,
                  R"({"type": "categorize", "model": "calibrated.xmr", "top_k": 5, "mode": "filter", "field": "labels",
                      "min_probability": %g})",
                  t);
    const auto p = f.make(stage);
    SearchRequest r;
    r.num_hits = 0;
    size_t filtered = 0, kept = 0, right = 0;
    for (size_t i = 0; i < f.test.size(); ++i) {
      r.text = f.test.texts[i];
      const auto cats = p->search(r).categories;
      filtered += !cats.empty();
      const auto& truth = f.test.labels[i];
      for (const auto& c : cats) {
        EXPECT_GE(c.probability, t);
        ++kept;
        right += std::find(truth.begin(), truth.end(), c.label) != truth.end();
      }
    }
    const double precision = kept ? double(right) / double(kept) : 1.0;
    std::printf("[flipkart]   %.2f | %5.1f%% | %zu | %.4f\n", t, 100.0 * double(filtered) / double(f.test.size()), kept,
                precision);
    EXPECT_GE(precision, t) << "categories kept at min_probability " << t << " are right less often than that";
    EXPECT_GE(precision, last_precision - 0.01) << "a higher threshold kept less precise categories";
    last_precision = precision;
  }
}

TEST(FlipkartPlugin, RerankingImprovesRetrieval) {
  SKIP_WITHOUT_DATA();
  const Fixture& f = *fixture();
  const auto plain = f.make("");
  // The stage defaults with a 100-hit window, and the settings the README
  // recommends for hierarchical category fields (sum over a hit's path).
  const char* configs[][2] = {
      {"defaults, window 100", R"({"type": "rerank", "model": "a.xmr", "label_field": "labels", "window_size": 100})"},
      {"sum, weight 5, window 100", R"({"type": "rerank", "model": "a.xmr", "label_field": "labels",
                                      "window_size": 100, "rescore_query_weight": 5, "label_score": "sum"})"},
  };
  for (const auto& c : configs) {
    const SearchEvaluation e = evaluate_search(f.searcher, *plain, *f.make(c[1]), f.test, "labels");
    std::printf("[flipkart] plain Lucene nDCG@10 %.4f, P@10 %.4f; + rerank (%s): nDCG@10 %.4f, P@10 %.4f\n",
                e.plain_ndcg10, e.plain_p10, c[0], e.pipeline_ndcg10, e.pipeline_p10);
    EXPECT_GT(e.pipeline_ndcg10, e.plain_ndcg10) << c[0];
    EXPECT_GT(e.pipeline_p10, e.plain_p10) << c[0];
  }
}

using Outcome = testing::SearchOutcome;
using testing::outcome_of;

// 8 threads query while another swaps the model between two files 32 times,
// 20 ms apart: every query must succeed and equal exactly what one of the two
// models gives (never a mix of the two).
TEST(FlipkartPlugin, ConcurrentQueriesDuringModelSwapsLoseNothing) {
  SKIP_WITHOUT_DATA();
  const Fixture& f = *fixture();
  const std::string stages = R"({"type": "categorize", "model": "MODEL", "model_name": "products", "top_k": 3},
      {"type": "rerank", "model": "MODEL", "model_name": "products", "label_field": "labels", "window_size": 50,
       "rescore_query_weight": 5, "label_score": "sum"})";
  auto with_model = [&](const std::string& m) {
    std::string s = stages;
    for (size_t at; (at = s.find("MODEL")) != std::string::npos;) s.replace(at, 5, m);
    return s;
  };
  const size_t n = 400;
  std::vector<Outcome> expect_a, expect_b;
  {
    const auto pa = f.make(with_model("a.xmr")), pb = f.make(with_model("b.xmr"));
    SearchRequest r;
    for (size_t i = 0; i < n; ++i) {
      r.text = f.test.texts[i];
      expect_a.push_back(outcome_of(pa->search(r)));
      expect_b.push_back(outcome_of(pb->search(r)));
    }
  }
  size_t differ = 0;
  for (size_t i = 0; i < n; ++i) differ += !(expect_a[i] == expect_b[i]);
  ASSERT_GT(differ, n / 2) << "the two models must be distinguishable";

  const auto live = f.make(with_model("a.xmr"));
  std::atomic<bool> stop{false};
  std::atomic<size_t> served{0}, from_a{0}, from_b{0}, mixed{0}, failed{0}, swaps{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      SearchRequest r;
      for (size_t i = (size_t)t * 50; !stop; i = (i + 1) % n) {
        r.text = f.test.texts[i];
        try {
          const Outcome o = outcome_of(live->search(r));
          const bool a = o == expect_a[i], b = o == expect_b[i];
          (a ? from_a : b ? from_b : mixed)++;
        } catch (const std::exception& e) {
          if (failed++ == 0) std::fprintf(stderr, "query failed: %s\n", e.what());
        }
        served++;
      }
    });
  }
  // A fixed number of swaps, not a fixed time: sanitizer builds are slower.
  for (bool to_b = true; swaps < 32; to_b = !to_b) {
    live->reload("products", to_b ? f.model_b : f.model_a);
    swaps++;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  for (auto& th : threads) th.join();
  std::printf("[flipkart] concurrent: %zu queries on 8 threads, %zu swaps: %zu from model A, %zu from model B, "
              "%zu mixed, %zu failed\n",
              served.load(), swaps.load(), from_a.load(), from_b.load(), mixed.load(), failed.load());
  EXPECT_EQ(failed, 0u);
  EXPECT_EQ(mixed, 0u);
  EXPECT_GT(from_a, 0u);
  EXPECT_GT(from_b, 0u);
}

}  // namespace
}  // namespace xmr
