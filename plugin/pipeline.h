// A query pipeline for Lucene++ applications: the one thing a host adds.
//
//   text -> parse -> pre-retrieval stages -> search -> post-retrieval stages -> results
//
// Stages come from plugins (plugin/plugin_loader.h) and are created by type
// name from a JSON config:
//
//   {
//     "plugins": ["libxmr_plugin.so"],           // optional; loaded once, never unloaded; file names
//                                                //   are searched (find_plugin in plugin_loader.h), and
//                                                //   libxmr_plugin.so is found by itself when a stage
//                                                //   type is unknown
//     "models": {"products": {"versions": {"v1": "products-v1.xmr", "v2": "products-v2.xmr"},
//                             "active": "v2"}},  // optional model store: a stage names a model by its
//                                                //   name ("model": "products"); activate() swaps
//                                                //   versions; a request may pick a model among a
//                                                //   stage's "allowed_models"
//     "query": {"default_field": "text",         // field searched by the text (must be indexed)
//               "syntax": "plain",               // "plain": analyzed terms, OR'ed (a match
//                                                //   query); "lucene": QueryParser syntax
//               "default_operator": "or",        // "or" | "and"
//               "exact_fields": ["category"]},   // queried as exact values (also: the label and
//                                                //   key fields xmr index recorded in the index)
//     "stages": [
//       {"type": "categorize", "model": "products.xmr", "mode": "boost", "field": "category"},
//       {"type": "rerank", "model": "products.xmr", "label_field": "category", "window_size": 100}
//     ]
//   }
//
// For an online A/B test, "interleave": {"a": [stages], "b": [stages]} takes
// the place of "stages": each query runs both sides (their own pre-retrieval
// stages, search and post-retrieval stages) and their hit lists are merged by
// team-draft interleaving (Radlinski et al., CIKM 2008), each hit marked with
// its side. Stage names are unique across both sides.
//
// Relative paths in the config are relative to PipelineOptions::base_dir (for
// create_from_file, the config file's directory). Each stage's options are
// documented in the README ("Pipeline configuration").
//
// The host keeps its IndexSearcher and Analyzer; the pipeline only reads
// them. search() is const and safe to call from many threads at once, also
// while reload() swaps a model or set_searcher() swaps the index.
//
// Every stage object also takes, beside its own options:
//   "on_error": "fail" (default) | "skip"   skip: a stage that throws, or runs
//                       over its budget, leaves the query as it found it
//   "time_budget_ms": N (0 = none)          checked when the stage returns (a
//                       stage is never interrupted); over it, "skip" drops the
//                       stage's changes and "fail" fails the query
//   "request_params": {"window_size": {"min": 1, "max": 500}, ...}
//                       the parameters a request may set (SearchRequest::params),
//                       within these bounds (inside what the stage accepts)
#pragma once

#include <lucene++/Lucene.h>  // forward declarations and Ptr typedefs only

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "stage.h"  // same directory, in the tree and installed (<xmr/stage.h>)

