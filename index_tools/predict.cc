#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>

#include "core/error.h"
#include "core/file_util.h"
#include "analyzers/text_model.h"
#include "core/model.h"
#include "index_tools/command.h"
#include "index_tools/data_input.h"
#include "index_tools/options.h"

namespace xmr::cli {

int run_predict(int argc, char** argv) {
  std::string model_path, input, format, output, post;
  std::vector<std::string> texts;
  int threads = 0;
  PredictParams pp;
  po::options_description o("xmr predict options");
  o.add_options()
      ("model", po::value(&model_path)->required(), "model file")
      ("input", po::value(&input), "input file")
      ("text,t", po::value(&texts), "a text to label (repeatable; text models; instead of --input)")
      ("format", po::value(&format), "input format: xc | jsonl; default: from the input")
      ("text-field", po::value<std::string>()->default_value("text"), "jsonl member holding the text")
      ("label-field", po::value<std::string>()->default_value("labels"), "jsonl member holding the labels")
      ("normalize", po::bool_switch(), "L2-normalise feature rows (xc)")
      ("k", po::value(&pp.top_k)->default_value(10), "labels per line")
      ("beam-size", po::value(&pp.beam_size)->default_value(10), "beam width")
      ("postprocessor", po::value(&post), "override the model's score combination")
      ("repeated-score", po::value<std::string>()->default_value("max"),
       "score of a label reached through several leaves (disentangled models): max | mean")
      ("threads", po::value(&threads)->default_value(0), "threads (0 = all)")
      ("output,o", po::value(&output), "write here (atomically) instead of stdout");
  po::variables_map vm;
  if (!parse_options(argc, argv, "xmr predict --model PATH (--input FILE --format xc|jsonl | --text TEXT) --k K", o, vm)) return 0;
  const Model model = Model::load(model_path);
  pp.postprocessor = vm.count("postprocessor") ? parse_postprocessor(post) : model.default_postprocessor();
  pp.repeated = parse_repeated_label_score(vm["repeated-score"].as<std::string>());
  pp.validate();
  if (input.empty() == texts.empty()) throw Error("give either --input FILE or --text TEXT");
  std::vector<std::vector<ScoredLabel>> pred;
  if (!texts.empty()) {
    pred = TextModel::from_model(model, model_path).predict_batch(texts, pp, threads);
  } else {
    const LabelledData data = load_for_model(input, input_format(format, input), vm["normalize"].as<bool>(), model,
                                             model_path, JsonlFields{vm["text-field"].as<std::string>(),
                                                                     vm["label-field"].as<std::string>()});
    pred = model.predict_batch(data.X, pp, threads);
  }
  // Probabilities beside the scores when the model is calibrated (for its
  // default score combination, the one the map was fitted on).
  const Calibration* calibration =
      pp.postprocessor == model.default_postprocessor() ? model.calibration() : nullptr;
  rapidjson::StringBuffer buf;
  for (const auto& row : pred) {
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("labels");
    w.StartArray();
    for (const auto& s : row) {
      if (model.has_label_names()) {
        const std::string name = model.label_name(s.label);
        w.String(name.data(), rapidjson::SizeType(name.size()));
      } else {
        w.Uint(s.label);
      }
    }
    w.EndArray();
    w.Key("scores");
    w.StartArray();
    for (const auto& s : row) w.Double(double(s.score));
    w.EndArray();
    if (calibration) {
      w.Key("probabilities");
      w.StartArray();
      std::vector<ScoredLabel> probabilities = row;
      calibration->apply(probabilities);
      for (const auto& s : probabilities) w.Double(double(s.score));
      w.EndArray();
    }
    w.EndObject();
    buf.Put('\n');
  }
  if (output.empty()) {
    std::fwrite(buf.GetString(), 1, buf.GetSize(), stdout);
  } else {
    write_output(output, buf.GetString(), buf.GetSize());
  }
  return 0;
}

}  // namespace xmr::cli
