// How the pipeline runs a stage it was configured with: the stage's error
// policy, time budget and declared request parameters (the keys every stage
// object takes, pipeline_stage_keys()), the counters behind stats(), and the
// snapshot that undoes a stage which fails open. Internal to the pipeline.
#pragma once

#include <rapidjson/document.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "plugin/latency_histogram.h"
#include "plugin/stage.h"

namespace xmr {

// How often a step of the pipeline ran, failed and how long it took.
struct StepCounters {
  std::atomic<uint64_t> runs{0}, errors{0}, over_budget{0}, skips{0};
  LatencyHistogram latency;
};

struct NamedStage {
  std::string name;
  std::unique_ptr<Stage> stage;
  bool skip_on_error = false;
  double budget_micros = 0;                  // 0: no budget
  std::map<std::string, ParamSpec> declared;  // request parameters, with the config's bounds
  std::unique_ptr<StepCounters> counters = std::make_unique<StepCounters>();
};

// Reads "on_error", "time_budget_ms" and "request_params" of a stage's
// config object into `s` (whose stage is already made, for its
// request_params()). Throws xmr::Error naming `where` and the key.
void read_stage_policy(const rapidjson::Value& object, const std::string& where, NamedStage& s);

// Throws xmr::Error ("search: params: stage ...") unless every value in
// `params` is a parameter `s` declared, within its bounds.
void check_request_params(const NamedStage& s, const StageParams& params);

// What a stage may change in a query, kept to undo a stage that fails open.
struct ContextSnapshot {
  Lucene::QueryPtr query;
  Lucene::FilterPtr filter;
  std::vector<Hit> hits;
  std::vector<ClassificationResult> categories;
  std::vector<HitExplanation> explanations;
  explicit ContextSnapshot(const QueryContext& c)
      : query(c.query), filter(c.filter), hits(c.hits), categories(c.categories), explanations(c.explanations) {}
  void restore(QueryContext& c) {
    c.query = std::move(query);
    c.filter = std::move(filter);
    c.hits = std::move(hits);
    c.categories = std::move(categories);
    c.explanations = std::move(explanations);
  }
};

}  // namespace xmr
