// Per-request parameters, fail-open stages, pipeline statistics and feature
// logging, on the plugin tests' catalog.
#include <gtest/gtest.h>

#include <algorithm>

#include "pipeline_fixture.h"

namespace xmr {
namespace {

using testing::error_of;
using RequestTest = testing::PipelineFixture;

::testing::AssertionResult has(const std::string& message, const std::string& part) {
  return message.find(part) != std::string::npos ? ::testing::AssertionSuccess()
                                                 : ::testing::AssertionFailure() << "message: " << message;
}

std::string fault_stage(const std::string& options) {
  return "{\"type\": \"fault\"" + std::string(options.empty() ? "" : ", ") + options + "}";
}

StageStats stage_stats(const PipelineStats& s, const std::string& name) {
  for (const auto& st : s.stages) {
    if (st.stage == name) return st;
  }
  throw std::runtime_error("no stats for " + name);
}

class PipelineRequestTest : public RequestTest {
 protected:
  // The fixture's config with the fault plugin loaded too.
  std::unique_ptr<Pipeline> make_with_fault(const std::string& stages) const {
    return make_config("\"stages\": [" + stages + "]", XMR_FAULT_PLUGIN);
  }
};

TEST_F(PipelineRequestTest, RequestParametersOverrideDeclaredOptionsWithinBounds) {
  const auto p = make(R"({"type": "rerank", "model": "model.xmr", "label_field": "labels", "window_size": 10,
                         "request_params": {"window_size": {"min": 1, "max": 50}, "rescore_query_weight": {}}})");
  SearchRequest r;
  r.text = "leather acme nova zen";
  r.num_hits = 30;
  r.explain = true;
  auto in_window = [](const SearchResult& res) {
    return std::count_if(res.explanations.begin(), res.explanations.end(),
                         [](const HitExplanation& e) { return e.in_window; });
  };
  const SearchResult by_config = p->search(r);
  ASSERT_GE(by_config.hits.size(), 20u);
  EXPECT_EQ(in_window(by_config), 10);
  r.params["rerank"]["window_size"] = 3;
  EXPECT_EQ(in_window(p->search(r)), 3);
  // A zero rescore weight leaves the search's order (and scores) as they were.
  r.params["rerank"] = {{"rescore_query_weight", 0.0}};
  const SearchResult unweighted = p->search(r);
  SearchRequest lucene_only = r;
  lucene_only.params.clear();
  const SearchResult plain = make("")->search(lucene_only);
  ASSERT_EQ(unweighted.hits.size(), plain.hits.size());
  for (size_t i = 0; i < plain.hits.size(); ++i) EXPECT_EQ(unweighted.hits[i].doc, plain.hits[i].doc);
  // The config's values come back when the request names none.
  r.params.clear();
  EXPECT_EQ(in_window(p->search(r)), 10);
}

TEST_F(PipelineRequestTest, ARequestWindowLargerThanTheConfigsFetchesMoreHits) {
  // The fault stage reverses the hits it is given: with a window of 30, the
  // first hit returned is the search's 30th.
  const auto p = make_with_fault(fault_stage(R"("request_params": {"window_size": {"max": 40}})"));
  const auto plain = make("");
  SearchRequest r;
  r.text = "leather acme nova zen";
  r.num_hits = 40;
  const SearchResult all = plain->search(r);
  ASSERT_GE(all.hits.size(), 30u);
  r.num_hits = 5;
  r.params["fault"]["window_size"] = 30;
  const SearchResult res = p->search(r);
  ASSERT_EQ(res.hits.size(), 5u);
  EXPECT_EQ(res.hits[0].doc, all.hits[29].doc);
}

TEST_F(PipelineRequestTest, CategorizeTakesTopKPerRequest) {
  const auto p = make(R"({"type": "categorize", "model": "model.xmr", "top_k": 5,
                         "request_params": {"top_k": {"max": 8}, "min_score": {}}})");
  SearchRequest r;
  r.text = "nova pillow duvet";
  EXPECT_EQ(p->search(r).categories.size(), 5u);
  r.params["categorize"]["top_k"] = 2;
  EXPECT_EQ(p->search(r).categories.size(), 2u);
  r.params["categorize"] = {{"min_score", 1e9}};
  EXPECT_TRUE(p->search(r).categories.empty());
}

TEST_F(PipelineRequestTest, BadRequestParametersAreRefusedByName) {
  const auto p = make(R"({"type": "rerank", "model": "model.xmr", "label_field": "labels",
                         "request_params": {"window_size": {"min": 1, "max": 50}}})");
  SearchRequest r;
  r.text = "laptop";
  r.params["rerank"]["window_size"] = 51;
  EXPECT_TRUE(has(error_of([&] { p->search(r); }),
                  "search: params: stage \"rerank\": \"window_size\" is 51; it must be an integer in 1..50"));
  r.params["rerank"]["window_size"] = 2.5;
  EXPECT_TRUE(has(error_of([&] { p->search(r); }), "\"window_size\" is 2.5; it must be an integer in 1..50"));
  r.params["rerank"] = {{"query_weight", 2.0}};
  EXPECT_TRUE(has(error_of([&] { p->search(r); }),
                  "\"query_weight\" is not a request parameter of this stage (its config declares: window_size)"));
  r.params.clear();
  r.params["categorize"]["top_k"] = 3;
  EXPECT_TRUE(has(error_of([&] { p->search(r); }), "search: params: no stage named \"categorize\""));
  EXPECT_EQ(p->stats().failed, 4u);
  EXPECT_EQ(p->stats().queries, 4u);
}

