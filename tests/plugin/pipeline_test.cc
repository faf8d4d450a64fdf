// The pipeline and the xmr plugin on a small generated catalog: the plugin
// is loaded from its .so by path, as a host would.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "analyzers/text_calibration.h"
#include "analyzers/text_model.h"
#include "plugin/pipeline.h"

#include "pipeline_fixture.h"

namespace xmr {
namespace {

using testing::error_of;
using testing::kCategories;
using PipelineTest = testing::PipelineFixture;

TEST_F(PipelineTest, PluginLoadsOnceByPath) {
  const LoadedPlugin& a = load_plugin(testing::plugin_path());
  const LoadedPlugin& b = load_plugin(testing::plugin_path());
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(a.name, "xmr");
  EXPECT_FALSE(a.version.empty());
}

TEST_F(PipelineTest, AnnotateReportsCategoriesAndLeavesHitsAlone) {
  const auto plain = make("");
  const auto annotate = make(R"({"type": "categorize", "model": "model.xmr", "top_k": 3})");
  SearchRequest r;
  r.text = "acme ultrabook ssd keyboard";
  const SearchResult a = plain->search(r), b = annotate->search(r);
  EXPECT_TRUE(a.categories.empty());
  ASSERT_EQ(b.categories.size(), 3u);
  EXPECT_EQ(b.categories[0].label.rfind("Electronics", 0), 0u) << b.categories[0].label;
  ASSERT_EQ(a.hits.size(), b.hits.size());
  for (size_t i = 0; i < a.hits.size(); ++i) {
    EXPECT_EQ(a.hits[i].doc, b.hits[i].doc);
    EXPECT_EQ(a.hits[i].score, b.hits[i].score);
  }
  // The stage is also a Classifier with the same answers.
  const Classifier* c = annotate->classifier("categorize");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->assign_class(r.text).label, b.categories[0].label);
  const auto classes = c->get_classes(r.text, 2);
  ASSERT_EQ(classes.size(), 2u);
  EXPECT_EQ(classes[1].label, b.categories[1].label);
  EXPECT_FLOAT_EQ(classes[1].score, b.categories[1].score);
  EXPECT_EQ(plain->classifier("categorize"), nullptr);
}

TEST_F(PipelineTest, MinScoreDropsWeakCategories) {
  const auto p = make(R"({"type": "categorize", "model": "model.xmr", "top_k": 8, "min_score": 0.5})");
  SearchRequest r;
  r.text = "nova pillow duvet";
  for (const auto& c : p->search(r).categories) EXPECT_GE(c.score, 0.5f);
}

TEST_F(PipelineTest, FilterKeepsOnlyPredictedCategories) {
  // "leather" is in both shoes and bags; the filter keeps the predicted one.
  const auto p = make(R"({"type": "categorize", "model": "model.xmr", "top_k": 1, "mode": "filter", "field": "labels"})");
  SearchRequest r;
  r.text = "leather sneakers running sole";
  r.num_hits = 50;
  const SearchResult res = p->search(r);
  ASSERT_EQ(res.categories.size(), 1u);
  ASSERT_FALSE(res.hits.empty());
  for (const auto& h : res.hits) {
    const auto labels = labels_of(h.doc);
    EXPECT_NE(std::find(labels.begin(), labels.end(), res.categories[0].label), labels.end());
  }
  const auto plain = make("");
  EXPECT_LT(res.hits.size(), plain->search(r).hits.size());  // bag titles with "leather" are gone
}

TEST_F(PipelineTest, BoostRaisesHitsInPredictedCategories) {
  const auto plain = make("");
  const auto p = make(R"({"type": "categorize", "model": "model.xmr", "top_k": 2, "mode": "boost",
                         "field": "labels", "boost": 5.0})");
  SearchRequest r;
  r.text = "leather running";
  r.num_hits = 200;
  const SearchResult a = plain->search(r), b = p->search(r);
  EXPECT_EQ(a.hits.size(), b.hits.size());  // the original query stays required
  auto in_top = [&](const SearchResult& res) {
    int n = 0;
    for (size_t i = 0; i < 10 && i < res.hits.size(); ++i) {
      const auto labels = labels_of(res.hits[i].doc);
      n += std::find(labels.begin(), labels.end(), b.categories[0].label) != labels.end();
    }
    return n;
  };
  EXPECT_EQ(in_top(b), 10);
  EXPECT_GT(in_top(b), in_top(a));
}

