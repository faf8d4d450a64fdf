// `xmr train` options of the TF-IDF vectorizer (jsonl input).
#pragma once

#include "analyzers/vectorizer.h"
#include "index_tools/options.h"

namespace xmr::cli {

void add_vectorizer_options(po::options_description& o);
VectorizerConfig vectorizer_config_from(const po::variables_map& vm);  // throws xmr::Error

}  // namespace xmr::cli
