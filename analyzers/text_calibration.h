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

}  // namespace xmr