double merge(const std::string& mode, double a, double b) {
  if (mode == "multiply") return a * b;
  if (mode == "avg") return (a + b) / 2;
  if (mode == "max") return std::max(a, b);
  if (mode == "min") return std::min(a, b);
  return a + b;
}

TEST_F(PipelineTest, RerankFollowsRescoreSemantics) {
  const TextModel host_model = TextModel::load(dir_->file("model.xmr"));
  const LabelVocabulary vocab = host_model.labels();
  const auto plain = make("");
  SearchRequest r;
  r.text = "acme phone leather pan";
  r.num_hits = 12;
  r.explain = true;
  const SearchResult base = plain->search(r);
  ASSERT_EQ(base.hits.size(), 12u);
  for (const std::string mode : {"total", "multiply", "avg", "max", "min"}) {
    SCOPED_TRACE(mode);
    const auto p = make(R"({"type": "rerank", "model": "model.xmr", "label_field": "labels", "window_size": 5,
                           "query_weight": 0.7, "rescore_query_weight": 2.0, "score_mode": ")" + mode + "\"}");
    const SearchResult res = p->search(r);
    ASSERT_EQ(res.hits.size(), 12u);
    ASSERT_EQ(res.explanations.size(), 12u);
    std::vector<int32_t> window_plain, window_new;
    for (size_t i = 0; i < 12; ++i) {
      const HitExplanation& e = res.explanations[i];
      EXPECT_EQ(e.doc, res.hits[i].doc);
      if (i >= 5) {  // below the window: untouched
        EXPECT_FALSE(e.in_window);
        EXPECT_EQ(res.hits[i].doc, base.hits[i].doc);
        EXPECT_EQ(res.hits[i].score, base.hits[i].score);
        continue;
      }
      window_plain.push_back(base.hits[i].doc);
      window_new.push_back(res.hits[i].doc);
      EXPECT_TRUE(e.in_window);
      ASSERT_TRUE(e.matched);
      // Each label's score is the model's pair score; the hit's is their max.
      std::vector<Index> ids;
      for (const auto& l : e.labels) ids.push_back((Index)vocab.id(l.label));
      std::vector<float> expect(ids.size());
      InferenceWorkspace ws;
      std::vector<Index> qi;
      std::vector<float> qv;
      host_model.vectorizer().transform(r.text, qi, qv);
      host_model.model().score_labels({qi.data(), qv.data(), qi.size()}, ids.data(), ids.size(),
                                      host_model.model().default_predict_params(), ws, expect.data());
      double best = -1e300;
      for (size_t j = 0; j < ids.size(); ++j) {
        EXPECT_FLOAT_EQ(e.labels[j].score, expect[j]);
        best = std::max(best, (double)expect[j]);
      }
      EXPECT_NEAR(e.model_score, best, 1e-6);
      EXPECT_NEAR(e.final_score, merge(mode, 0.7 * e.original_score, 2.0 * e.model_score), 1e-9);
      EXPECT_EQ(res.hits[i].score, e.final_score);
      if (i > 0) {
        EXPECT_GE(res.hits[i - 1].score, res.hits[i].score);
      }
    }
    std::sort(window_plain.begin(), window_plain.end());
    std::sort(window_new.begin(), window_new.end());
    EXPECT_EQ(window_plain, window_new);  // the window is reordered, not refilled
  }
}

