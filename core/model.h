// A trained XR-Linear model: a label tree with one sparse linear model per
// node, served by beam search; or an ensemble of such trees over the same
// labels and features, whose scores are averaged (core/ensemble.h).
//
// A Model is immutable and cheap to copy (copies share storage). All const
// methods are safe to call from many threads at once; per-thread state lives
// in an InferenceWorkspace the caller owns. Models made by training and models
// loaded from disk use the same storage and code path, so save -> load gives
// identical predictions.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/calibration.h"
#include "core/encoder.h"
#include "core/flat_search.h"
#include "core/inference.h"
#include "core/knn_vote.h"
#include "core/layer.h"
#include "core/model_format.h"
#include "core/sparse.h"

namespace xmr {

// One more label tree of an ensemble: same labels and features as the first.
struct TreeParts {
  std::vector<LayerData> layers;  // top to bottom
  std::vector<Index> slot_label;  // bottom slot -> label
  std::string train_params_json = "{}";
};

// Most trees one model holds.
constexpr size_t kMaxTrees = 32;

// What the trainer hands over to become a Model.
struct ModelParts {
  size_t num_features = 0;
  size_t num_labels = 0;
  std::vector<LayerData> layers;  // top to bottom
  std::vector<Index> slot_label;  // bottom slot -> label
  PostProcessor postprocessor = PostProcessor::kL3Hinge;
  std::string train_params_json = "{}";  // a JSON object, recorded verbatim
  std::vector<std::string> label_names;  // optional: empty or one per label
  // Extra named sections and a JSON object for other components (e.g. the
  // analyzers' fitted vectorizer); names must start with "user/".
  std::vector<std::pair<std::string, std::string>> user_sections;
  std::string user_metadata_json = "{}";
  // Trees after the first, for an ensemble (see core/ensemble.h for how
  // their scores combine). A model with more trees is written as format
  // version 2.
  std::vector<TreeParts> more_trees;
  // The deep matcher (core/deep_matcher.h): a text encoder whose embedding,
  // times encoder_weight, is appended to every query as features
  // num_features .. num_features + dim - 1, which the trees' weights use.
  // Null for a plain model. A model with an encoder is format version 4.
  std::shared_ptr<const Encoder> encoder;
  float encoder_weight = 0;
  std::string encoder_info_json = "{}";  // how it was trained (a JSON object), recorded in the metadata
  // The training rows' k-nearest-neighbour vote (core/knn_vote.h), fused
  // with the trees' scores; null for none. Over the query's own features
  // (not an encoder's embedding) and every label. A model with one is format
  // version 5.
  std::shared_ptr<const KnnVote> knn;
};

// Arrays built on load that a TreeView points into (shared by copies).
struct TreeArrays {
  std::shared_ptr<std::vector<Index>> label_slot_ptr, label_slots;
  std::shared_ptr<std::vector<LayerLookup>> lookups;  // one per level, see layer.h
};

struct LoadOptions {
  bool verify_checksums = true;  // checksum every section (header and index always)
  // Build the one-pass index when the trees are small enough
  // (core/flat_search.h): a heap copy of the weights, 6 bytes each plus 12
  // per distinct feature, for faster search. False keeps the heap to the
  // label index; results are the same either way.
  bool one_pass_index = true;
};

// Writes the file Model::from_parts(parts).save(path) writes, byte for byte,
// without the file's image in memory beside `parts` (for the largest models:
// distributed training's rank 0). Returns the file's size; throws xmr::Error
// as save() does, and as from_parts() does on inconsistent parts.
size_t save_model_parts(const ModelParts& parts, const std::string& path);

class Model {
 public:
  // Serialises `parts` into an in-memory model file and opens it.
  static Model from_parts(const ModelParts& parts);

  // Memory-maps and checks the file. Throws xmr::Error naming `path` if it is
  // missing, truncated, corrupt, of another format version or inconsistent.
  static Model load(const std::string& path, const LoadOptions& options = {});

  // Parses model bytes already in memory (`name` is used in errors).
  static Model from_bytes(const std::string& bytes, const std::string& name, const LoadOptions& options = {});

  // Writes the model file atomically (temp file, then rename); on failure the
  // previous file at `path`, if any, is untouched and xmr::Error is thrown.
  void save(const std::string& path) const;

  // Features of a query (an encoder's embedding is appended inside).
  size_t num_features() const { return num_features_; }
  size_t num_labels() const { return trees_.front().num_labels; }
  size_t depth() const { return trees_.front().layers.size(); }
  // Trees in the model (1 unless it is an ensemble); tree() is the first.
  size_t num_trees() const { return trees_.size(); }
  const TreeView& member_tree(size_t i) const { return trees_.at(i); }
  size_t num_slots() const;
  // The one-pass index of a model with small trees, or nullptr; predict and
  // predict_batch use it where it is faster for the beam (core/flat_search.h).
  const FlatIndex* flat_index() const { return flat_.get(); }
  size_t file_size() const { return file_.blob->size(); }
  PostProcessor default_postprocessor() const { return postprocessor_; }
  const TreeView& tree() const { return trees_.front(); }
  const std::string& metadata_json() const { return file_.metadata_json; }
  // The "user" object of the metadata, as JSON text.
  const std::string& user_metadata_json() const { return user_metadata_; }
  // A user section's bytes, or nullptr.
  const ModelFileReader::Section* user_section(const std::string& name) const { return file_.find(name); }
  bool has_label_names() const { return label_name_offsets_ != nullptr; }
  // The label's name, or its id as text when the model has no names.
  std::string label_name(Index label) const;

