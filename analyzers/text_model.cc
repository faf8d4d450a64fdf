#include "analyzers/text_model.h"

#include <malloc.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>

#include "core/error.h"
#include "core/json_parse.h"

namespace xmr {

namespace {
const char kVocabularySection[] = "user/vectorizer";
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

VectorizerConfig default_vectorizer_config() {
  VectorizerConfig c;
  TfidfConfig words;
  words.analyzer = "standard";
  words.unit = "word";
  words.ngram_min = 1;
  words.ngram_max = 2;
  words.min_df = kAutoMinDf;
  TfidfConfig chars = words;
  chars.unit = "char_wb";
  chars.ngram_min = 2;
  chars.ngram_max = 4;
  c.parts = {words, chars};
  return c;
}

TrainParams default_text_train_params() {
  TrainParams p;
  p.negatives = NegativeSampling::kBoth;
  return p;
}

void attach_vectorizer(ModelParts& parts, const VectorizerConfig& config, std::string vocabulary) {
  parts.user_sections.emplace_back(kVocabularySection, std::move(vocabulary));
  parts.user_metadata_json = "{\"vectorizer\": " + config.to_json() + "}";
}

TextModel TextModel::train(TextDataset data, const VectorizerConfig& vconfig, const TrainParams& params,
                           TextTrainStats* stats, const ProgressFn& progress) {
  TextTrainStats local;
  TextTrainStats& st = stats ? *stats : local;
  if (data.size() == 0) throw Error("no training texts");
  const LabelVocabulary labels = LabelVocabulary::from_dataset(data);
  if (labels.size() == 0) throw Error("no labels in the training data");
  auto t0 = Clock::now();
  if (progress) progress("features", 0, 0);
  CsrMatrix X;
  TextVectorizer vectorizer = TextVectorizer::fit(std::move(data.texts), vconfig, &X, params.threads, progress);
  st.matrix_nonzeros = X.nnz();
  if (vectorizer.num_features() == 0 || X.nnz() == 0) {
    const TfidfConfig& first = vectorizer.config().parts[0];  // min_df as fit chose it, if auto
    throw Error("the vectorizer kept no terms of the training texts (min_df " + std::to_string(first.min_df) +
                ", max_df " + std::to_string(first.max_df) + " remove them all?); nothing to learn from");
  }
  st.seconds_features = since(t0);
  const CsrMatrix Y = labels.label_matrix(data, false);
  data = TextDataset{};
  // The vocabulary is kept serialised (smaller than the live dictionary) until
  // the model is assembled.
  const std::string vocabulary = vectorizer.serialize_vocabulary();
  const VectorizerConfig fitted = vectorizer.config();  // with the min_df fit chose where vconfig said auto
  vectorizer = TextVectorizer{};
  ::malloc_trim(0);  // the freed texts, labels and dictionary: otherwise resident through training

  t0 = Clock::now();
  TrainInputs inputs;
  inputs.progress = progress;
  ModelParts parts = train_model_parts(X, Y, params, inputs, &st.train);
  st.seconds_train = since(t0);
  X = CsrMatrix{};  // the largest thing here; the model file is assembled next
  parts.label_names = labels.names();
  attach_vectorizer(parts, fitted, vocabulary);
  Model model = Model::from_parts(parts);
  parts = ModelParts{};
  return from_model(std::move(model));
}

bool TextModel::is_text_model(const Model& model) { return model.user_section(kVocabularySection) != nullptr; }

TextModel TextModel::from_model(Model model, const std::string& name) {
  rapidjson::Document user;
  std::string error;
  if (!parse_json(model.user_metadata_json(), user, error) || !user.IsObject() || !user.HasMember("vectorizer") || !user["vectorizer"].IsObject()) {
    throw Error(name + ": not a text model (no vectorizer in its metadata); train it from text");
  }
  const auto* section = model.user_section(kVocabularySection);
  if (!section) throw Error(name + ": corrupt text model: vectorizer vocabulary missing");
  if (!model.has_label_names()) throw Error(name + ": corrupt text model: label names missing");
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  user["vectorizer"].Accept(w);
  TextModel tm;
  try {
    tm.vectorizer_ = TextVectorizer::deserialize(
        buf.GetString(), std::string(reinterpret_cast<const char*>(section->data), section->size));
  } catch (const Error& e) {
    throw Error(name + ": " + e.what());
  }
  if (tm.vectorizer_.num_features() != model.num_features()) {
    throw Error(name + ": corrupt text model: vectorizer has " + std::to_string(tm.vectorizer_.num_features()) +
                " features, the model " + std::to_string(model.num_features()));
  }
  tm.model_ = std::move(model);
  return tm;
}

TextModel TextModel::load(const std::string& path, const LoadOptions& options) {
  return from_model(Model::load(path, options), path);
}

LabelVocabulary TextModel::labels() const {
  std::vector<std::string> names;
  names.reserve(model_.num_labels());
  for (size_t l = 0; l < model_.num_labels(); ++l) names.push_back(model_.label_name(Index(l)));
  return LabelVocabulary(std::move(names));
}

void TextModel::predict(const std::string& text, const PredictParams& params, InferenceWorkspace& ws,
                        std::vector<ScoredLabel>& out) const {
  thread_local std::vector<Index> idx;
  thread_local std::vector<float> val;
  vectorizer_.transform(text, idx, val);
  model_.predict({idx.data(), val.data(), idx.size()}, params, ws, out);
}

std::vector<std::vector<ScoredLabel>> TextModel::predict_batch(const std::vector<std::string>& texts,
                                                               const PredictParams& params, int threads) const {
  return model_.predict_batch(vectorizer_.transform_batch(texts, threads), params, threads);
}

}  // namespace xmr