TEST_F(PipelineTest, RerankWindowLargerThanNumHitsFetchesTheWindow) {
  // A rescore window of 50 over a request for 3 hits: the best 3 of the 50
  // rescored, which need not be among the plain top 3.
  const auto p = make(R"({"type": "rerank", "model": "model.xmr", "label_field": "labels", "window_size": 50,
                         "query_weight": 0.0})");
  SearchRequest r;
  r.text = "acme laptop";
  r.num_hits = 3;
  r.explain = true;
  const SearchResult res = p->search(r);
  ASSERT_EQ(res.hits.size(), 3u);
  ASSERT_EQ(res.explanations.size(), 3u);
  for (const auto& h : res.hits) {
    const auto labels = labels_of(h.doc);
    EXPECT_NE(std::find(labels.begin(), labels.end(), "Electronics > Laptops"), labels.end());
  }
}

TEST_F(PipelineTest, DocumentsAreLabelsThroughAKeyField) {
  // A model whose labels are document ids (trained on title -> its own id).
  TextDataset by_id = read_jsonl_dataset(dir_->file("catalog.jsonl"));
  for (size_t i = 0; i < by_id.size(); ++i) by_id.labels[i] = {"p" + std::to_string(i)};
  TextModel::train(by_id, default_vectorizer_config(), default_text_train_params()).save(dir_->file("docs.xmr"));
  const auto p = make(R"({"type": "rerank", "model": "docs.xmr", "label_field": "id", "window_size": 20})");
  SearchRequest r;
  r.text = testing::stored_values(searcher_, 42, "text")[0];
  r.explain = true;
  const SearchResult res = p->search(r);
  ASSERT_FALSE(res.hits.empty());
  for (const auto& e : res.explanations) {
    if (e.in_window) {
      EXPECT_EQ(e.labels.size(), 1u);
    }
  }
  EXPECT_EQ(testing::stored_values(searcher_, res.hits[0].doc, "id")[0], "p42");
}

TEST_F(PipelineTest, RepeatedScoreSetsHowADisentangledLabelsLeavesCombine) {
  const TextDataset data = read_jsonl_dataset(dir_->file("catalog.jsonl"));
  TrainParams tp = default_text_train_params();
  tp.clustering.max_leaf_size = 2;
  tp.disentangle.max_copies = 3;
  tp.disentangle.min_votes = 1;
  tp.disentangle.leaf_growth = 1.0;
  const TextModel host = TextModel::train(data, default_vectorizer_config(), tp);
  ASSERT_GT(host.model().num_slots(), host.model().num_labels()) << "the test needs labels with several leaves";
  host.save(dir_->file("dis.xmr"));
  const LabelVocabulary vocab = host.labels();
  std::vector<Index> all(vocab.size());
  for (size_t l = 0; l < all.size(); ++l) all[l] = Index(l);

  SearchRequest r;
  r.text = "acme leather backpack shoes";
  r.explain = true;
  std::vector<Index> qi;
  std::vector<float> qv;
  host.vectorizer().transform(r.text, qi, qv);
  const SparseVectorView q{qi.data(), qv.data(), qi.size()};
  bool max_and_mean_differ = false;
  for (const std::string rep : {"max", "mean"}) {
    SCOPED_TRACE(rep);
    PredictParams pp = host.model().default_predict_params();
    pp.repeated = parse_repeated_label_score(rep);
    pp.top_k = 8;
    InferenceWorkspace ws;
    std::vector<float> label_scores(all.size());
    host.model().score_labels(q, all.data(), all.size(), pp, ws, label_scores.data());
    PredictParams other = pp;
    other.repeated = rep == "max" ? RepeatedLabelScore::kMean : RepeatedLabelScore::kMax;
    std::vector<float> other_scores(all.size());
    host.model().score_labels(q, all.data(), all.size(), other, ws, other_scores.data());
    max_and_mean_differ = max_and_mean_differ || label_scores != other_scores;

    expect_stages_score_as_the_model(host, r, pp,
                                     R"({"type": "categorize", "model": "dis.xmr", "top_k": 8, "min_score": -1e9,
                                         "repeated_score": ")" + rep + R"("},
                                        {"type": "rerank", "model": "dis.xmr", "label_field": "labels",
                                         "window_size": 20, "repeated_score": ")" + rep + "\"}");
  }
  EXPECT_TRUE(max_and_mean_differ) << "max and mean agree on every label: the test cannot tell them apart";
  EXPECT_NE(error_of([&] { make(R"({"type": "categorize", "model": "dis.xmr", "repeated_score": "median"})"); })
                .find("\"median\" is not one of"),
            std::string::npos);
}

