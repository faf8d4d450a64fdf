#include "index_tools/knn_options.h"

#include <cstdio>

#include "core/error.h"

namespace xmr::cli {

namespace {

std::string shortest(float v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.9g", double(v));
  return b;
}

}  // namespace

void add_knn_options(po::options_description& o) {
  KnnVoteParams d;
  o.add_options()
      ("knn", po::value<int>()->default_value(0),
       "fuse the trees' scores with the labels of the K training rows nearest the query (0 = off; the model keeps "
       "the training rows). Raised P@1 on delicious' tags, lowered it on short texts: README, \"Nearest-neighbour vote\"")
      ("knn-weight", po::value<float>()->default_value(d.weight, "0.3"), "the vote's share of the fused score, (0, 1]")
      ("knn-power", po::value<float>()->default_value(d.power, "3"), "a neighbour votes with similarity^power");
}

KnnVoteParams knn_params_from(const po::variables_map& vm) {
  KnnVoteParams p;
  p.k = vm["knn"].as<int>();
  p.weight = vm["knn-weight"].as<float>();
  p.power = vm["knn-power"].as<float>();
  for (const char* option : {"knn-weight", "knn-power"}) {
    if (!vm[option].defaulted() && !p.enabled()) throw Error(std::string("--") + option + " needs --knn K");
  }
  p.validate();
  return p;
}

std::vector<std::string> knn_args(const KnnVoteParams& knn) {
  if (!knn.enabled()) return {};
  return {"--knn", std::to_string(knn.k), "--knn-weight", shortest(knn.weight), "--knn-power", shortest(knn.power)};
}

}  // namespace xmr::cli
