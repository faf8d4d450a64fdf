// The demo's pipeline on a small catalog: generate -> index -> train from
// the index -> load the plugin -> categorize + rerank the shopper queries.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "../core/test_util.h"
#include "../plugin/plugin_test_util.h"
#include "analyzers/lucene_index.h"
#include "analyzers/text_model.h"
#include "examples/catalog.h"
#include "examples/search_evaluation.h"
#include "plugin/pipeline.h"
#include "plugin/plugin_loader.h"

namespace xmr {
namespace {

TEST(Catalog, HasTheShapeTheDemoPromises) {
  CatalogParams p;
  p.products = 5000;
  p.queries = 500;
  const Catalog c = generate_catalog(p);
  EXPECT_GE(c.num_leaves, 1000u);
  EXPECT_EQ(c.products.size(), 5000u);
  std::map<std::string, size_t> leaf_count;
  size_t brand_only = 0;
  for (const auto& prod : c.products) {
    ASSERT_GE(prod.categories.size(), 3u);
    ASSERT_LE(prod.categories.size(), 4u);
    ++leaf_count[deepest_category(prod.categories)];
    EXPECT_EQ(prod.title.rfind(prod.brand, 0), 0u);
  }
  EXPECT_EQ(leaf_count.size(), c.num_leaves);  // every leaf has products
  // Long-tailed: the most popular leaf has many times the median's products.
  std::vector<size_t> counts;
  for (const auto& [leaf, n] : leaf_count) counts.push_back(n);
  std::sort(counts.begin(), counts.end());
  EXPECT_GT(counts.back(), 10 * counts[counts.size() / 2]);
  for (const auto& q : c.queries) brand_only += q.kind == "brand";
  EXPECT_GT(brand_only, 0u);
  // Same seed, same catalog.
  const Catalog again = generate_catalog(p);
  EXPECT_EQ(again.products.back().title, c.products.back().title);
  EXPECT_EQ(again.queries.back().text, c.queries.back().text);
}

TEST(ProductSearchDemo, RerankingBeatsPlainLuceneAndCategorizationBeatsTheMajorityClass) {
  testing::TempDir dir;
  CatalogParams p;
  p.products = 6000;
  p.queries = 600;
  p.seed = 3;
  const Catalog c = generate_catalog(p);
  write_catalog_products(c, dir.file("products.jsonl"));
  write_catalog_queries(c, dir.file("queries.jsonl"));
  IndexSpec spec;
  spec.text_fields = {"title"};
  spec.label_fields = {"categories"};
  spec.key_field = "id";
  build_lucene_index(dir.file("products.jsonl"), dir.file("index"), spec);
  const TextDataset train = read_lucene_index(dir.file("index"), "title", "categories");
  TextModel::train(train, default_vectorizer_config(), default_text_train_params()).save(dir.file("products.xmr"));

  load_plugin(testing::plugin_path());
  const auto searcher = testing::open_searcher(dir.file("index"));
  const auto analyzer = make_lucene_analyzer("standard");
  // The demo's own pipeline config, as shipped.
  std::ifstream shipped(std::string(XMR_SOURCE_DIR) + "/examples/product_search.json");
  std::ofstream(dir.file("pipeline.json")) << shipped.rdbuf();
  const auto pipeline = Pipeline::create_from_file(dir.file("pipeline.json"), searcher, analyzer);
  const auto baseline = Pipeline::create(R"({"query": {"default_field": "title"}})", searcher, analyzer);
  const SearchEvaluation e =
      evaluate_search(searcher, *baseline, *pipeline, read_jsonl_dataset(dir.file("queries.jsonl")), "categories");
  std::printf("[demo, %zu products, %zu queries] categorization P@1 %.4f P@3 %.4f (majority \"%s\" P@1 %.4f); "
              "nDCG@10 %.4f -> %.4f, P@10 %.4f -> %.4f\n",
              c.products.size(), e.queries, e.categorize_p1, e.categorize_p3, e.majority_label.c_str(), e.majority_p1,
              e.plain_ndcg10, e.pipeline_ndcg10, e.plain_p10, e.pipeline_p10);
  EXPECT_GT(e.pipeline_ndcg10, e.plain_ndcg10);
  EXPECT_GT(e.pipeline_p10, e.plain_p10);
  EXPECT_GT(e.categorize_p1, 3 * e.majority_p1);
  EXPECT_GT(e.categorize_p1, 0.6);
}

}  // namespace
}  // namespace xmr
