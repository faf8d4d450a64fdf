// Absurd sizes are refused before anything is allocated for them, and the
// largest accepted query (1 MiB) is served. Bounded work is shown by design
// (caps on terms, beams and hits), never by timing.
#include <gtest/gtest.h>
#include <lucene++/LuceneHeaders.h>

#include <cstdlib>
#include <string>

#include "analyzers/lucene_analyzers.h"
#include "analyzers/lucene_index.h"
#include "analyzers/text_model.h"
#include "analyzers/utf8.h"
#include "core/error.h"
#include "core/model.h"
#include "core/model_format.h"
#include "core/trainer.h"
#include "core/xc_format.h"
#include "examples/catalog.h"
#include "examples/synthetic_xc.h"
#include "plugin/pipeline.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

using testing::error_of;

const Model& small_model() {
  static const Model m = [] {
    SyntheticXcParams sp;
    sp.rows = 1500;
    sp.features = 3000;
    sp.labels = 120;
    const XcDataset d = generate_synthetic_xc(sp);
    TrainParams p;
    p.clustering.max_leaf_size = 10;
    return train_model(d.features, d.labels, p);
  }();
  return m;
}

// The model's file with its metadata JSON edited by `edit` (sections and
// checksums rebuilt, so only the edited claim is wrong).
std::string with_metadata(const Model& m, const std::function<std::string(std::string)>& edit) {
  const testing::TempDir dir;  // this process's own: ctest runs the tests in parallel
  const std::string path = dir.file("limits_src.xmr");
  m.save(path);
  const ModelFileReader r = ModelFileReader::open(ModelBlob::map_file(path), path, true);
  ModelFileWriter w;
  for (const auto& [name, sec] : r.sections) w.add_section(name, sec.data, sec.size);
  return w.finish(edit(r.metadata_json));
}

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  if (at == std::string::npos) throw Error("replace_once: '" + from + "' not found");
  return s.replace(at, from.size(), to);
}

TEST(Limits, ModelClaimingTwoToTheFortyLabelsIsRefused) {
  const Model& m = small_model();
  const std::string bytes = with_metadata(m, [&](std::string meta) {
    return replace_once(meta, "\"num_labels\":" + std::to_string(m.num_labels()), "\"num_labels\":1099511627776");
  });
  const std::string err = error_of([&] { Model::from_bytes(bytes, "huge.xmr"); });
  EXPECT_NE(err.find("huge.xmr: corrupt model: 1099511627776 labels"), std::string::npos) << err;
}

TEST(Limits, ModelLevelClaimingMoreEntriesThanTheFileIsRefused) {
  const Model& m = small_model();
  const LayerView& top = m.tree().layers[0];
  for (const char* field : {"children", "nnz", "chunk_features"}) {
    const size_t value = std::string(field) == "children" ? top.num_children
                         : std::string(field) == "nnz"    ? top.nnz
                                                          : top.num_chunk_feats;
    const std::string bytes = with_metadata(m, [&](std::string meta) {
      return replace_once(meta, "\"" + std::string(field) + "\":" + std::to_string(value),
                          "\"" + std::string(field) + "\":1099511627776");
    });
    const std::string err = error_of([&] { Model::from_bytes(bytes, "huge.xmr"); });
    EXPECT_NE(err.find("claims more entries than the file holds"), std::string::npos) << field << ": " << err;
  }
}

TEST(Limits, XcHeaderClaimingTwoToTheFortyRowsIsRefused) {
  const std::string err = error_of([] { parse_xc_text("1099511627776 10 10\n0 1:1\n", "big.txt"); });
  EXPECT_NE(err.find("big.txt"), std::string::npos) << err;
}

TEST(Limits, BeamAndTopKOfABillionAreRefused) {
  const Model& m = small_model();
  PredictParams p;
  p.beam_size = 1000000000;
  EXPECT_NE(error_of([&] { p.validate(); }).find("beam_size must be in 1..100000"), std::string::npos);
  CsrMatrix X;
  X.cols = m.num_features();
  X.append_row(std::vector<std::pair<Index, float>>{{0, 1.0f}});
  EXPECT_THROW(m.predict_batch(X, p), Error);
  p.beam_size = 10;
  p.top_k = 1000000000;
  EXPECT_NE(error_of([&] { p.validate(); }).find("top_k must be in 1..100000"), std::string::npos);
}

