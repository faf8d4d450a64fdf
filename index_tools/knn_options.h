// `xmr train` and `xmr bench` options of the nearest-neighbour vote
// (core/knn_vote.h).
#pragma once

#include <string>
#include <vector>

#include "core/knn_vote.h"
#include "index_tools/options.h"

namespace xmr::cli {

void add_knn_options(po::options_description& o);
// --knn K (0 = no vote) with its weight and power; throws xmr::Error when a
// value is out of range or --knn-weight / --knn-power come without --knn.
KnnVoteParams knn_params_from(const po::variables_map& vm);
// The same settings as command-line arguments (empty for no vote).
std::vector<std::string> knn_args(const KnnVoteParams& knn);

}  // namespace xmr::cli
