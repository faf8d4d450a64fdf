#include "core/model_calibration.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "core/rng.h"

namespace xmr {

std::vector<float> default_thresholds() {
  std::vector<float> t;
  for (int i = 1; i <= 9; ++i) t.push_back(float(i) / 10.0f);
  return t;
}

FittedCalibration fit_calibration(const Model& model, const CsrMatrix& X, const CsrMatrix& Y, int top_k, int threads,
                                  const std::string& source) {
  if (X.rows == 0) throw Error(source + ": no rows to calibrate on");
  if (top_k < 1) throw Error("calibration: top_k must be >= 1");
  PredictParams p = model.default_predict_params();
  p.top_k = top_k;
  return fit_from_predictions(model.predict_batch(X, p, threads), Y, top_k, source);
}

FittedCalibration fit_from_predictions(std::vector<std::vector<ScoredLabel>> pred, const CsrMatrix& Y, int top_k,
                                       const std::string& source) {
  if (pred.empty()) throw Error(source + ": no rows to calibrate on");
  std::vector<float> scores;
  std::vector<char> relevant;
  std::vector<uint32_t> ranks;
  collect_pairs(pred, Y, scores, relevant, ranks);
  const size_t hits = size_t(std::count(relevant.begin(), relevant.end(), 1));
  if (hits == 0 || hits == relevant.size()) {
    throw Error(source + ": " + (hits == 0 ? "none" : "every one") + " of the " + std::to_string(relevant.size()) +
                " predicted labels is relevant, so no probability can be learnt (are the labels those the model knows?)");
  }
  FittedCalibration f;
  f.map = Calibration::fit(scores, relevant, ranks);
  for (auto& row : pred) f.map.apply(row);
  f.thresholds = threshold_table(pred, Y, default_thresholds());
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("source"), w.String(source.c_str());
  w.Key("rows"), w.Uint64(pred.size());
  w.Key("top_k"), w.Int(top_k);
  w.Key("thresholds"), w.StartArray();
  for (const ThresholdRow& r : f.thresholds) {
    w.StartObject();
    w.Key("probability"), w.Double(double(r.threshold));
    w.Key("precision"), w.Double(r.precision);
    w.Key("recall"), w.Double(r.recall);
    w.Key("coverage"), w.Double(r.coverage);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  f.info_json = buf.GetString();
  return f;
}

bool held_out_for_calibration(size_t row, double share) {
  return double(splitmix64(row ^ 0xca11b8a7eULL) % 1000000) / 1e6 < share;
}

FittedCalibration fit_held_out_calibration(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params,
                                           const TrainInputs& inputs, double share, const std::string& source) {
  if (!(share > 0 && share < 1)) throw Error("calibration: the held-out share must be in (0, 1)");
  std::vector<Index> kept, held;
  for (size_t i = 0; i < X.rows; ++i) (held_out_for_calibration(i, share) ? held : kept).push_back(Index(i));
  if (held.empty() || kept.empty()) {
    throw Error(source + ": too few rows (" + std::to_string(X.rows) + ") to hold out a share " + std::to_string(share) +
                " for calibration");
  }
  const Model sibling = train_model(X.select_rows(kept), Y.select_rows(kept), params, inputs);
  char note[96];
  std::snprintf(note, sizeof note, " (%zu rows held out, share %.3g, from a model trained on the others)", held.size(), share);
  return fit_calibration(sibling, X.select_rows(held), Y.select_rows(held), kCalibrationTopK, params.threads,
                         source + note);
}

size_t calibration_fold(size_t row, int folds) { return size_t(splitmix64(row ^ 0xf01dca11ULL) % uint64_t(folds)); }

FittedCalibration fit_cross_fitted_calibration(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params,
                                               const TrainInputs& inputs, int folds, const std::string& source) {
  if (folds < 2 || folds > 20) throw Error("calibration: folds must be in 2..20");
  std::vector<std::vector<ScoredLabel>> pred(X.rows);
  for (int f = 0; f < folds; ++f) {
    std::vector<Index> kept, held;
    for (size_t i = 0; i < X.rows; ++i) (calibration_fold(i, folds) == size_t(f) ? held : kept).push_back(Index(i));
    if (held.empty() || kept.empty()) {
      throw Error(source + ": too few rows (" + std::to_string(X.rows) + ") for " + std::to_string(folds) + " folds");
    }
    const Model sibling = train_model(X.select_rows(kept), Y.select_rows(kept), params, inputs);
    PredictParams p = sibling.default_predict_params();
    p.top_k = kCalibrationTopK;
    auto fold_pred = sibling.predict_batch(X.select_rows(held), p, params.threads);
    for (size_t k = 0; k < held.size(); ++k) pred[held[k]] = std::move(fold_pred[k]);
  }
  return fit_from_predictions(std::move(pred), Y, kCalibrationTopK,
                              source + " (" + std::to_string(folds) + "-fold cross-fitting: every row predicted by a "
                                       "model trained without it)");
}

void apply_calibration(const Model& model, std::vector<std::vector<ScoredLabel>>& predictions) {
  const Calibration* c = model.calibration();
  for (auto& row : predictions) {
    if (c) {
      c->apply(row);
    } else {
      for (ScoredLabel& s : row) s.score = std::min(1.0f, std::max(0.0f, s.score));
    }
  }
}

}  // namespace xmr
