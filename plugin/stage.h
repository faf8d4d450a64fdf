// The C++ interface between the query pipeline (plugin/pipeline.h) and the
// stages a plugin provides.
//
// A pipeline runs one query as: parse -> pre-retrieval stages (may rewrite
// the query, add a filter, annotate) -> search -> post-retrieval stages (may
// rescore and reorder the hits) -> results. Every object here crosses the
// plugin boundary, so both sides must be built alike (plugin/abi.h checks).
//
// Threading: a Stage is created once and then run by many threads at once;
// run() must be safe to call concurrently. Per-query state lives in the
// QueryContext, which only the calling thread touches.
#pragma once

#include <lucene++/Lucene.h>  // forward declarations and Ptr typedefs only

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace xmr {

// A label the categorizer assigned, with its score (higher is better) and,
// when the model is calibrated (xmr train --calibrate, xmr calibrate), the
// probability that the label is relevant; -1 when there is none.
struct ClassificationResult {
  std::string label;
  float score = 0;
  float probability = -1;
};

// Lucene's Classifier shape: the most likely class of a text, or the best
// `max` classes. Thread-safe.
class Classifier {
 public:
  virtual ~Classifier() = default;
  // The best class; label is empty when the model assigns none.
  virtual ClassificationResult assign_class(const std::string& text) const = 0;
  // Up to `max` classes, best first.
  virtual std::vector<ClassificationResult> get_classes(const std::string& text, int max) const = 0;
};

struct Hit {
  int32_t doc = 0;  // top-level doc id of the searcher's reader
  double score = 0;
};

// Why a hit has its score: filled by a rescoring stage when the request asks
// for explanations.
struct HitExplanation {
  int32_t doc = 0;
  bool in_window = false;       // rescored, or left below the window
  bool matched = false;         // the model knew at least one of the hit's labels
  double original_score = 0;    // the score before the stage
  double model_score = 0;       // the combined label score (0 when !matched)
  double final_score = 0;
  std::vector<ClassificationResult> labels;  // the hit's labels the model knows, with their scores
  // A stage merging two lists (retrieve): the hit's rank in each, from 1; 0
  // when that list does not have it.
  int lexical_rank = 0, model_rank = 0;
};

// A parameter a stage can take per request, and the values it accepts. The
// pipeline config declares which of them a request may set, within narrower
// bounds ("request_params" in the stage's object).
struct ParamSpec {
  std::string name;
  double min = 0, max = 0;
  bool integer = false;
};

// One stage's per-request parameter values, by name, checked against the
// declared bounds before the stage runs.
using StageParams = std::map<std::string, double>;

// Keys of a stage's config object that the pipeline reads itself; a stage
// accepts them beside its own options (JsonConfig::reject_unknown_keys).
inline const std::vector<std::string>& pipeline_stage_keys() {
  static const std::vector<std::string> keys = {"type", "name", "on_error", "time_budget_ms", "request_params"};
  return keys;
}

// A thing stages share and the host can swap while queries run (a model).
// The pipeline pins each resource's current version once at the start of a
// query, so every stage of that query sees the same version.
class Resource {
 public:
  virtual ~Resource() = default;
  // The current version; never null. Thread-safe.
  virtual std::shared_ptr<const void> current() const = 0;
  // Loads a new version from `path` and makes it current, labelled
  // `version` (a model store's version name, or the path). Queries already
  // running keep the version they pinned. On failure throws and the current
  // version stays. Thread-safe.
  virtual void reload(const std::string& path, const std::string& version) = 0;
  // A short description of the current version (path, generation).
  virtual std::string describe() const = 0;
};

// Which model (a resource name) and version answered for a stage.
struct ModelUsed {
  std::string stage;
  std::string model;
  std::string version;
};

// One query's state, passed from stage to stage.
struct QueryContext {
  std::string text;                    // the user's query text (UTF-8)
  Lucene::QueryPtr query;              // parsed; pre-retrieval stages may replace it
  Lucene::FilterPtr filter;            // optional; pre-retrieval stages may set it
  Lucene::IndexSearcherPtr searcher;   // the searcher this query runs on (pinned like a resource)
  int num_hits = 10;                   // hits the caller wants
  bool explain = false;                // fill `explanations`
  std::vector<Hit> hits;               // after search: the retrieved hits, best first
  std::vector<ClassificationResult> categories;  // set by a categorizing stage
  std::vector<HitExplanation> explanations;      // set by a rescoring stage (when explain)
  const StageParams* params = nullptr;           // the running stage's request parameters, or null
  const std::string* model = nullptr;            // the request's model for the running stage (one of
                                                 //   its selectable_models()), or null for its default
  std::vector<ModelUsed> models_used;            // appended by each stage that used a model
  // Resource versions pinned for this query, indexed by the slot the
  // pipeline returned from StageEnv::resource().
  std::vector<std::shared_ptr<const void>> pinned;
};

// The value of parameter `name` in `params` (a request's, or null), else `fallback`.
inline double param_or(const StageParams* params, const char* name, double fallback) {
  if (!params) return fallback;
  const auto it = params->find(name);
  return it == params->end() ? fallback : it->second;
}
// The request's value of parameter `name` for the running stage, else `fallback`.
inline double param_or(const QueryContext& ctx, const char* name, double fallback) {
  return param_or(ctx.params, name, fallback);
}

enum class StagePhase { kBeforeSearch, kAfterSearch };

class Stage {
 public:
  virtual ~Stage() = default;
  virtual StagePhase phase() const = 0;
  // Hits the search must return for this stage (e.g. a rescore window),
  // given the request's parameters for it (or null); the pipeline fetches
  // the largest of these and num_hits.
  virtual int hits_wanted(const StageParams* /*params*/) const { return 0; }
  // Runs the stage on one query. Throws std::exception on failure; the
  // pipeline then fails the query or, with "on_error": "skip", undoes the
  // stage's changes to the context.
  virtual void run(QueryContext& ctx) const = 0;
  // The stage as a Classifier, or nullptr if it is not one.
  virtual const Classifier* classifier() const { return nullptr; }
  // The parameters a request may set (ctx.params), with the values the stage accepts.
  virtual std::vector<ParamSpec> request_params() const { return {}; }
  // The models a request may choose among for this stage (ctx.model); empty
  // when it takes none.
  virtual std::vector<std::string> selectable_models() const { return {}; }
  // The host is about to serve queries from `searcher` (an index reopen):
  // prepare per-segment state for it now, reusing what unchanged segments
  // already have. Queries keep running meanwhile, on the searcher they
  // started with, so a stage must still serve the old one. Called from one
  // thread at a time. Throws std::exception to refuse the new searcher.
  virtual void searcher_changed(const Lucene::IndexSearcherPtr& /*searcher*/) {}
};

// What a stage is given when it is created.
struct StageSpec {
  std::string type;         // the stage type, e.g. "categorize"
  std::string name;         // unique in the pipeline (defaults to the type)
  std::string config_json;  // the stage's JSON object from the pipeline config
  std::string base_dir;     // relative paths in the config are relative to this
};

// A model of the pipeline config's "models" store: the file of its active
// version (resolved against the config's directory) and the version's name.
struct StoredModel {
  std::string path;
  std::string version;
};

class StageEnv {
 public:
  virtual ~StageEnv() = default;
  // The store's model named `name`, or nullptr when the store has none.
  virtual const StoredModel* stored_model(const std::string& name) const = 0;
  // The host's searcher when the stage is created (for checking fields);
  // queries carry their own (QueryContext::searcher), which may be newer.
  virtual Lucene::IndexSearcherPtr searcher() const = 0;
  // The slot of the resource named `name`, creating it with `make` when no
  // stage of this pipeline has created it yet; stages naming the same
  // resource share it (and its pinned version per query).
  virtual size_t resource(const std::string& name, const std::function<std::shared_ptr<Resource>()>& make) = 0;
  // The resource in `slot` (as returned by resource()).
  virtual std::shared_ptr<Resource> resource_at(size_t slot) const = 0;
};

// What a plugin offers, reached through XmrPluginDescriptor::api().
class PluginApi {
 public:
  virtual std::vector<std::string> stage_types() const = 0;
  // Creates a stage, or throws std::exception with a message naming the stage
  // and the problem (unknown option, missing model, field not in the index).
  virtual std::unique_ptr<Stage> create_stage(const StageSpec& spec, StageEnv& env) const = 0;

 protected:
  ~PluginApi() = default;  // lives as long as the process
};

}  // namespace xmr
