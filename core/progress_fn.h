// The progress callback long steps report through.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace xmr {

// Progress of a long step: `done` of `total` units (total 0 = unknown);
// done == 0 starts the step. May be called from several threads at once, so
// the receiver must be thread-safe (and cheap: it is called per unit).
using ProgressFn = std::function<void(const std::string& step, size_t done, size_t total)>;

// `progress` with `prefix` before each step name (empty when progress is).
inline ProgressFn prefixed(const ProgressFn& progress, const std::string& prefix) {
  if (!progress) return {};
  return [progress, prefix](const std::string& step, size_t done, size_t total) { progress(prefix + step, done, total); };
}

}  // namespace xmr