TEST_F(PipelineTest, EnsembleModelServesBothStagesAsTheModelScoresIt) {
  const TextDataset data = read_jsonl_dataset(dir_->file("catalog.jsonl"));
  TrainParams tp = default_text_train_params();
  tp.clustering.max_leaf_size = 4;
  tp.trees = 3;
  const TextModel host = TextModel::train(data, default_vectorizer_config(), tp);
  ASSERT_EQ(host.model().num_trees(), 3u);
  host.save(dir_->file("ens.xmr"));
  SearchRequest r;
  r.text = "nova leather backpack strap";
  r.explain = true;
  PredictParams pp = host.model().default_predict_params();
  pp.top_k = 4;
  const SearchResult res = expect_stages_score_as_the_model(
      host, r, pp,
      R"({"type": "categorize", "model": "ens.xmr", "top_k": 4, "min_score": -1e9},
         {"type": "rerank", "model": "ens.xmr", "label_field": "labels", "window_size": 20})");
  ASSERT_FALSE(res.categories.empty());
  EXPECT_EQ(res.categories[0].label.rfind("Fashion", 0), 0u) << res.categories[0].label;
}

TEST_F(PipelineTest, CalibratedModelReportsProbabilitiesAndMinProbabilityNeedsOne) {
  const TextDataset data = read_jsonl_dataset(dir_->file("catalog.jsonl"));
  TrainParams tp = default_text_train_params();
  tp.clustering.max_leaf_size = 2;
  const FittedCalibration fitted = fit_held_out_calibration(data, default_vectorizer_config(), tp, 0.25, "catalog");
  Model::load(dir_->file("model.xmr")).with_calibration(fitted.map, fitted.info_json).save(dir_->file("cal.xmr"));
  SearchRequest r;
  r.text = "zen tote strap handbag";
  const auto plain = make(R"({"type": "categorize", "model": "model.xmr", "top_k": 3})")->search(r);
  const auto cal = make(R"({"type": "categorize", "model": "cal.xmr", "top_k": 3})")->search(r);
  ASSERT_EQ(plain.categories.size(), cal.categories.size());
  for (size_t i = 0; i < cal.categories.size(); ++i) {
    EXPECT_EQ(plain.categories[i].label, cal.categories[i].label);  // calibration does not reorder
    EXPECT_EQ(plain.categories[i].probability, -1.0f);
    EXPECT_GE(cal.categories[i].probability, 0.0f);
    EXPECT_LE(cal.categories[i].probability, 1.0f);
    if (i > 0) {
      EXPECT_LE(cal.categories[i].probability, cal.categories[i - 1].probability);
    }
  }
  const float cut = cal.categories[0].probability;
  const auto kept = make(R"({"type": "categorize", "model": "cal.xmr", "top_k": 3, "min_probability": )" +
                         std::to_string(cut) + "}")->search(r);
  ASSERT_FALSE(kept.categories.empty());
  for (const auto& c : kept.categories) EXPECT_GE(c.probability, cut);
  const auto boosted = make(R"({"type": "categorize", "model": "cal.xmr", "top_k": 3, "mode": "boost",
                                "field": "labels", "boost_by": "probability"})")->search(r);
  EXPECT_FALSE(boosted.hits.empty());
  auto error_of = [&](const std::string& stage) {
    try {
      make(stage);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of(R"({"type": "categorize", "model": "model.xmr", "min_probability": 0.5})")
                .find("option \"min_probability\": needs a calibrated model"),
            std::string::npos)
      << error_of(R"({"type": "categorize", "model": "model.xmr", "min_probability": 0.5})");
  EXPECT_NE(error_of(R"({"type": "categorize", "model": "cal.xmr", "min_probability": 1.5})").find("min_probability"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"type": "categorize", "model": "cal.xmr", "boost_by": "probability"})")
                .find("applies to mode \"boost\" only"),
            std::string::npos);
}

