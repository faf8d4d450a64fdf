// A model for text: the XR-Linear model plus the fitted TF-IDF vectorizer
// and the label names, all in one model file, so a server needs nothing else.
#pragma once

#include <string>
#include <vector>

#include "analyzers/text_dataset.h"
#include "analyzers/vectorizer.h"
#include "core/model.h"
#include "core/trainer.h"

namespace xmr {

struct TextTrainStats {
  double seconds_features = 0;  // fitting the vectorizer and vectorizing the training text
  double seconds_train = 0;     // clustering and training the levels
  size_t matrix_nonzeros = 0;   // of the training TF-IDF matrix (8 bytes each in memory)
  TrainStats train;
};

// The default vectorizer: the "standard" analyzer's word 1-2-grams stacked
// with character 2-4-grams inside word boundaries (see README for the
// measurements behind it).
VectorizerConfig default_vectorizer_config();

// Training parameters for text models: the engine defaults, except
// matcher-aware negatives added to the teacher-forced ones (tfn+man), which
// raised P@1 on all three shared text sets (README, "Choosing the defaults").
TrainParams default_text_train_params();

// Makes `parts` a text model's: stores the fitted vectorizer (its config
// and serialize_vocabulary()) beside the trees.
void attach_vectorizer(ModelParts& parts, const VectorizerConfig& config, std::string vocabulary);

class TextModel {
 public:
  // Fits the vectorizer on data.texts, trains on its labels and returns the
  // model with vectorizer and label names embedded.
  // `progress` gets the step "features" and then the engine's steps.
  // `data` is taken by value so that a caller done with it can move it in:
  // its texts are freed once vectorized, before training's peak.
  static TextModel train(TextDataset data, const VectorizerConfig& vectorizer, const TrainParams& params,
                         TextTrainStats* stats = nullptr, const ProgressFn& progress = {});

  // Loads a model file that carries a vectorizer. Throws xmr::Error naming the
  // path if the file is not a text model or is corrupt.
  static TextModel load(const std::string& path, const LoadOptions& options = {});
  // Wraps a loaded Model (throws if it has no vectorizer).
  static TextModel from_model(Model model, const std::string& name = "<model>");
  // True when `model` carries a vectorizer (was trained from text).
  static bool is_text_model(const Model& model);

  const Model& model() const { return model_; }
  const TextVectorizer& vectorizer() const { return vectorizer_; }
  LabelVocabulary labels() const;
  void save(const std::string& path) const { model_.save(path); }

  // Top-k labels of one text. Thread-safe; `ws` is per thread.
  void predict(const std::string& text, const PredictParams& params, InferenceWorkspace& ws,
               std::vector<ScoredLabel>& out) const;
  std::vector<std::vector<ScoredLabel>> predict_batch(const std::vector<std::string>& texts,
                                                      const PredictParams& params, int threads = 0) const;

 private:
  Model model_;
  TextVectorizer vectorizer_;
};

}  // namespace xmr
