#include "plugin/stage_policy.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "plugin/json_config.h"

namespace xmr {

namespace {

std::string format_number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

// The pipeline-level keys of a stage's config object: error policy, time
// budget and the request parameters it declares.
void read_stage_policy(const rapidjson::Value& object, const std::string& where, NamedStage& s) {
  const JsonConfig config(object, where);
  s.skip_on_error = config.get_choice("on_error", "fail", {"fail", "skip"}) == "skip";
  s.budget_micros = 1000.0 * config.get_double("time_budget_ms", 0.0, 0.0, 3600e3);
  const rapidjson::Value* declared = config.get_value("request_params");
  if (!declared) return;
  if (!declared->IsObject()) config.fail("request_params", "must be an object of parameter names");
  std::string accepted;
  const std::vector<ParamSpec> specs = s.stage->request_params();
  for (const auto& spec : specs) accepted += (accepted.empty() ? "" : ", ") + spec.name;
  for (auto m = declared->MemberBegin(); m != declared->MemberEnd(); ++m) {
    const std::string name = m->name.GetString();
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const ParamSpec& p) { return p.name == name; });
    if (spec == specs.end()) {
      config.fail("request_params", "\"" + name + "\" is not a parameter this stage takes per request (it takes: " +
                                        (accepted.empty() ? std::string("none") : accepted) + ")");
    }
    if (!m->value.IsObject()) config.fail("request_params", "\"" + name + "\" must be an object {\"min\": .., \"max\": ..}");
    const JsonConfig bounds(m->value, where + ": \"request_params\": \"" + name + "\"");
    ParamSpec declared_spec = *spec;
    declared_spec.min = bounds.get_double("min", spec->min, spec->min, spec->max);
    declared_spec.max = bounds.get_double("max", spec->max, spec->min, spec->max);
    bounds.reject_unknown_keys();
    if (declared_spec.min > declared_spec.max) bounds.fail("min", "is above \"max\"");
    s.declared[name] = declared_spec;
  }
}

// Checks a request's parameters for one stage against what its config declared.
void check_request_params(const NamedStage& s, const StageParams& params) {
  for (const auto& [name, value] : params) {
    const auto d = s.declared.find(name);
    if (d == s.declared.end()) {
      std::string declared;
      for (const auto& [n, spec] : s.declared) declared += (declared.empty() ? "" : ", ") + n;
      throw Error("search: params: stage \"" + s.name + "\": \"" + name +
                  "\" is not a request parameter of this stage (its config declares: " +
                  (declared.empty() ? std::string("none") : declared) + ")");
    }
    const ParamSpec& spec = d->second;
    const bool in_bounds = std::isfinite(value) && value >= spec.min && value <= spec.max;
    if (!in_bounds || (spec.integer && value != std::floor(value))) {
      throw Error("search: params: stage \"" + s.name + "\": \"" + name + "\" is " + format_number(value) +
                  "; it must be " + (spec.integer ? "an integer " : "") + "in " + format_number(spec.min) + ".." +
                  format_number(spec.max));
    }
  }
}

}  // namespace xmr