  // The fitted map from scores to probabilities, or nullptr when the model
  // has none (core/calibration.h; `xmr calibrate`, `xmr train --calibrate`).
  const Calibration* calibration() const { return calibration_.get(); }
  // The deep matcher's encoder, or nullptr for a plain model; its embedding
  // is scaled by encoder_weight() beside the query's own features.
  const Encoder* encoder() const { return encoder_.get(); }
  float encoder_weight() const { return encoder_weight_; }
  // The k-nearest-neighbour vote fused with the trees' scores, or nullptr.
  const KnnVote* knn() const { return knn_.get(); }
  // A copy of this model with `calibration` stored (replacing any before);
  // `info_json` (a JSON object: how it was fitted, the threshold table) is
  // recorded in the metadata's "calibration" object.
  Model with_calibration(const Calibration& calibration, const std::string& info_json = "{}") const;

  // PredictParams with this model's default post-processor.
  PredictParams default_predict_params() const;

  // Top-k labels for one query (sorted unique feature ids < num_features(),
  // finite values).
  // An ensemble returns the best of the union of its trees' top-k lists by
  // the mean of the trees' scores, a tree adding 0 for a label it did not
  // return (core/ensemble.h). Small trees are searched in one pass over the
  // query's features where that is faster (core/flat_search.h); the results
  // are the same. With a k-nearest-neighbour vote, the trees' top
  // max(top_k, beam) labels are fused with the votes (core/knn_vote.h).
  void predict(const SparseVectorView& q, const PredictParams& params, InferenceWorkspace& ws,
               std::vector<ScoredLabel>& out) const;

  // Top-k labels for every row of X, using up to `threads` OpenMP threads
  // (0 = default). Throws if X has more columns than the model has features.
  // kByQuery (the default) searches row after row, each row's beam best
  // parent first, so a parent that cannot place is skipped with the worse
  // ones after it; kByChunk searches blocks of kBatchBlockRows rows level by
  // level (beam_search_batch), reading each chunk once per block but meeting
  // a row's parents in id order. Both give the same results; since search
  // skips what cannot place, row after row measured 0.81-0.99x the time of
  // chunk order on the 100,000- and 1,000,000-label benchmark sets (README,
  // "Performance"). A model searched in one pass goes row after row either way.
  enum class BatchOrder { kByQuery, kByChunk };
  static constexpr size_t kBatchBlockRows = 256;
  std::vector<std::vector<ScoredLabel>> predict_batch(const CsrMatrix& X, const PredictParams& params,
                                                      int threads = 0,
                                                      BatchOrder order = BatchOrder::kByQuery) const;

  // The score of each given label for q, as beam search would give it if the
  // label were reached (an ensemble: the mean of every tree's such score;
  // with a k-nearest-neighbour vote, fused with the label's vote).
  void score_labels(const SparseVectorView& q, const Index* labels, size_t n, const PredictParams& params,
                    InferenceWorkspace& ws, float* out) const;

 private:
  static Model open(std::shared_ptr<const ModelBlob> blob, const std::string& name, const LoadOptions& options);
  // q with the encoder's weighted embedding appended (q itself for a plain
  // model); the result points into ws.
  SparseVectorView with_embedding(const SparseVectorView& q, InferenceWorkspace& ws) const;
  // predict() without the knn vote: the trees' top labels.
  void search_trees(const SparseVectorView& q, const PredictParams& params, InferenceWorkspace& ws,
                    std::vector<ScoredLabel>& out) const;

  ModelFileReader file_;
  size_t num_features_ = 0;
  PostProcessor postprocessor_ = PostProcessor::kL3Hinge;
  std::string user_metadata_;
  // Every tree, the first at [0] (a default Model holds one empty tree); views
  // into the file and into arrays_.
  std::vector<TreeView> trees_{TreeView{}};
  std::vector<TreeArrays> arrays_;
  std::shared_ptr<const Calibration> calibration_;
  // Every tree in one index, for small trees (core/flat_search.h); or null.
  std::shared_ptr<const FlatIndex> flat_;
  std::shared_ptr<const Encoder> encoder_;
  float encoder_weight_ = 0;
  std::shared_ptr<const KnnVote> knn_;
  const uint64_t* label_name_offsets_ = nullptr;  // num_labels + 1
  const char* label_name_bytes_ = nullptr;
};

}  // namespace xmr
