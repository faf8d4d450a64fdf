// The plugin tests' fixture: a small generated catalog (six categories, two
// levels of labels, ids), its Lucene++ index and two models trained on it
// (model.xmr and model_b.xmr), built once per test program.
#pragma once

#include <gtest/gtest.h>

#include <random>

#include "../core/test_util.h"
#include "analyzers/lucene_index.h"
#include "analyzers/text_calibration.h"
#include "analyzers/text_model.h"
#include "plugin/pipeline.h"
#include "plugin/plugin_loader.h"
#include "plugin_test_util.h"

namespace xmr::testing {

struct Category {
  const char* path;
  std::vector<const char*> words;
};

inline const std::vector<Category> kCategories = {
    {"Electronics > Laptops", {"laptop", "notebook", "ultrabook", "ssd", "keyboard"}},
    {"Electronics > Phones", {"phone", "smartphone", "sim", "camera", "android"}},
    {"Home > Kitchen", {"pan", "skillet", "knife", "cookware", "nonstick"}},
    {"Home > Bedding", {"pillow", "duvet", "sheet", "cotton", "mattress"}},
    {"Fashion > Shoes", {"shoes", "sneakers", "running", "sole", "leather"}},
    {"Fashion > Bags", {"backpack", "handbag", "tote", "strap", "leather"}},
};

// 20 titles per category: a brand, three of its words and, every third
// title, a word of another category.
inline std::string catalog_jsonl() {
  const char* brands[] = {"acme", "nova", "zen"};
  std::mt19937 rng(7);
  std::string out;
  for (size_t c = 0; c < kCategories.size(); ++c) {
    for (int i = 0; i < 20; ++i) {
      std::string title = brands[rng() % 3];
      for (int w = 0; w < 3; ++w) title += std::string(" ") + kCategories[c].words[rng() % 5];
      if (i % 3 == 0) title += std::string(" ") + kCategories[(c + 1 + rng() % 5) % 6].words[rng() % 5];
      const std::string path = kCategories[c].path;
      const std::string top = path.substr(0, path.find(" > "));
      out += "{\"text\": \"" + title + "\", \"labels\": [\"" + top + "\", \"" + path + "\"], \"id\": \"p" +
             std::to_string(c * 20 + i) + "\"}\n";
    }
  }
  return out;
}

class PipelineFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    write_text(dir_->file("catalog.jsonl"), catalog_jsonl());
    IndexSpec spec;
    spec.text_fields = {"text"};
    spec.label_fields = {"labels"};
    spec.key_field = "id";
    build_lucene_index(dir_->file("catalog.jsonl"), dir_->file("index"), spec);
    const TextDataset data = read_jsonl_dataset(dir_->file("catalog.jsonl"));
    TrainParams p = default_text_train_params();
    p.clustering.max_leaf_size = 2;  // a real tree over the 8 labels
    TextModel::train(data, default_vectorizer_config(), p).save(dir_->file("model.xmr"));
    p.seed = 1;
    p.negatives = NegativeSampling::kTeacherForced;
    TextModel::train(data, default_vectorizer_config(), p).save(dir_->file("model_b.xmr"));
  }
  static void TearDownTestSuite() { delete dir_; }

  void SetUp() override {
    searcher_ = open_searcher(dir_->file("index"));
    analyzer_ = make_lucene_analyzer("standard");
  }

  std::unique_ptr<Pipeline> make(const std::string& stages) const { return make_config("\"stages\": [" + stages + "]"); }

  // A pipeline from the config members `members` (e.g. "\"models\": {...},
  // \"stages\": [...]") searching the "text" field, with the xmr plugin and
  // `extra_plugin` (a path, or empty) loaded, over `searcher` (default: the
  // fixture's); paths relative to the fixture's directory.
  std::unique_ptr<Pipeline> make_config(const std::string& members, const std::string& extra_plugin = "",
                                        Lucene::IndexSearcherPtr searcher = nullptr) const {
    const std::string plugins = "\"" + plugin_path() + "\"" + (extra_plugin.empty() ? "" : ", \"" + extra_plugin + "\"");
    const std::string config =
        "{\"plugins\": [" + plugins + "], \"query\": {\"default_field\": \"text\"}, " + members + "}";
    PipelineOptions options;
    options.base_dir = dir_->path();
    return Pipeline::create(config, searcher ? searcher : searcher_, analyzer_, options);
  }

  std::vector<std::string> labels_of(int32_t doc) const { return stored_values(searcher_, doc, "labels"); }

  // Runs `stages` (a categorize and a rerank stage on `host`'s file) for `r`
  // (with explain) and checks their answers against the model's own: the
  // categories as predict gives them with `pp`, every explained label's score
  // as score_labels does. Returns the result for further checks.
  SearchResult expect_stages_score_as_the_model(const TextModel& host, const SearchRequest& r, const PredictParams& pp,
                                                const std::string& stages) const {
    const LabelVocabulary vocab = host.labels();
    std::vector<Index> all(vocab.size());
    for (size_t l = 0; l < all.size(); ++l) all[l] = Index(l);
    std::vector<Index> qi;
    std::vector<float> qv;
    host.vectorizer().transform(r.text, qi, qv);
    const SparseVectorView q{qi.data(), qv.data(), qi.size()};
    InferenceWorkspace ws;
    std::vector<ScoredLabel> expected;
    host.model().predict(q, pp, ws, expected);
    std::vector<float> label_scores(all.size());
    host.model().score_labels(q, all.data(), all.size(), pp, ws, label_scores.data());
    const SearchResult res = make(stages)->search(r);
    EXPECT_EQ(res.categories.size(), expected.size());
    for (size_t i = 0; i < expected.size() && i < res.categories.size(); ++i) {
      EXPECT_EQ(res.categories[i].label, host.model().label_name(expected[i].label));
      EXPECT_FLOAT_EQ(res.categories[i].score, expected[i].score);
    }
    size_t checked = 0;
    for (const auto& e : res.explanations) {
      for (const auto& l : e.labels) {
        EXPECT_FLOAT_EQ(l.score, label_scores[size_t(vocab.id(l.label))]) << l.label;
        ++checked;
      }
    }
    EXPECT_GT(checked, 0u);
    return res;
  }

  inline static TempDir* dir_ = nullptr;
  Lucene::IndexSearcherPtr searcher_;
  Lucene::AnalyzerPtr analyzer_;
};


}  // namespace xmr::testing
