// `xmr train` and `xmr bench` options of the deep matcher (core/deep_matcher.h).
#pragma once

#include "core/encoder_trainer.h"
#include "index_tools/options.h"

namespace xmr::cli {

void add_encoder_options(po::options_description& o);
// --encoder none (disabled) or deep with its settings; throws xmr::Error on
// an unknown value or a setting out of range.
DeepMatcherParams deep_matcher_params_from(const po::variables_map& vm);

}  // namespace xmr::cli
