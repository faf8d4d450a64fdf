#include <cstdio>

#include "core/model.h"
#include "index_tools/command.h"
#include "index_tools/options.h"

namespace xmr::cli {

int run_inspect(int argc, char** argv) {
  std::string model_path;
  po::options_description o("xmr inspect options");
  o.add_options()("model", po::value(&model_path)->required(), "model file");
  po::variables_map vm;
  if (!parse_options(argc, argv, "xmr inspect --model PATH", o, vm)) return 0;
  const Model m = Model::load(model_path);
  std::printf("model        %s\nfile size    %zu bytes\nfeatures     %zu\nlabels       %zu (%zu leaf slots)\n",
              model_path.c_str(), m.file_size(), m.num_features(), m.num_labels(), m.num_slots());
  std::printf("postprocess  %s\nlevels       %zu\n", postprocessor_name(m.default_postprocessor()), m.depth());
  size_t total = 0;
  for (size_t t = 0; t < m.depth(); ++t) {
    const LayerView& L = m.tree().layers[t];
    total += L.nnz;
    std::printf("  level %zu: %zu nodes under %zu parents, %zu weights (%.1f per node)\n", t + 1, L.num_children,
                L.num_parents, L.nnz, L.num_children ? double(L.nnz) / L.num_children : 0.0);
  }
  std::printf("weights      %zu\nmetadata     %s\n", total, m.metadata_json().c_str());
  return 0;
}

}  // namespace xmr::cli
