// How raw per-level scores become a label's score. A post-processor maps each
// level's raw score s through a transform and combines it with the parent's
// combined score:
//
//   l3-hinge      exp(-max(0, 1 - s)^3),  multiplied down the path (default)
//   log-l3-hinge  -max(0, 1 - s)^3,       added down the path
//   sigmoid       1 / (1 + exp(-s)),      multiplied
//   log-sigmoid   log(sigmoid(s)),        added
//   noop          s,                      the last level's score alone
//
// The log forms rank exactly as their product forms do.
#pragma once

#include <cmath>
#include <string>

namespace xmr {

enum class PostProcessor { kL3Hinge, kLogL3Hinge, kSigmoid, kLogSigmoid, kNoop };

// Name <-> enum. parse_postprocessor throws xmr::Error on an unknown name,
// listing the known ones.
PostProcessor parse_postprocessor(const std::string& name);
const char* postprocessor_name(PostProcessor p);

// The combined score of the root.
inline float postprocess_initial(PostProcessor p) {
  return (p == PostProcessor::kL3Hinge || p == PostProcessor::kSigmoid) ? 1.0f : 0.0f;
}

// max(0, 1 - s)^3, as both l3-hinge forms compute it.
inline float l3_hinge_cube(float raw) {
  const float h = raw < 1.0f ? 1.0f - raw : 0.0f;
  return h * h * h;
}

inline float postprocess_combine(PostProcessor p, float parent, float raw) {
  switch (p) {
    case PostProcessor::kL3Hinge:
      return parent * std::exp(-l3_hinge_cube(raw));
    case PostProcessor::kLogL3Hinge:
      return parent - l3_hinge_cube(raw);
    case PostProcessor::kSigmoid:
      return parent / (1.0f + std::exp(-raw));
    case PostProcessor::kLogSigmoid:
      // log(sigmoid(s)) = -log1p(exp(-s)), written to stay finite for large |s|.
      return parent + (raw >= 0 ? -std::log1p(std::exp(-raw)) : raw - std::log1p(std::exp(raw)));
    case PostProcessor::kNoop:
      return raw;
  }
  return raw;
}

}  // namespace xmr