TEST_F(PipelineRequestTest, BadRequestParameterDeclarationsAreRefusedAtCreation) {
  EXPECT_TRUE(has(error_of([&] {
                    make(R"({"type": "rerank", "model": "model.xmr", "label_field": "labels",
                             "request_params": {"label_field": {}}})");
                  }),
                  "\"label_field\" is not a parameter this stage takes per request (it takes: window_size, "
                  "query_weight, rescore_query_weight)"));
  EXPECT_TRUE(has(error_of([&] {
                    make(R"({"type": "rerank", "model": "model.xmr", "label_field": "labels",
                             "request_params": {"window_size": {"min": 0}}})");
                  }),
                  "\"request_params\": \"window_size\": option \"min\""));
  EXPECT_TRUE(has(error_of([&] {
                    make(R"({"type": "rerank", "model": "model.xmr", "label_field": "labels",
                             "request_params": {"window_size": {"min": 9, "max": 3}}})");
                  }),
                  "option \"min\": is above \"max\""));
  EXPECT_TRUE(has(error_of([&] {
                    make(R"({"type": "rerank", "model": "model.xmr", "label_field": "labels", "on_error": "ignore"})");
                  }),
                  "\"ignore\" is not one of"));
  EXPECT_TRUE(has(error_of([&] {
                    make(R"({"type": "rerank", "model": "model.xmr", "label_field": "labels", "time_budget_ms": -1})");
                  }),
                  "option \"time_budget_ms\""));
}

TEST_F(PipelineRequestTest, AStageThatThrowsIsSkippedOrFailsAsConfigured) {
  const auto plain = make("");
  const auto skip = make_with_fault(fault_stage(R"("throw_on": "boom", "on_error": "skip")"));
  const auto fail = make_with_fault(fault_stage(R"("throw_on": "boom")"));
  SearchRequest r;
  r.num_hits = 20;
  r.text = "laptop acme";
  const SearchResult expected = plain->search(r);
  ASSERT_GE(expected.hits.size(), 2u);
  // Without the trigger the stage runs (and reverses the hits)...
  const SearchResult ran = skip->search(r);
  EXPECT_EQ(ran.hits[0].doc, expected.hits.back().doc);
  EXPECT_TRUE(ran.skipped.empty());
  // ...with it, skip hands back the hits and categories exactly as the search left them.
  r.text = "laptop acme boom";
  const SearchResult plain_boom = plain->search(r);
  const SearchResult skipped = skip->search(r);
  ASSERT_EQ(skipped.hits.size(), plain_boom.hits.size());
  for (size_t i = 0; i < skipped.hits.size(); ++i) {
    EXPECT_EQ(skipped.hits[i].doc, plain_boom.hits[i].doc);
    EXPECT_EQ(skipped.hits[i].score, plain_boom.hits[i].score);
  }
  EXPECT_TRUE(skipped.categories.empty());
  ASSERT_EQ(skipped.skipped.size(), 1u);
  EXPECT_EQ(skipped.skipped[0].stage, "fault");
  EXPECT_TRUE(has(skipped.skipped[0].reason, "fault injected for \"laptop acme boom\""));
  EXPECT_TRUE(has(error_of([&] { fail->search(r); }), "stage \"fault\": fault injected"));

  const PipelineStats s = skip->stats();
  EXPECT_EQ(s.queries, 2u);
  EXPECT_EQ(s.failed, 0u);
  const StageStats f = stage_stats(s, "fault");
  EXPECT_EQ(f.runs, 2u);
  EXPECT_EQ(f.errors, 1u);
  EXPECT_EQ(f.skips, 1u);
  EXPECT_EQ(fail->stats().failed, 1u);
  EXPECT_EQ(stage_stats(fail->stats(), "fault").skips, 0u);
}