namespace xmr {

// Limits of one request; larger ones are refused with an xmr::Error.
constexpr size_t kMaxQueryTextBytes = size_t(1) << 20;  // 1 MiB
constexpr int kMaxNumHits = 100000;
// Stages in one pipeline config (real pipelines have a handful).
constexpr size_t kMaxStages = 256;

struct SearchRequest {
  std::string text;          // the user's query text (valid UTF-8, at most kMaxQueryTextBytes)
  Lucene::QueryPtr query;    // optional: the host's own query, used instead of parsing `text`
  int num_hits = 10;         // hits returned, 0..kMaxNumHits
  bool explain = false;      // ask rescoring stages for per-hit explanations
  bool log_features = false; // fill SearchResult::features (learning-to-rank feature logging)
  // Interleaving pipelines: the query's id (a session or request id), which
  // fixes the team draft's coin flips, so a query id always gets the same
  // list. Empty: the text is used.
  std::string query_id;
  // Per stage name, values of the parameters that stage's config declares in
  // "request_params" (e.g. {"rerank": {{"window_size", 200}}}). A stage or
  // parameter not declared, or a value out of its declared bounds, fails
  // the request with an xmr::Error before any stage runs.
  std::map<std::string, StageParams> params;
  // Per stage name, the model to use instead of the stage's default: one of
  // the stage's "allowed_models". Another name fails the request.
  std::map<std::string, std::string> models;
};

struct StageTiming {
  std::string stage;  // "parse", "search", or a stage name
  double micros = 0;
};

// A stage whose changes the query dropped ("on_error": "skip").
struct SkippedStage {
  std::string stage;
  std::string reason;  // the stage's error, or "over its time budget of N ms (took M ms)"
};

// What a learning-to-rank model would train on for one hit, in the order of
// hit_feature_names(). Filled when SearchRequest::log_features is set.
struct HitFeatures {
  int32_t doc = 0;
  std::vector<double> values;
  std::vector<ClassificationResult> labels;  // the hit's labels the model knows, with their scores
};

// The names of HitFeatures::values, in order (documented in the README,
// "Feature logging"). New features are only ever appended.
const std::vector<std::string>& hit_feature_names();

struct SearchResult {
  std::vector<Hit> hits;                          // best first, at most num_hits
  std::vector<ClassificationResult> categories;   // from a categorizing stage, if any
  std::vector<HitExplanation> explanations;       // when explain and a rescoring stage ran; one per hit, same order
  std::vector<HitFeatures> features;              // when log_features; one per hit, same order
  std::vector<SkippedStage> skipped;              // stages that failed open for this query
  std::vector<ModelUsed> models_used;             // which model and version each model stage used
  // Interleaving pipelines: per hit, the side whose ranking put it in ("a" or
  // "b"), for crediting clicks; empty otherwise. Categories are side a's,
  // and a hit's score, explanation and features are its side's.
  std::vector<std::string> hit_sides;
  std::vector<StageTiming> timings;               // where the query's time went
};

// Counts since the pipeline was created. A query that throws counts in
// `failed`; a stage that throws counts in its `errors`, and in `skips` too
// when the query went on without it.
struct StageStats {
  std::string stage;            // "parse", "search", or a stage name
  uint64_t runs = 0;
  uint64_t errors = 0;          // threw
  uint64_t over_budget = 0;     // took longer than its time_budget_ms
  uint64_t skips = 0;           // changes dropped, query went on (on_error skip)
  double p50_micros = 0, p99_micros = 0;  // within about 2%
};
struct PipelineStats {
  uint64_t queries = 0;
  uint64_t failed = 0;          // queries that threw (bad request, stage failure)
  uint64_t searcher_changes = 0;
  std::vector<StageStats> stages;  // parse, pre-retrieval stages, search, post-retrieval stages
};

// A model of the config's "models" store.
struct StoreModelInfo {
  std::string name;
  std::string active;                 // the version serving (a version name, or a path given to reload())
  std::vector<std::string> versions;  // declared and added, in order
};

struct PipelineOptions {
  std::string base_dir = ".";  // relative paths in the config are resolved against it
};

class Pipeline {
 public:
  // Builds the pipeline from `config_json`. Throws xmr::Error naming the
  // problem (malformed JSON, unknown key, unknown stage type, a plugin that
  // does not load, a missing model, a field that is not in the index) before
  // any query runs.
  static std::unique_ptr<Pipeline> create(const std::string& config_json, const Lucene::IndexSearcherPtr& searcher,
                                          const Lucene::AnalyzerPtr& analyzer, const PipelineOptions& options = {});
  // As create(), reading the config from a file (errors name the file).
  static std::unique_ptr<Pipeline> create_from_file(const std::string& config_path,
                                                    const Lucene::IndexSearcherPtr& searcher,
                                                    const Lucene::AnalyzerPtr& analyzer);
  ~Pipeline();

  // Runs one query. Thread-safe. Throws xmr::Error naming the stage if a
  // stage fails (unless its config says "on_error": "skip"); a query either
  // completes on one consistent set of models and one searcher, or throws.
  SearchResult search(const SearchRequest& request) const;

  // Serves later queries from `searcher` (an index reopened after documents
  // were added or deleted; NRT or a new commit). Stages first prepare for it
  // (per-segment tables are built for new segments only); queries already
  // running finish on the searcher they started with. The pipeline holds a
  // reference on each searcher's reader (IndexReader::incRef) while a query
  // or the pipeline uses it, so the host may close() the old reader at once:
  // it really closes after its last query. Throws xmr::Error, keeping the
  // current searcher, when a stage refuses the new one (e.g. its label field
  // is gone) or the reader is closed. Thread-safe; calls are serialised.
  void set_searcher(const Lucene::IndexSearcherPtr& searcher);
  // The searcher new queries run on.
  Lucene::IndexSearcherPtr searcher() const;

  // Queries, failures and per-stage counts and latencies. Thread-safe.
  PipelineStats stats() const;

  // Swaps the resource `name` (a model: its name in the config, by default
  // its path as written there) for the file at `path`. Queries running keep
  // the old version; later queries use the new one. On failure throws and
  // the old version stays. Thread-safe.
  void reload(const std::string& name, const std::string& path);

  // Model store: makes `version` (declared in the config's "models", or
  // added by add_model_version) the one `model` serves, as reload() does.
  // Throws xmr::Error naming an unknown model or version, or a file that
  // does not load; the active version then stays. Thread-safe.
  void activate(const std::string& model, const std::string& version);
  // Declares a new version of a store model (its file, relative paths to the
  // config's directory), without loading it; activate() loads it. Throws on
  // an unknown model or a version name already taken.
  void add_model_version(const std::string& model, const std::string& version, const std::string& path);
  // The store's models, their versions and the active one.
  std::vector<StoreModelInfo> store_models() const;

  std::vector<std::string> resource_names() const;
  std::string describe_resource(const std::string& name) const;

  // The stage named `stage_name` as a Classifier (e.g. a categorize stage),
  // or nullptr. Valid as long as the pipeline.
  const Classifier* classifier(const std::string& stage_name) const;

 private:
  struct Impl;
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xmr
