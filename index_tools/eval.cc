#include <chrono>
#include <cstdio>

#include "core/error.h"
#include "core/metrics.h"
#include "core/model.h"
#include "core/model_calibration.h"
#include "index_tools/command.h"
#include "index_tools/data_input.h"
#include "index_tools/eval_report.h"
#include "core/file_util.h"
#include "index_tools/options.h"

namespace xmr::cli {

int run_eval(int argc, char** argv) {
  std::string model_path, input, format, post;
  int k = 5, threads = 0;
  PredictParams pp;
  po::options_description o("xmr eval options");
  o.add_options()
      ("model", po::value(&model_path)->required(), "model file")
      ("input", po::value(&input)->required(), "test data file")
      ("format", po::value(&format), "input format: xc | jsonl; default: from the input")
      ("text-field", po::value<std::string>()->default_value("text"), "jsonl member holding the text")
      ("label-field", po::value<std::string>()->default_value("labels"), "jsonl member holding the labels")
      ("normalize", po::bool_switch(), "L2-normalise feature rows (xc)")
      ("k", po::value(&k)->default_value(5), "report metrics @1..k")
      ("beam-size", po::value(&pp.beam_size)->default_value(10), "beam width")
      ("postprocessor", po::value(&post), "override the model's score combination")
      ("repeated-score", po::value<std::string>()->default_value("max"),
       "score of a label reached through several leaves (disentangled models): max | mean")
      ("threads", po::value(&threads)->default_value(0), "threads (0 = all)")
      ("json", po::bool_switch(), "print one JSON object")
      ("report", po::value<std::string>(), "also write an HTML report here (atomically): metrics, reliability "
       "diagram, precision/coverage against threshold, P@1 by label frequency, the worst labels");
  po::variables_map vm;
  if (!parse_options(argc, argv, "xmr eval --model PATH --input FILE --format xc|jsonl [--k 5] [--json]", o, vm)) return 0;
  if (k < 1 || k > 100) throw Error("--k must be in 1..100");
  const Model model = Model::load(model_path);
  pp.top_k = k;
  pp.postprocessor = vm.count("postprocessor") ? parse_postprocessor(post) : model.default_postprocessor();
  pp.repeated = parse_repeated_label_score(vm["repeated-score"].as<std::string>());
  pp.validate();
  const LabelledData data = load_for_model(input, input_format(format, input), vm["normalize"].as<bool>(), model,
                                             model_path, JsonlFields{vm["text-field"].as<std::string>(),
                                                                     vm["label-field"].as<std::string>()});
  const auto t0 = std::chrono::steady_clock::now();
  const auto pred = model.predict_batch(data.X, pp, threads);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const RankingMetrics m = evaluate_ranking(pred, data.Y, k);
  // Calibration error of the probabilities the model serves: calibrated when
  // it has a calibration (fitted on its default score combination), else
  // the raw scores clamped to [0, 1].
  const bool calibrated = model.calibration() && pp.postprocessor == model.default_postprocessor();
  auto probabilities = pred;
  if (calibrated) {
    apply_calibration(model, probabilities);
  } else {
    apply_calibration(Model(), probabilities);
  }
  const CalibrationMetrics cm = calibration_metrics(probabilities, data.Y, k);
  if (vm.count("report")) {
    EvalReportInput in;
    in.model_path = model_path;
    in.data_path = input;
    in.model = &model;
    in.predictions = &pred;
    in.truth = &data.Y;
    in.metrics = m;
    in.k = k;
    in.calibrated = calibrated;
    write_output(vm["report"].as<std::string>(), eval_report_html(in));
  }
  if (vm["json"].as<bool>()) {
    std::printf("{\"n\": %zu", m.n);
    for (int j = 1; j <= k; ++j) std::printf(", \"P@%d\": %.6f", j, m.precision[j - 1]);
    for (int j = 1; j <= k; ++j) std::printf(", \"R@%d\": %.6f", j, m.recall[j - 1]);
    for (int j = 1; j <= k; ++j) std::printf(", \"nDCG@%d\": %.6f", j, m.ndcg[j - 1]);
    const EceFloor floor = ece_at_1_floor(probabilities);
    std::printf(", \"ECE@1\": %.6f, \"ECE@%d\": %.6f, \"Brier@1\": %.6f, \"ECE@1_floor\": %.6f, \"ECE@1_floor_p95\": %.6f, "
                "\"calibrated\": %s",
                cm.ece_at_1, k, cm.ece_at_k, cm.brier_at_1, floor.mean, floor.p95, calibrated ? "true" : "false");
    std::printf(", \"seconds\": %.6f}\n", secs);
  } else {
    std::printf("%zu instances, %.3f s (%.4f ms/query)\n  k     P@k     R@k  nDCG@k\n", m.n, secs, m.n ? 1e3 * secs / m.n : 0.0);
    for (int j = 1; j <= k; ++j) {
      std::printf("%3d  %6.2f  %6.2f  %6.2f\n", j, 100 * m.precision[j - 1], 100 * m.recall[j - 1], 100 * m.ndcg[j - 1]);
    }
    std::printf("calibration of the %s: ECE@1 %.4f, ECE@%d %.4f, Brier@1 %.4f\n",
                calibrated ? "calibrated probabilities" : "raw scores (the model has no calibration)", cm.ece_at_1, k,
                cm.ece_at_k, cm.brier_at_1);
  }
  return 0;
}

}  // namespace xmr::cli