// The pipeline over a generated catalog, loaded from the plugin.
class PipelineLimits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/xmr-limits-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    CatalogParams cp;
    cp.products = 1200;
    cp.queries = 10;
    write_catalog_products(generate_catalog(cp), dir_ + "/products.jsonl");
    IndexSpec spec;
    spec.text_fields = {"title"};
    spec.label_fields = {"categories"};
    spec.key_field = "id";
    build_lucene_index(dir_ + "/products.jsonl", dir_ + "/index", spec);
    TextModel::train(read_lucene_index(dir_ + "/index", "title", "categories"), default_vectorizer_config(),
                     default_text_train_params())
        .save(dir_ + "/products.xmr");
  }

  std::unique_ptr<Pipeline> make(const std::string& syntax, const std::string& stage_options = "") const {
    const std::string config = R"({"plugins": [")" XMR_PLUGIN_PATH R"("],
      "query": {"default_field": "title", "syntax": ")" + syntax + R"("},
      "stages": [{"type": "categorize", "model": "products.xmr", "mode": "boost", "field": "categories")" +
                               stage_options + R"(},
                 {"type": "rerank", "model": "products.xmr", "label_field": "categories"}]})";
    Lucene::DirectoryPtr d = Lucene::FSDirectory::open(utf8_to_wide(dir_ + "/index"));
    PipelineOptions o;
    o.base_dir = dir_;
    return Pipeline::create(config, Lucene::newLucene<Lucene::IndexSearcher>(Lucene::IndexReader::open(d, true)),
                            make_lucene_analyzer("standard"), o);
  }

  // About `bytes` bytes of product words.
  static std::string long_query(size_t bytes) {
    const char* words[] = {"stainless", "steel", "pan", "running", "shoes", "cotton", "shirt", "blue", "organic"};
    std::string q;
    for (size_t i = 0; q.size() + 12 < bytes; ++i) q += std::string(words[(i * 7) % 9]) + " ";
    q.resize(bytes, 'x');
    return q;
  }

  static std::string dir_;
};
std::string PipelineLimits::dir_;

TEST_F(PipelineLimits, StageConfigsWithABillionAreRefused) {
  EXPECT_NE(error_of([&] { make("plain", R"(, "beam_size": 1000000000)"); }).find("beam_size"), std::string::npos);
  EXPECT_NE(error_of([&] { make("plain", R"(, "top_k": 1000000000)"); }).find("top_k"), std::string::npos);
}

TEST_F(PipelineLimits, AbsurdNumHitsIsRefused) {
  const auto p = make("plain");
  SearchRequest r;
  r.text = "pan";
  r.num_hits = 1000000000;
  EXPECT_NE(error_of([&] { p->search(r); }).find("num_hits must be in 0..100000"), std::string::npos);
}

TEST_F(PipelineLimits, OneMegabyteQueryIsServedAndLargerIsRefused) {
  const auto plain = make("plain");
  SearchRequest r;
  r.text = long_query(1000000);
  r.num_hits = 10;
  const SearchResult res = plain->search(r);  // terms past the clause limit are dropped
  EXPECT_EQ(res.hits.size(), 10u);
  EXPECT_FALSE(res.categories.empty());

  // Lucene syntax: the parser refuses more clauses than Lucene allows, as an xmr::Error.
  const auto lucene = make("lucene");
  const std::string err = error_of([&] { lucene->search(r); });
  EXPECT_NE(err.find("parse:"), std::string::npos) << err;

  r.text = long_query(kMaxQueryTextBytes + 1);
  EXPECT_NE(error_of([&] { plain->search(r); }).find("the limit is 1048576"), std::string::npos);
}

TEST_F(PipelineLimits, InvalidUtf8QueryIsAnErrorNotACrash) {
  const auto p = make("plain");
  SearchRequest r;
  r.text = "caf\xc3\xa9 \xff\xfe pan \xc3";
  const std::string err = error_of([&] { p->search(r); });
  EXPECT_NE(err.find("UTF-8"), std::string::npos) << err;
}

}  // namespace
}  // namespace xmr