TEST_F(PipelineTest, BadConfigsFailAtCreationWithAClearMessage) {
  auto has = [](const std::string& msg, const std::string& part) {
    return msg.find(part) != std::string::npos ? ::testing::AssertionSuccess()
                                               : ::testing::AssertionFailure() << "message: " << msg;
  };
  EXPECT_TRUE(has(error_of([&] { make(R"({"type": "classify"})"); }), "unknown stage type \"classify\""));
  EXPECT_TRUE(has(error_of([&] { make(R"({"type": "categorize", "model": "nope.xmr"})"); }), "nope.xmr"));
  EXPECT_TRUE(has(error_of([&] { make(R"({"type": "categorize"})"); }), "option \"model\": is required"));
  EXPECT_TRUE(has(error_of([&] { make(R"({"type": "rerank", "model": "model.xmr", "label_field": "category"})"); }),
                  "field \"category\" is not an indexed field"));
  EXPECT_TRUE(has(error_of([&] { make(R"({"type": "rerank", "model": "model.xmr", "label_field": "text"})"); }),
                  "is a label of model"));
  EXPECT_TRUE(has(error_of([&] { make(R"({"type": "categorize", "model": "model.xmr", "mode": "filter"})"); }),
                  "option \"field\": is required"));
  EXPECT_TRUE(has(error_of([&] { make(R"({"type": "categorize", "model": "model.xmr", "topk": 3})"); }),
                  "unknown option \"topk\""));
  EXPECT_TRUE(has(error_of([&] {
                    make(R"({"type": "rerank", "model": "model.xmr", "label_field": "labels", "score_mode": "sum"})");
                  }),
                  "\"sum\" is not one of"));
  EXPECT_TRUE(has(error_of([&] { make(R"({"type": "rerank", "model": "model.xmr", "label_field": "labels",
                                         "window_size": 0})"); }),
                  "option \"window_size\""));
  EXPECT_TRUE(has(error_of([&] { make(R"({"type": "categorize", "model": "model.xmr"}, {"type": "categorize",
                                         "model": "model.xmr"})"); }),
                  "two stages are named \"categorize\""));
  EXPECT_TRUE(has(error_of([&] { make(R"({"type": "categorize", "model": "model.xmr")"); }), "malformed JSON"));
  EXPECT_TRUE(has(error_of([&] {
                    Pipeline::create(R"({"plugins": ["/nonexistent/libx.so"]})", searcher_, analyzer_);
                  }),
                  "/nonexistent/libx.so: plugin not found"));
  EXPECT_TRUE(has(error_of([&] { Pipeline::create(R"({"stage": []})", searcher_, analyzer_); }),
                  "unknown option \"stage\""));
}

TEST_F(PipelineTest, ReloadSwapsTheModelAndKeepsItOnFailure) {
  const auto p = make(R"({"type": "categorize", "model": "model.xmr", "top_k": 8})");
  SearchRequest r;
  r.text = "zen tote strap";
  const auto before = p->search(r).categories;
  const std::string generation_before = p->describe_resource("model.xmr");
  EXPECT_NE(error_of([&] { p->reload("model.xmr", dir_->file("missing.xmr")); }).find("missing.xmr"),
            std::string::npos);
  EXPECT_EQ(p->describe_resource("model.xmr"), generation_before);
  EXPECT_NE(error_of([&] { p->reload("other", dir_->file("model_b.xmr")); }).find("no resource named \"other\""),
            std::string::npos);
  p->reload("model.xmr", dir_->file("model_b.xmr"));
  EXPECT_NE(p->describe_resource("model.xmr"), generation_before);
  const auto after = p->search(r).categories;
  ASSERT_EQ(before.size(), after.size());
  bool differs = false;
  for (size_t i = 0; i < before.size(); ++i) differs |= before[i].score != after[i].score;
  EXPECT_TRUE(differs) << "the second model should score differently";
}

TEST_F(PipelineTest, LuceneSyntaxAndPlainTextBothParse) {
  auto p = Pipeline::create(R"({"query": {"default_field": "text", "syntax": "lucene"}})", searcher_, analyzer_);
  SearchRequest r;
  r.text = "laptop AND acme";
  for (const auto& h : p->search(r).hits) {
    const std::string t = testing::stored_values(searcher_, h.doc, "text")[0];
    EXPECT_NE(t.find("laptop"), std::string::npos);
    EXPECT_NE(t.find("acme"), std::string::npos);
  }
  // A syntax error is one short line that does not echo the query.
  const std::string long_query = "laptop AND (" + std::string(100000, 'x');
  const std::string msg = error_of([&] { r.text = long_query; p->search(r); });
  EXPECT_EQ(msg.rfind("parse: query syntax: ", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_LE(msg.size(), 240u) << msg;
  // Plain text never trips on syntax.
  auto plain = make("");
  r.text = "laptop AND ( \"";
  EXPECT_FALSE(plain->search(r).hits.empty());
}

TEST_F(PipelineTest, LabelAndKeyFieldsAreQueriedAsExactValues) {
  // xmr index recorded "labels" and "id" as exact-value fields: Lucene syntax on
  // them must find the stored value as it is, not its analyzed tokens.
  auto p = Pipeline::create(R"({"query": {"default_field": "text", "syntax": "lucene"}})", searcher_, analyzer_);
  SearchRequest r;
  r.num_hits = 100;
  r.text = R"(labels:"Fashion > Shoes")";
  const auto hits = p->search(r).hits;
  ASSERT_EQ(hits.size(), 20u);
  for (const auto& h : hits) EXPECT_EQ(labels_of(h.doc)[1], "Fashion > Shoes");
  r.text = "labels:Home";
  EXPECT_EQ(p->search(r).hits.size(), 40u);
  r.text = "id:p7";
  ASSERT_EQ(p->search(r).hits.size(), 1u);
  // The text field is still analyzed (lower-cased by the standard analyzer).
  r.text = "text:LAPTOP";
  EXPECT_FALSE(p->search(r).hits.empty());
  // A host's own index without xmr's record can name its exact fields.
  auto q = Pipeline::create(R"({"query": {"default_field": "text", "syntax": "lucene", "exact_fields": ["labels"]}})",
                            searcher_, analyzer_);
  r.text = "labels:Home";
  EXPECT_EQ(q->search(r).hits.size(), 40u);
}

TEST_F(PipelineTest, ConfigsThatCouldNeverWorkAreRefused) {
  auto has = [](const std::string& msg, const std::string& part) {
    return msg.find(part) != std::string::npos ? ::testing::AssertionSuccess()
                                               : ::testing::AssertionFailure() << "message: " << msg;
  };
  // A default field the index lacks would find nothing, forever.
  EXPECT_TRUE(has(error_of([&] { Pipeline::create(R"({"query": {"default_field": "title"}})", searcher_, analyzer_); }),
                  "default_field \"title\" is not an indexed field of the index (indexed: "));
  // Nesting that would overflow the parser's stack is refused by place.
  const std::string deep = "{\"stages\": " + std::string(120000, '[') + std::string(120000, ']') + "}";
  EXPECT_TRUE(has(error_of([&] { Pipeline::create(deep, searcher_, analyzer_); }),
                  "pipeline config: malformed JSON: nested deeper than 128 levels at byte 139"));
  // Stage counts are capped, and checked before any stage is made.
  std::string many = "{\"stages\": [";
  for (size_t i = 0; i <= kMaxStages; ++i) many += std::string(i ? "," : "") + "{\"type\": \"x\"}";
  many += "]}";
  EXPECT_TRUE(has(error_of([&] { Pipeline::create(many, searcher_, analyzer_); }),
                  "option \"stages\": 257 stages; at most 256"));
}

}  // namespace
}  // namespace xmr
