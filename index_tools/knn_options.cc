#include "index_tools/knn_options.h"

#include <optional>

#include "core/error.h"

namespace xmr::cli {

void add_knn_options(po::options_description& o) {
  o.add_options()
      ("knn", po::value<int>()->default_value(0),
       "fuse the trees' scores with the labels of the K training rows nearest the query (0 = off; the model keeps "
       "the training rows). Raised P@1 on delicious' tags, lowered it on short texts: README, \"Nearest-neighbour vote\"")
      ("knn-weight", po::value<std::string>()->default_value("0.3"),
       "the vote's share of the fused score, (0, 1], or auto: the best of 0.1, 0.2, 0.3 and 0.5 on about a fifth "
       "of the training rows held out, kept only if it gains more than twice its standard error there (one more "
       "training)")
      ("knn-power", po::value<float>()->default_value(KnnVoteParams{}.power, "3"), "a neighbour votes with similarity^power");
}

KnnVoteParams knn_params_from(const po::variables_map& vm) {
  KnnVoteParams p;
  p.k = vm["knn"].as<int>();
  const std::string weight = vm["knn-weight"].as<std::string>();
  if (weight == "auto") {
    p.weight = kKnnAutoWeight;
  } else {
    const std::optional<double> w = whole_double(weight);
    if (!w) throw Error("--knn-weight: '" + weight + "' is neither a number nor auto");
    p.weight = float(*w);
  }
  p.power = vm["knn-power"].as<float>();
  for (const char* option : {"knn-weight", "knn-power"}) {
    if (!vm[option].defaulted() && !p.enabled()) throw Error(std::string("--") + option + " needs --knn K");
  }
  p.validate();
  return p;
}

std::vector<std::string> knn_args(const KnnVoteParams& knn) {
  if (!knn.enabled()) return {};
  return {"--knn", std::to_string(knn.k), "--knn-weight", knn.auto_weight() ? "auto" : exact_float(knn.weight),
          "--knn-power", exact_float(knn.power)};
}

}  // namespace xmr::cli
