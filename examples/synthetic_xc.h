// A seeded generator of synthetic extreme multi-label data with the shape of
// real XC sets: power-law (Zipf) label frequencies, labels grouped in topics
// that share vocabulary (so label clustering has structure to find), and
// instances built from their labels' words plus noise. Used by the demo and
// the benchmarks; the same seed gives the same bytes.
#pragma once

#include <cstdint>

#include "core/xc_format.h"

namespace xmr {

struct SyntheticXcParams {
  size_t rows = 10000;
  size_t features = 20000;
  size_t labels = 1000;
  double zipf_exponent = 1.0;     // label l is drawn with weight 1 / (l + 1)^s
  double mean_labels_per_row = 2.0;
  size_t words_per_label = 12;    // each label's characteristic vocabulary
  size_t labels_per_topic = 20;   // labels sharing a topic vocabulary
  size_t nnz_per_row = 35;        // approximate non-zeros per row
  double noise_fraction = 0.3;    // share of a row's words drawn uniformly
  uint64_t seed = 1;
};

// Generates `rows` instances. Features are raw counts (not normalised).
XcDataset generate_synthetic_xc(const SyntheticXcParams& params);

}  // namespace xmr
