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
  const TextModel sibling = TextModel::train(std::move(kept), vectorizer, params, nullptr, progress);
  char note[96];
  std::snprintf(note, sizeof note, " (%zu rows held out, share %.3g, from a model trained on the others)", held.size(), share);
  return fit_calibration(sibling.model(), sibling.vectorizer().transform_batch(held.texts, params.threads),
                         sibling.labels().label_matrix(held, true), kCalibrationTopK, params.threads, source + note);
}

FittedCalibration fit_cross_fitted_calibration(const TextDataset& data, const VectorizerConfig& vectorizer,
                                               const TrainParams& params, int folds, const std::string& source,
                                               const ProgressFn& progress) {
  if (folds < 2 || folds > 20) throw Error("calibration: folds must be in 2..20");
  const LabelVocabulary all = LabelVocabulary::from_dataset(data);
  std::vector<std::vector<ScoredLabel>> pred(data.size());
  for (int f = 0; f < folds; ++f) {
    TextDataset kept, held;
    std::vector<size_t> held_rows;
    for (size_t i = 0; i < data.size(); ++i) {
      const bool out = calibration_fold(i, folds) == size_t(f);
      TextDataset& to = out ? held : kept;
      to.texts.push_back(data.texts[i]);
      to.labels.push_back(data.labels[i]);
      if (out) held_rows.push_back(i);
    }
    if (held.size() == 0 || kept.size() == 0) {
      throw Error(source + ": too few rows (" + std::to_string(data.size()) + ") for " + std::to_string(folds) + " folds");
    }
    const TextModel sibling = TextModel::train(std::move(kept), vectorizer, params, nullptr, progress);
    PredictParams p = sibling.model().default_predict_params();
    p.top_k = kCalibrationTopK;
    auto fold_pred = sibling.predict_batch(held.texts, p, params.threads);
    for (size_t k = 0; k < held_rows.size(); ++k) {
      for (ScoredLabel& s : fold_pred[k]) s.label = Index(all.id(sibling.model().label_name(s.label)));
      pred[held_rows[k]] = std::move(fold_pred[k]);
    }
  }
  return fit_from_predictions(std::move(pred), all.label_matrix(data, false), kCalibrationTopK,
                              source + " (" + std::to_string(folds) + "-fold cross-fitting: every row predicted by a "
                                       "model trained without it)");
}

}  // namespace xmr
