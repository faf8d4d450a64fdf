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
// Relative paths in the config are relative to PipelineOptions::base_dir (for
// create_from_file, the config file's directory). Each stage's options are
// documented in the README ("Pipeline configuration").
//
// The host keeps its IndexSearcher and Analyzer; the pipeline only reads
// them. search() is const and safe to call from many threads at once, also
// while reload() swaps a model.
#pragma once

#include <lucene++/Lucene.h>  // forward declarations and Ptr typedefs only

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
};

struct StageTiming {
  std::string stage;  // "parse", "search", or a stage name
  double micros = 0;
};

struct SearchResult {
  std::vector<Hit> hits;                          // best first, at most num_hits
  std::vector<ClassificationResult> categories;   // from a categorizing stage, if any
  std::vector<HitExplanation> explanations;       // when explain and a rescoring stage ran; one per hit, same order
  std::vector<StageTiming> timings;               // where the query's time went
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
  // stage fails; a query either completes on one consistent set of models
  // or throws.
  SearchResult search(const SearchRequest& request) const;

  // Swaps the resource `name` (a model: its name in the config, by default
  // its path as written there) for the file at `path`. Queries running keep
  // the old version; later queries use the new one. On failure throws and
  // the old version stays. Thread-safe.
  void reload(const std::string& name, const std::string& path);

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
