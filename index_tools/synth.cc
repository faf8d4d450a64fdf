#include <cstdio>

#include "core/xc_format.h"
#include "examples/synthetic_xc.h"
#include "index_tools/command.h"
#include "index_tools/options.h"

namespace xmr::cli {

int run_synth(int argc, char** argv) {
  SyntheticXcParams p;
  std::string train_path, test_path;
  size_t test_rows = 0;
  po::options_description o("xmr synth options");
  o.add_options()
      ("train", po::value(&train_path)->required(), "training file to write (XC format)")
      ("test", po::value(&test_path), "test file to write (XC format), drawn from the same labels")
      ("rows", po::value(&p.rows)->default_value(10000), "training rows")
      ("test-rows", po::value(&test_rows)->default_value(2000), "test rows")
      ("features", po::value(&p.features)->default_value(20000), "feature count")
      ("labels", po::value(&p.labels)->default_value(1000), "label count")
      ("zipf", po::value(&p.zipf_exponent)->default_value(1.0), "label frequency exponent")
      ("labels-per-row", po::value(&p.mean_labels_per_row)->default_value(2.0), "mean labels per row")
      ("nnz", po::value(&p.nnz_per_row)->default_value(35), "words per row")
      ("seed", po::value(&p.seed)->default_value(1), "random seed");
  po::variables_map vm;
  if (!parse_options(argc, argv, "xmr synth --train FILE [--test FILE] [options]", o, vm)) return 0;
  // Train and test come from one draw so they share the label vocabulary.
  const size_t train_rows = p.rows;
  if (!test_path.empty()) p.rows += test_rows;
  XcDataset all = generate_synthetic_xc(p);
  std::vector<Index> train_ids, test_ids;
  for (size_t i = 0; i < all.features.rows; ++i) (i < train_rows ? train_ids : test_ids).push_back(Index(i));
  write_xc_file(train_path, {all.features.select_rows(train_ids), all.labels.select_rows(train_ids)});
  if (!test_path.empty()) write_xc_file(test_path, {all.features.select_rows(test_ids), all.labels.select_rows(test_ids)});
  return 0;
}

}  // namespace xmr::cli
