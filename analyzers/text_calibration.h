// Training-time calibration of text models (core/model_calibration.h for
// bag-of-words data): a sibling TextModel, with its own vectorizer, is
// trained on the texts not held out and fitted on the held-out ones.
#pragma once

#include <string>

#include "analyzers/text_model.h"
#include "core/model_calibration.h"

namespace xmr {

// Holds out the rows held_out_for_calibration(row, share) picks. Throws
// xmr::Error (naming `source`) when either part would be empty.
FittedCalibration fit_held_out_calibration(const TextDataset& data, const VectorizerConfig& vectorizer,
                                           const TrainParams& params, double share, const std::string& source,
                                           const ProgressFn& progress = {});

// Cross-fitting: `folds` siblings, each with its own vectorizer, trained
// without one fold of the texts (core/model_calibration.h's
// calibration_fold) and predicting it; their labels are matched by name.
FittedCalibration fit_cross_fitted_calibration(const TextDataset& data, const VectorizerConfig& vectorizer,
                                               const TrainParams& params, int folds, const std::string& source,
                                               const ProgressFn& progress = {});

}  // namespace xmr
