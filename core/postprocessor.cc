#include "core/postprocessor.h"

#include "core/error.h"

namespace xmr {

namespace {
constexpr struct {
  PostProcessor kind;
  const char* name;
} kNames[] = {{PostProcessor::kL3Hinge, "l3-hinge"},
              {PostProcessor::kLogL3Hinge, "log-l3-hinge"},
              {PostProcessor::kSigmoid, "sigmoid"},
              {PostProcessor::kLogSigmoid, "log-sigmoid"},
              {PostProcessor::kNoop, "noop"}};
}  // namespace

PostProcessor parse_postprocessor(const std::string& name) {
  std::string known;
  for (const auto& n : kNames) {
    if (name == n.name) return n.kind;
    known += known.empty() ? n.name : std::string(", ") + n.name;
  }
  throw Error("unknown post-processor '" + name + "' (known: " + known + ")");
}

const char* postprocessor_name(PostProcessor p) {
  for (const auto& n : kNames) {
    if (n.kind == p) return n.name;
  }
  return "?";
}

}  // namespace xmr
