#include "analyzers/text_calibration.h"

#include <cstdio>

#include "core/error.h"

namespace xmr {

FittedCalibration fit_held_out_calibration(const TextDataset& data, const VectorizerConfig& vectorizer,
                                           const TrainParams& params, double share, const std::string& source,
                                           const ProgressFn& progress) {
  if (!(share > 0 && share < 1)) throw Error("calibration: the held-out share must be in (0, 1)");
  TextDataset kept, held;
  for (size_t i = 0; i < data.size(); ++i) {
    TextDataset& to = held_out_for_calibration(i, share) ? held : kept;
    to.texts.push_back(data.texts[i]);
    to.labels.push_back(data.labels[i]);
  }
  if (held.size() == 0 || kept.size() == 0) {
    throw Error(source + ": too few rows (" + std::to_string(data.size()) + ") to hold out a share " +
                std::to_string(share) + " for calibration");
  }
  const TextModel sibling = TextModel::train(kept, vectorizer, params, nullptr, progress);
  char note[96];
  std::snprintf(note, sizeof note, " (%zu rows held out, share %.3g, from a model trained on the others)", held.size(), share);
  return fit_calibration(sibling.model(), sibling.vectorizer().transform_batch(held.texts, params.threads),
                         sibling.labels().label_matrix(held, true), kCalibrationTopK, params.threads, source + note);
}

}  // namespace xmr
