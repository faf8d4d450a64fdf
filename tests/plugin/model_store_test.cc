// The pipeline's model store: named models with versions, activated by
// name, and chosen per request among a stage's allowed models.
#include <gtest/gtest.h>

#include "pipeline_fixture.h"

namespace xmr {
namespace {

using testing::error_of;

::testing::AssertionResult has(const std::string& message, const std::string& part) {
  return message.find(part) != std::string::npos ? ::testing::AssertionSuccess()
                                                 : ::testing::AssertionFailure() << "message: " << message;
}

class ModelStoreTest : public testing::PipelineFixture {
 protected:
  std::unique_ptr<Pipeline> make_with_store(const std::string& models, const std::string& stages) const {
    return make_config("\"models\": " + models + ", \"stages\": [" + stages + "]");
  }
  // The categories a pipeline over one model file gives for `text`.
  std::vector<ClassificationResult> categories_of(const std::string& file, const std::string& text) const {
    SearchRequest r;
    r.text = text;
    return make(R"({"type": "categorize", "model": ")" + file + R"(", "top_k": 8})")->search(r).categories;
  }
  static void expect_same(const std::vector<ClassificationResult>& a, const std::vector<ClassificationResult>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].label, b[i].label);
      EXPECT_EQ(a[i].score, b[i].score);
    }
  }
};

const char* kTwoVersions = R"({"products": {"versions": {"v1": "model.xmr", "v2": "model_b.xmr"}, "active": "v1"}})";

TEST_F(ModelStoreTest, VersionsAreActivatedByNameAndResultsSayWhichAnswered) {
  const auto p = make_with_store(kTwoVersions, R"({"type": "categorize", "model": "products", "top_k": 8},
      {"type": "rerank", "model": "products", "label_field": "labels"})");
  SearchRequest r;
  r.text = "zen tote strap";
  const SearchResult first = p->search(r);
  expect_same(first.categories, categories_of("model.xmr", r.text));
  ASSERT_EQ(first.models_used.size(), 2u);
  EXPECT_EQ(first.models_used[0].stage, "categorize");
  EXPECT_EQ(first.models_used[0].model, "products");
  EXPECT_EQ(first.models_used[0].version, "v1");
  EXPECT_EQ(first.models_used[1].stage, "rerank");
  EXPECT_EQ(first.models_used[1].version, "v1");

  p->activate("products", "v2");
  const SearchResult second = p->search(r);
  expect_same(second.categories, categories_of("model_b.xmr", r.text));
  EXPECT_EQ(second.models_used[0].version, "v2");
  EXPECT_EQ(second.models_used[1].version, "v2");  // both stages share the store's one copy
  EXPECT_TRUE(has(p->describe_resource("products"), "version v2: "));
  const auto store = p->store_models();
  ASSERT_EQ(store.size(), 1u);
  EXPECT_EQ(store[0].name, "products");
  EXPECT_EQ(store[0].active, "v2");
  EXPECT_EQ(store[0].versions, (std::vector<std::string>{"v1", "v2"}));
}

TEST_F(ModelStoreTest, BadActivationsLeaveTheActiveVersionServing) {
  const auto p = make_with_store(kTwoVersions, R"({"type": "categorize", "model": "products", "top_k": 8})");
  SearchRequest r;
  r.text = "acme laptop";
  EXPECT_TRUE(has(error_of([&] { p->activate("shoes", "v1"); }),
                  "activate: no model named \"shoes\" in the model store (models: products)"));
  EXPECT_TRUE(has(error_of([&] { p->activate("products", "v9"); }),
                  "activate \"products\": no version \"v9\" (versions: v1, v2)"));
  EXPECT_TRUE(has(error_of([&] { p->add_model_version("products", "v1", "model_b.xmr"); }),
                  "version \"v1\" exists already"));
  p->add_model_version("products", "v3", "missing.xmr");
  EXPECT_TRUE(has(error_of([&] { p->activate("products", "v3"); }), "activate \"products\" version \"v3\": "));
  EXPECT_TRUE(has(error_of([&] { p->activate("products", "v3"); }), "missing.xmr"));
  EXPECT_EQ(p->store_models()[0].active, "v1");
  EXPECT_EQ(p->search(r).models_used.at(0).version, "v1");
  // A version added at run time serves once activated.
  p->add_model_version("products", "v4", dir_->file("model_b.xmr"));
  p->activate("products", "v4");
  const SearchResult res = p->search(r);
  EXPECT_EQ(res.models_used.at(0).version, "v4");
  expect_same(res.categories, categories_of("model_b.xmr", r.text));
}