TEST_F(PipelineRequestTest, AStageOverItsTimeBudgetIsSkippedOrFails) {
  // 200 ms asleep against a 20 ms budget: over it on any machine.
  const auto skip = make_with_fault(fault_stage(R"("sleep_ms": 200, "time_budget_ms": 20, "on_error": "skip")"));
  const auto fail = make_with_fault(fault_stage(R"("sleep_ms": 200, "time_budget_ms": 20)"));
  SearchRequest r;
  r.num_hits = 20;
  r.text = "slow laptop acme";
  const SearchResult plain = make("")->search(r);
  const SearchResult res = skip->search(r);
  ASSERT_EQ(res.hits.size(), plain.hits.size());
  for (size_t i = 0; i < res.hits.size(); ++i) EXPECT_EQ(res.hits[i].doc, plain.hits[i].doc);
  ASSERT_EQ(res.skipped.size(), 1u);
  EXPECT_TRUE(has(res.skipped[0].reason, "over its time budget of 20 ms (took ")) << res.skipped[0].reason;
  const StageStats f = stage_stats(skip->stats(), "fault");
  EXPECT_EQ(f.over_budget, 1u);
  EXPECT_EQ(f.skips, 1u);
  EXPECT_EQ(f.errors, 0u);
  EXPECT_GE(f.p50_micros, 190000.0);  // the histogram's bucket is within 2% of the 200 ms slept
  EXPECT_TRUE(has(error_of([&] { fail->search(r); }), "stage \"fault\": over its time budget of 20 ms"));
}

TEST_F(PipelineRequestTest, StatsCountEveryStep) {
  const auto p = make(R"({"type": "categorize", "model": "model.xmr"},
                         {"type": "rerank", "model": "model.xmr", "label_field": "labels"})");
  SearchRequest r;
  for (const char* q : {"laptop", "pillow duvet", "leather tote"}) {
    r.text = q;
    p->search(r);
  }
  const PipelineStats s = p->stats();
  EXPECT_EQ(s.queries, 3u);
  std::vector<std::string> order;
  for (const auto& st : s.stages) {
    order.push_back(st.stage);
    EXPECT_EQ(st.runs, 3u) << st.stage;
    EXPECT_GT(st.p50_micros, 0.0) << st.stage;
    EXPECT_GE(st.p99_micros, st.p50_micros) << st.stage;
  }
  EXPECT_EQ(order, (std::vector<std::string>{"parse", "categorize", "search", "rerank"}));
}

TEST_F(PipelineRequestTest, FeatureLoggingDescribesEveryHit) {
  const auto p = make(R"({"type": "categorize", "model": "model.xmr", "top_k": 3},
                         {"type": "rerank", "model": "model.xmr", "label_field": "labels", "window_size": 5})");
  SearchRequest r;
  r.text = "leather running sneakers";
  r.num_hits = 8;
  const SearchResult without = p->search(r);
  EXPECT_TRUE(without.features.empty());
  EXPECT_TRUE(without.explanations.empty());
  r.log_features = true;
  const SearchResult res = p->search(r);
  EXPECT_TRUE(res.explanations.empty());  // logging does not turn on explain's output
  r.explain = true;
  const SearchResult explained = p->search(r);
  SearchRequest lucene_only = r;
  lucene_only.num_hits = 100;
  const SearchResult plain = make("")->search(lucene_only);

  const auto& names = hit_feature_names();
  auto at = [&](const HitFeatures& f, const std::string& name) {
    return f.values.at(size_t(std::find(names.begin(), names.end(), name) - names.begin()));
  };
  ASSERT_EQ(res.features.size(), res.hits.size());
  ASSERT_FALSE(res.categories.empty());
  int in_window = 0;
  for (size_t i = 0; i < res.hits.size(); ++i) {
    const HitFeatures& f = res.features[i];
    const HitExplanation& e = explained.explanations[i];
    ASSERT_EQ(f.values.size(), names.size());
    EXPECT_EQ(f.doc, res.hits[i].doc);
    EXPECT_EQ(at(f, "final_rank"), double(i + 1));
    EXPECT_EQ(at(f, "final_score"), res.hits[i].score);
    // The search's own score and rank of the hit.
    const auto found = std::find_if(plain.hits.begin(), plain.hits.end(), [&](const Hit& h) { return h.doc == f.doc; });
    ASSERT_NE(found, plain.hits.end());
    EXPECT_EQ(at(f, "original_rank"), double(found - plain.hits.begin() + 1));
    EXPECT_EQ(at(f, "original_score"), found->score);
    // What the rerank stage computed.
    EXPECT_EQ(e.doc, f.doc);
    EXPECT_EQ(at(f, "in_window"), e.in_window ? 1.0 : 0.0);
    EXPECT_EQ(at(f, "model_score"), e.model_score);
    EXPECT_EQ(at(f, "label_count"), double(e.labels.size()));
    EXPECT_EQ(f.labels.size(), e.labels.size());
    in_window += e.in_window;
    // The query's best category, and the best of them the hit carries.
    EXPECT_EQ(at(f, "top_category_score"), res.categories[0].score);
    double match = 0;
    for (const auto& c : res.categories) {
      const auto labels = labels_of(f.doc);
      if (std::find(labels.begin(), labels.end(), c.label) != labels.end()) {
        match = c.score;
        break;
      }
    }
    if (e.in_window) {
      EXPECT_FLOAT_EQ(at(f, "category_match_score"), match) << f.doc;
    }
  }
  EXPECT_EQ(in_window, 5);
}

}  // namespace
}  // namespace xmr
