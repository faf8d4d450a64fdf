// A plugin whose one stage misbehaves on demand, for the pipeline's
// fail-open tests. Stage "fault" (post-retrieval) first scrambles the hits
// (reverses them, scores set to -1) and the categories, so a test can see
// whether the pipeline undid it, then:
//   "throw_on": "word"   throws when the query text contains the word
//   "sleep_ms": N        sleeps N ms when the query text contains "slow"
// It takes "window_size" per request (as hits_wanted) to test parameters.
#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "plugin/abi.h"
#include "plugin/json_config.h"
#include "plugin/stage.h"

namespace xmr {
namespace {

class FaultStage : public Stage {
 public:
  explicit FaultStage(const StageSpec& spec) {
    const JsonConfig config(spec.config_json, "stage \"" + spec.name + "\"");
    throw_on_ = config.get_string("throw_on", "");
    sleep_ms_ = (int)config.get_int("sleep_ms", 0, 0, 60000);
    config.reject_unknown_keys(pipeline_stage_keys());
  }
  StagePhase phase() const override { return StagePhase::kAfterSearch; }
  std::vector<ParamSpec> request_params() const override { return {{"window_size", 1, 1000, true}}; }
  int hits_wanted(const StageParams* params) const override {
    return (int)param_or(params, "window_size", 0);
  }
  void run(QueryContext& ctx) const override {
    std::reverse(ctx.hits.begin(), ctx.hits.end());
    for (auto& h : ctx.hits) h.score = -1;
    ctx.categories.push_back({"fault", -1, -1});
    if (!throw_on_.empty() && ctx.text.find(throw_on_) != std::string::npos) {
      throw std::runtime_error("fault injected for \"" + ctx.text + "\"");
    }
    if (sleep_ms_ > 0 && ctx.text.find("slow") != std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    }
  }

 private:
  std::string throw_on_;
  int sleep_ms_ = 0;
};

class FaultPlugin final : public PluginApi {
 public:
  std::vector<std::string> stage_types() const override { return {"fault"}; }
  std::unique_ptr<Stage> create_stage(const StageSpec& spec, StageEnv&) const override {
    return std::make_unique<FaultStage>(spec);
  }
};

PluginApi* plugin_api() {
  static FaultPlugin* api = new FaultPlugin;
  return api;
}

}  // namespace
}  // namespace xmr

extern "C" __attribute__((visibility("default"))) const XmrPluginDescriptor* xmr_plugin_descriptor(void) {
  static const std::string fingerprint = xmr::build_fingerprint();
  static const XmrPluginDescriptor descriptor = {XMR_PLUGIN_ABI_VERSION, "fault", "0", fingerprint.c_str(),
                                                 &xmr::plugin_api};
  return &descriptor;
}
