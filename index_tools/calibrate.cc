// xmr calibrate: fit a model's score -> probability map on held-out labelled
// data and store it in the model file (atomically; the rankings do not change).
#include <cstdio>

#include "core/error.h"
#include "core/model.h"
#include "core/model_calibration.h"
#include "index_tools/command.h"
#include "index_tools/data_input.h"
#include "index_tools/options.h"

namespace xmr::cli {

int run_calibrate(int argc, char** argv) {
  std::string model_path, input, format, output;
  int k = 10, threads = 0;
  po::options_description o("xmr calibrate options");
  o.add_options()
      ("model", po::value(&model_path)->required(), "model file")
      ("input", po::value(&input)->required(),
       "held-out labelled data (not the training data: its scores are over-confident)")
      ("format", po::value(&format), "input format: xc | jsonl; default: from the input")
      ("text-field", po::value<std::string>()->default_value("text"), "jsonl member holding the text")
      ("label-field", po::value<std::string>()->default_value("labels"), "jsonl member holding the labels")
      ("normalize", po::bool_switch(), "L2-normalise feature rows (xc)")
      ("k", po::value(&k)->default_value(10), "labels per row the map is fitted on (ranks 1..k)")
      ("threads", po::value(&threads)->default_value(0), "threads (0 = all)")
      ("output,o", po::value(&output), "model file to write (atomically); default: --model itself")
      ("quiet,q", po::bool_switch(), "no summary on stderr");
  po::variables_map vm;
  if (!parse_options(argc, argv, "xmr calibrate --model PATH --input HELD_OUT [--output PATH]", o, vm)) return 0;
  if (k < 1 || k > 1000) throw Error("--k must be in 1..1000");
  const Model model = Model::load(model_path);
  const LabelledData data = load_for_model(input, input_format(format, input), vm["normalize"].as<bool>(), model,
                                           model_path, JsonlFields{vm["text-field"].as<std::string>(),
                                                                   vm["label-field"].as<std::string>()});
  const FittedCalibration f = fit_calibration(model, data.X, data.Y, k, threads, input);
  const Model calibrated = model.with_calibration(f.map, f.info_json);
  const std::string to = output.empty() ? model_path : output;
  calibrated.save(to);
  if (!vm["quiet"].as<bool>()) {
    if (data.X.rows < 200) {
      std::fprintf(stderr, "xmr calibrate: warning: %zu rows is few; the probabilities will be coarse (a few hundred "
                           "held-out rows or more are better)\n", data.X.rows);
    }
    std::fprintf(stderr, "xmr calibrate: fitted on %zu rows (%zu labels at ranks 1..%d), %zu knots; wrote %s\n",
                 data.X.rows, f.map.fitted_pairs(), k, f.map.num_knots(), to.c_str());
  }
  return 0;
}

}  // namespace xmr::cli
