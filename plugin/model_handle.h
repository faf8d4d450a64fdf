// A text model the stages share, swappable while queries run.
//
// Each load makes an immutable ModelVersion; ModelHandle holds the current
// one and swaps it atomically. A query pins one version (through the
// pipeline's Resource mechanism) and uses it to the end, so a swap never
// mixes two models inside one query, and an old version is freed when its
// last query finishes.
#pragma once

#include <lucene++/Lucene.h>  // forward declarations and Ptr typedefs only

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "analyzers/text_model.h"
#include "plugin/segment_labels.h"
#include "plugin/stage.h"

namespace xmr {

class ModelVersion {
 public:
  ModelVersion(TextModel model, std::string path, std::string version, uint64_t generation);

  const TextModel& text_model() const { return model_; }
  const Model& model() const { return model_.model(); }
  const std::string& path() const { return path_; }
  const std::string& version() const { return version_; }  // the store's version name, or the path
  uint64_t generation() const { return generation_; }  // unique per load in this process
  const LabelVocabulary& labels() const { return labels_; }

  // The model's label ids of each document of `segment` (a leaf reader),
  // read from the indexed terms of `field`; built on first use and cached
  // while the segment's core is alive, so a reopened index reuses the tables
  // of its unchanged segments (documents deleted since are never hits, so
  // their stale entries do no harm). Thread-safe.
  std::shared_ptr<const SegmentLabels> segment_labels(const Lucene::IndexReaderPtr& segment,
                                                      const std::wstring& field) const;
  // The inverse of segment_labels(segment, field): each label's documents.
  // Built on first use and cached with it. Thread-safe.
  std::shared_ptr<const LabelDocs> segment_label_docs(const Lucene::IndexReaderPtr& segment,
                                                      const std::wstring& field) const;
  // How many segment label tables this version has built.
  uint64_t segment_tables_built() const { return tables_built_.load(); }

 private:
  struct CacheEntry {
    std::wstring field;
    const void* key;                  // the segment's field cache key
    Lucene::LuceneObjectWeakPtr alive;  // expires when the segment is closed
    std::shared_ptr<const SegmentLabels> labels;
    std::shared_ptr<const LabelDocs> docs;  // built on first segment_label_docs()
  };

  TextModel model_;
  std::string path_;
  std::string version_;
  uint64_t generation_;
  LabelVocabulary labels_;
  mutable std::mutex cache_mutex_;
  mutable std::vector<CacheEntry> cache_;
  mutable std::atomic<uint64_t> tables_built_{0};
};

class ModelHandle : public Resource {
 public:
  // Loads the model at `path` as `version`; throws xmr::Error naming it
  // when it is missing, corrupt or not a text model.
  ModelHandle(const std::string& path, const std::string& version);

  std::shared_ptr<const void> current() const override;
  std::shared_ptr<const ModelVersion> current_version() const;
  void reload(const std::string& path, const std::string& version) override;
  std::string describe() const override;

  // Builds the segment label tables of (segments, field) for the current
  // version now, and for every later version before it goes live, so no
  // query pays for them after a swap. Segments are remembered weakly: once
  // the index no longer holds one (a reopen merged it away), it is dropped.
  // With `label_docs`, their inverses too (ModelVersion::segment_label_docs).
  void warm_segment_labels(const std::vector<Lucene::IndexReaderPtr>& segments, const std::wstring& field,
                           bool label_docs = false);

 private:
  struct WarmSegment {
    std::wstring field;
    bool label_docs;
    const void* segment;  // identity only
    Lucene::IndexReaderWeakPtr reader;
  };
  static std::shared_ptr<const ModelVersion> load(const std::string& path, const std::string& version);
  // Warms `version` for the live segments, forgetting the dead ones.
  void warm(const ModelVersion& version);

  std::vector<WarmSegment> warm_segments_;  // guarded by reload_mutex_

  std::shared_ptr<const ModelVersion> current_;  // read and written with std::atomic_load/store
  std::mutex reload_mutex_;                      // one reload at a time
};

class JsonConfig;

// A stage's use of a model: its resource name, the pipeline resource slot
// (for the version a query pinned) and the handle (for calls outside a query).
struct ModelBinding {
  std::string name;
  size_t slot = 0;
  std::shared_ptr<ModelHandle> handle;
  const ModelVersion& pinned(const QueryContext& ctx) const {
    return *static_cast<const ModelVersion*>(ctx.pinned.at(slot).get());
  }
};

// The models a stage may use: its default ("model") and the others a
// request may choose ("allowed_models"), each bound once.
class ModelChoices {
 public:
  // Reads the stage options "model" (a name in the pipeline's model store,
  // else a path relative to the spec's base_dir), "model_name" (the resource
  // name of a path; defaults to the path as written) and "allowed_models"
  // (store names or paths), and loads each model or shares the one another
  // stage of the pipeline loaded under that name.
  ModelChoices(const JsonConfig& config, const StageSpec& spec, StageEnv& env);
  ModelChoices() = default;

  // The model for this query: the request's choice (ctx.model, which the
  // pipeline checked against names()) or the default. Records it in
  // ctx.models_used under `stage`.
  const ModelVersion& pick(QueryContext& ctx) const;
  const ModelBinding& default_model() const { return all_.front(); }
  const std::vector<ModelBinding>& all() const { return all_; }
  // The names a request may choose (empty when "allowed_models" is absent).
  std::vector<std::string> names() const;

 private:
  std::string stage_;
  std::vector<ModelBinding> all_;  // the default first
  bool selectable_ = false;
};

// A stage's indexed field whose terms are its models' labels (rerank's
// label_field, retrieve's key_field): checked against every model at
// creation, its per-segment tables warmed for each model, and its segment map
// kept current across index reopens.
class LabelField {
 public:
  LabelField() = default;
  // Reads the required string option `key`, checks it in `searcher`'s index
  // for each model of `models` (require_label_field) and warms the tables,
  // with their inverses when `label_docs`. Fails through `config`.
  LabelField(const JsonConfig& config, const char* key, const ModelChoices& models,
             const Lucene::IndexSearcherPtr& searcher, bool label_docs);
  // Stage::searcher_changed: the field must still be indexed; new segments get tables.
  void searcher_changed(const ModelChoices& models, const Lucene::IndexSearcherPtr& searcher);
  // The segment map of a query's reader (CurrentSegments::of).
  std::shared_ptr<const SegmentMap> segments(const Lucene::IndexReaderPtr& reader) const { return segments_.of(reader); }
  const std::wstring& wide_name() const { return wide_name_; }

 private:
  std::string key_, name_;
  std::wstring wide_name_;
  bool label_docs_ = false;
  CurrentSegments segments_;
};

// Checks the stage option `key`, naming index field `field`: it must be an
// indexed field of `reader`, and (unless it has no terms) some of its terms
// must be labels of `model`. Fails through `config` otherwise.
void require_label_field(const JsonConfig& config, const char* key, const std::string& field,
                         const ModelVersion& model, const Lucene::IndexReaderPtr& reader);

// The TF-IDF vector of `text` under `model`, cached per thread so the stages
// of one query vectorize it once. Valid until the calling thread vectorizes
// another (model, text).
const SparseVectorView& vectorize_query(const ModelVersion& model, const std::string& text);

}  // namespace xmr
