// The pipeline's JSON config on arbitrary bytes, over a real index and model.
// A "plugins" list is pointed at the xmr plugin (the target must not dlopen
// whatever paths the fuzzer invents); everything else is passed as given,
// model paths included. A pipeline that builds runs one query.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>

#include "plugin/pipeline.h"
#include "tests/fuzz/fuzz_fixture.h"

namespace {

std::string pin_plugins(const std::string& text, const std::string& plugin) {
  rapidjson::Document d;
  if (d.Parse(text.c_str(), text.size()).HasParseError() || !d.IsObject() || !d.HasMember("plugins")) return text;
  rapidjson::Value list(rapidjson::kArrayType);
  list.PushBack(rapidjson::Value(plugin.c_str(), d.GetAllocator()), d.GetAllocator());
  d["plugins"] = list;
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  d.Accept(w);
  return buf.GetString();
}

}  // namespace

// The fixture (index, model) takes seconds to build: not part of any input's time.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  xmr::fuzz::fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const xmr::fuzz::Fixture& f = xmr::fuzz::fixture();
  const std::string config =
      pin_plugins(std::string(reinterpret_cast<const char*>(data), size), f.plugin_path);
  xmr::fuzz::expect_only_xmr_errors([&] {
    xmr::PipelineOptions options;
    options.base_dir = f.dir;
    const auto pipeline = xmr::Pipeline::create(config, f.searcher, f.analyzer, options);
    xmr::SearchRequest r;
    r.text = "stainless steel frying pan";
    r.num_hits = 5;
    r.explain = true;
    pipeline->search(r);
  });
  return 0;
}
