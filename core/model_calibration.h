// Fitting a model's calibration (core/calibration.h) on held-out rows: the
// model's top-k labels of each row, with whether each is relevant, fit the
// isotonic map; the threshold table is measured on the same predictions,
// mapped. Used by `xmr calibrate` (data given) and `xmr train --calibrate F`
// (a share F of the training rows held out from a sibling model).
#pragma once

#include <string>
#include <vector>

#include "core/calibration.h"
#include "core/model.h"
#include "core/sparse.h"
#include "core/trainer.h"

namespace xmr {

struct FittedCalibration {
  Calibration map;
  std::vector<ThresholdRow> thresholds;
  std::string info_json;  // {"source", "rows", "top_k", "thresholds": [...]}: for Model::with_calibration
};

// The thresholds of the table: 0.1, 0.2, ..., 0.9.
std::vector<float> default_thresholds();

// X: held-out rows (features < model.num_features()), Y: their labels in the
// model's label ids (ids >= num_labels() never match). Throws xmr::Error
// (naming `source`, which also names the data in the info) when X has no rows
// or the predictions are all relevant or all irrelevant.
FittedCalibration fit_calibration(const Model& model, const CsrMatrix& X, const CsrMatrix& Y, int top_k, int threads,
                                  const std::string& source);

// The labels per held-out row a training-time calibration is fitted on.
constexpr int kCalibrationTopK = 10;

// Whether row `row` is held out at `share` (in (0, 1)): a seeded hash of the
// row number, so the same data and share hold out the same rows.
bool held_out_for_calibration(size_t row, double share);

// Training-time calibration: a sibling model trained with `params` on the
// rows not held out, fitted on the held-out rows (top kCalibrationTopK). The
// model to serve is then trained on every row and given the result, so its
// rankings are those of training without calibration. Throws xmr::Error
// (naming `source`) when either part would be empty.
FittedCalibration fit_held_out_calibration(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params,
                                           const TrainInputs& inputs, double share, const std::string& source);

// Fits on predictions already made (raw scores, best first) of rows whose
// labels are Y; the same errors as fit_calibration.
FittedCalibration fit_from_predictions(std::vector<std::vector<ScoredLabel>> predictions, const CsrMatrix& Y,
                                       int top_k, const std::string& source);

// The fold (0..folds-1) of row `row` for cross-fitting: a seeded hash.
size_t calibration_fold(size_t row, int folds);

// Training-time calibration by cross-fitting: `folds` siblings, each trained
// without one fold of the rows and predicting that fold, so every row gives
// pairs (folds x the training time; more pairs than a held-out share).
FittedCalibration fit_cross_fitted_calibration(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params,
                                               const TrainInputs& inputs, int folds, const std::string& source);

// Each prediction's score replaced by its calibrated probability (or, for a
// model without calibration, the score clamped to [0, 1]).
void apply_calibration(const Model& model, std::vector<std::vector<ScoredLabel>>& predictions);

}  // namespace xmr
