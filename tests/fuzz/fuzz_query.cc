// Arbitrary bytes as query text (invalid UTF-8, control characters, query
// syntax, megabyte inputs) through the full pipeline, categorize + rerank, in
// both query syntaxes, and through the model's vectorizer directly.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analyzers/text_model.h"
#include "plugin/pipeline.h"
#include "tests/fuzz/fuzz_fixture.h"

namespace {

std::unique_ptr<xmr::Pipeline> make(const std::string& syntax) {
  const xmr::fuzz::Fixture& f = xmr::fuzz::fixture();
  const std::string config = R"({"plugins": [")" + f.plugin_path + R"("],
    "query": {"default_field": "title", "syntax": ")" + syntax + R"("},
    "stages": [{"type": "categorize", "model": "products.xmr", "mode": "boost", "field": "categories"},
               {"type": "rerank", "model": "products.xmr", "label_field": "categories", "window_size": 50}]})";
  xmr::PipelineOptions options;
  options.base_dir = f.dir;
  return xmr::Pipeline::create(config, f.searcher, f.analyzer, options);
}

}  // namespace

std::unique_ptr<xmr::Pipeline> g_plain, g_lucene;
std::unique_ptr<xmr::TextModel> g_model;

// The fixture (index, model) and pipelines take seconds to build: not part of
// any input's time.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_plain = make("plain");
  g_lucene = make("lucene");
  g_model = std::make_unique<xmr::TextModel>(xmr::TextModel::load(xmr::fuzz::fixture().dir + "/products.xmr"));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const auto* p : {g_plain.get(), g_lucene.get()}) {
    xmr::fuzz::expect_only_xmr_errors([&] {
      xmr::SearchRequest r;
      r.text = text;
      r.num_hits = 10;
      p->search(r);
    });
  }
  xmr::fuzz::expect_only_xmr_errors([&] {
    std::vector<xmr::Index> idx;
    std::vector<float> val;
    g_model->vectorizer().transform(text, idx, val);
  });
  return 0;
}