TEST_F(ModelStoreTest, ARequestChoosesAmongTheStagesAllowedModels) {
  const auto p = make_with_store(
      R"({"a": {"versions": {"1": "model.xmr"}}, "b": {"versions": {"1": "model_b.xmr"}}})",
      R"({"type": "categorize", "model": "a", "allowed_models": ["a", "b"], "top_k": 8},
         {"type": "rerank", "model": "a", "label_field": "labels"})");
  SearchRequest r;
  r.text = "nova pillow duvet";
  expect_same(p->search(r).categories, categories_of("model.xmr", r.text));
  r.models["categorize"] = "b";
  const SearchResult chosen = p->search(r);
  expect_same(chosen.categories, categories_of("model_b.xmr", r.text));
  EXPECT_EQ(chosen.models_used.at(0).model, "b");
  EXPECT_EQ(chosen.models_used.at(1).model, "a");  // the rerank stage kept its own

  r.models["categorize"] = "c";
  EXPECT_TRUE(has(error_of([&] { p->search(r); }),
                  "search: models: stage \"categorize\": model \"c\" is not allowed (allowed_models: a, b)"));
  r.models = {{"rerank", "b"}};
  EXPECT_TRUE(has(error_of([&] { p->search(r); }), "the stage takes no model per request"));
  r.models = {{"nothing", "b"}};
  EXPECT_TRUE(has(error_of([&] { p->search(r); }), "search: models: no stage named \"nothing\""));
}

TEST_F(ModelStoreTest, BadStoresAreRefusedAtCreation) {
  const std::string stage = R"({"type": "categorize", "model": "products"})";
  EXPECT_TRUE(has(error_of([&] { make_with_store("[]", stage); }), "\"models\": must be an object of model names"));
  EXPECT_TRUE(has(error_of([&] { make_with_store(R"({"products": {}})", stage); }),
                  "option \"versions\": is required"));
  EXPECT_TRUE(has(error_of([&] {
                    make_with_store(R"({"products": {"versions": {"v1": "model.xmr", "v2": "model_b.xmr"}}})", stage);
                  }),
                  "option \"active\": is required when a model has several versions"));
  EXPECT_TRUE(has(error_of([&] {
                    make_with_store(R"({"products": {"versions": {"v1": "model.xmr"}, "active": "v2"}})", stage);
                  }),
                  "option \"active\": \"v2\" is not one of its versions"));
  EXPECT_TRUE(has(error_of([&] {
                    make_with_store(R"({"products": {"versions": {"v1": "nope.xmr"}}})", stage);
                  }),
                  "nope.xmr"));
  EXPECT_TRUE(has(error_of([&] {
                    make_with_store(R"({"products": {"versions": {"v1": "model.xmr"}},
                                        "products": {"versions": {"v1": "model_b.xmr"}}})",
                                    stage);
                  }),
                  "\"models\": \"products\": named twice"));
  EXPECT_TRUE(has(error_of([&] {
                    make_with_store(R"({"products": {"versions": {"v1": "model.xmr"}}})",
                                    R"({"type": "categorize", "model": "products", "allowed_models": ["zz.xmr"]})");
                  }),
                  "zz.xmr"));
}

}  // namespace
}  // namespace xmr
