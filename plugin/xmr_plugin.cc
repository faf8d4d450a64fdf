// The xmr plugin's entry point: the descriptor and the stage factory.
#include <stdexcept>

#include "plugin/abi.h"
#include "plugin/categorize_stage.h"
#include "plugin/rerank_stage.h"
#include "plugin/retrieve_stage.h"
#include "plugin/stage.h"

#ifndef XMR_VERSION
#error "XMR_VERSION must be defined by the build"
#endif

namespace xmr {
namespace {

class XmrPlugin final : public PluginApi {
 public:
  std::vector<std::string> stage_types() const override { return {"categorize", "rerank", "retrieve"}; }
  std::unique_ptr<Stage> create_stage(const StageSpec& spec, StageEnv& env) const override {
    if (spec.type == "categorize") return make_categorize_stage(spec, env);
    if (spec.type == "rerank") return make_rerank_stage(spec, env);
    if (spec.type == "retrieve") return make_retrieve_stage(spec, env);
    throw std::invalid_argument("the xmr plugin has no stage type \"" + spec.type + "\"");
  }
};

PluginApi* plugin_api() {
  static XmrPlugin* api = new XmrPlugin;  // lives until exit; the plugin is never unloaded
  return api;
}

}  // namespace
}  // namespace xmr

extern "C" __attribute__((visibility("default"))) const XmrPluginDescriptor* xmr_plugin_descriptor(void) {
  static const std::string fingerprint = xmr::build_fingerprint();
  static const XmrPluginDescriptor descriptor = {XMR_PLUGIN_ABI_VERSION, "xmr", XMR_VERSION, fingerprint.c_str(),
                                                 &xmr::plugin_api};
  return &descriptor;
}
