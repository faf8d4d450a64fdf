#include "index_tools/data_input.h"

#include "analyzers/text_model.h"
#include "core/error.h"
#include "core/xc_format.h"

namespace xmr::cli {

void check_format(const std::string& format, const std::vector<std::string>& known) {
  std::string list;
  for (const auto& k : known) {
    if (k == format) return;
    list += (list.empty() ? "" : ", ") + k;
  }
  throw Error("unknown --format '" + format + "' (known: " + list + ")");
}

LabelledData load_xc(const std::string& path, bool normalize) {
  XcDataset d = read_xc_file(path);
  if (normalize) d.features.normalize_rows_l2();
  return {std::move(d.features), std::move(d.labels)};
}

LabelledData load_for_model(const std::string& path, const std::string& format, bool normalize, const Model& model,
                            const std::string& model_path) {
  check_format(format);
  if (format == "xc") {
    LabelledData d = load_xc(path, normalize);
    if (d.X.cols > model.num_features()) {
      throw Error(path + ": declares " + std::to_string(d.X.cols) + " features, the model has " +
                  std::to_string(model.num_features()));
    }
    if (d.Y.cols > model.num_labels()) {
      throw Error(path + ": declares " + std::to_string(d.Y.cols) + " labels, the model has " +
                  std::to_string(model.num_labels()));
    }
    return d;
  }
  const TextModel tm = TextModel::from_model(model, model_path);
  const TextDataset data = read_jsonl_dataset(path);
  return {tm.vectorizer().transform_batch(data.texts), tm.labels().label_matrix(data, true)};
}

}  // namespace xmr::cli
