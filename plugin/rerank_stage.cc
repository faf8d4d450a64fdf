#include "plugin/rerank_stage.h"

#include <lucene++/LuceneHeaders.h>

#include <algorithm>
#include <numeric>

#include "analyzers/utf8.h"
#include "core/error.h"
#include "plugin/json_config.h"
#include "plugin/model_handle.h"

namespace xmr {

namespace {

enum class ScoreMode { kTotal, kMultiply, kAvg, kMax, kMin };
enum class LabelScore { kMax, kMean, kSum };

class RerankStage : public Stage {
 public:
  RerankStage(const StageSpec& spec, StageEnv& env) {
    const JsonConfig config(spec.config_json, "stage \"" + spec.name + "\"");
    models_ = ModelChoices(config, spec, env);
    field_ = LabelField(config, "label_field", models_, env.searcher(), /*label_docs=*/false);
    window_size_ = (int)config.get_int("window_size", 10, 1, 100000);
    query_weight_ = config.get_double("query_weight", 1.0, -1e9, 1e9);
    rescore_weight_ = config.get_double("rescore_query_weight", 1.0, -1e9, 1e9);
    const std::string mode = config.get_choice("score_mode", "total", {"total", "multiply", "avg", "max", "min"});
    score_mode_ = mode == "multiply" ? ScoreMode::kMultiply
                  : mode == "avg"    ? ScoreMode::kAvg
                  : mode == "max"    ? ScoreMode::kMax
                  : mode == "min"    ? ScoreMode::kMin
                                     : ScoreMode::kTotal;
    const std::string combine = config.get_choice("label_score", "max", {"max", "mean", "sum"});
    label_score_ = combine == "mean" ? LabelScore::kMean : combine == "sum" ? LabelScore::kSum : LabelScore::kMax;
    repeated_ = parse_repeated_label_score(config.get_choice("repeated_score", "max", {"max", "mean"}));
    config.reject_unknown_keys(pipeline_stage_keys());
  }

  StagePhase phase() const override { return StagePhase::kAfterSearch; }
  int hits_wanted(const StageParams* params) const override {
    return (int)param_or(params, "window_size", window_size_);
  }
  std::vector<std::string> selectable_models() const override { return models_.names(); }
  std::vector<ParamSpec> request_params() const override {
    return {{"window_size", 1, 100000, true},
            {"query_weight", -1e9, 1e9, false},
            {"rescore_query_weight", -1e9, 1e9, false}};
  }

  void searcher_changed(const Lucene::IndexSearcherPtr& searcher) override { field_.searcher_changed(models_, searcher); }

  void run(QueryContext& ctx) const override {
    const ModelVersion& m = models_.pick(ctx);
    const size_t window = std::min(ctx.hits.size(), (size_t)param_or(ctx, "window_size", window_size_));
    const double query_weight = param_or(ctx, "query_weight", query_weight_);
    const double rescore_weight = param_or(ctx, "rescore_query_weight", rescore_weight_);
    const std::shared_ptr<const SegmentMap> mapped = field_.segments(ctx.searcher->getIndexReader());
    const SegmentMap& segments = *mapped;
    Buffers& b = buffers();
    b.clear(segments.segments.size());

    // Each windowed hit's known labels, and their union.
    b.hit_ptr.push_back(0);
    for (size_t i = 0; i < window; ++i) {
      const int32_t doc = ctx.hits[i].doc;
      const size_t s = segments.segment_of(doc);
      if (!b.segment_labels[s]) b.segment_labels[s] = m.segment_labels(segments.segments[s], field_.wide_name());
      const SegmentLabels& sl = *b.segment_labels[s];
      const int32_t local = doc - segments.doc_starts[s];
      if (local >= 0 && (size_t)local < sl.num_docs()) b.hit_labels.insert(b.hit_labels.end(), sl.begin(local), sl.end(local));
      b.hit_ptr.push_back(b.hit_labels.size());
    }
    b.unique = b.hit_labels;
    std::sort(b.unique.begin(), b.unique.end());
    b.unique.erase(std::unique(b.unique.begin(), b.unique.end()), b.unique.end());
    b.scores.resize(b.unique.size());
    if (!b.unique.empty()) {
      PredictParams p = m.model().default_predict_params();
      p.repeated = repeated_;
      m.model().score_labels(vectorize_query(m, ctx.text), b.unique.data(), b.unique.size(), p, b.ws,
                             b.scores.data());
    }

    // New scores for the window.
    b.model_score.assign(window, 0.0);
    b.final_score.resize(window);
    for (size_t i = 0; i < window; ++i) {
      const size_t n = b.hit_ptr[i + 1] - b.hit_ptr[i];
      const double original = query_weight * ctx.hits[i].score;
      if (n == 0) {
        b.final_score[i] = original;
        continue;
      }
      double combined = label_score_ == LabelScore::kMax ? -1e300 : 0.0;
      for (size_t j = b.hit_ptr[i]; j < b.hit_ptr[i + 1]; ++j) {
        const double s = score_of(b, b.hit_labels[j]);
        combined = label_score_ == LabelScore::kMax ? std::max(combined, s) : combined + s;
      }
      if (label_score_ == LabelScore::kMean) combined /= (double)n;
      b.model_score[i] = combined;
      b.final_score[i] = merge(original, rescore_weight * combined);
    }
    b.order.resize(window);
    std::iota(b.order.begin(), b.order.end(), 0);
    std::stable_sort(b.order.begin(), b.order.end(),
                     [&](size_t x, size_t y) { return b.final_score[x] > b.final_score[y]; });

    if (ctx.explain) explain(ctx, m, b, window);
    b.reordered.assign(ctx.hits.begin(), ctx.hits.begin() + window);
    for (size_t i = 0; i < window; ++i) {
      ctx.hits[i] = {b.reordered[b.order[i]].doc, b.final_score[b.order[i]]};
    }
  }

 private:
  struct Buffers {
    std::vector<std::shared_ptr<const SegmentLabels>> segment_labels;
    std::vector<size_t> hit_ptr;
    std::vector<Index> hit_labels, unique;
    std::vector<float> scores;
    std::vector<double> model_score, final_score;
    std::vector<size_t> order;
    std::vector<Hit> reordered;
    InferenceWorkspace ws;
    void clear(size_t segments) {
      segment_labels.assign(segments, nullptr);
      hit_ptr.clear();
      hit_labels.clear();
    }
  };
  static Buffers& buffers() {
    thread_local Buffers b;
    return b;
  }

  static double score_of(const Buffers& b, Index label) {
    return b.scores[std::lower_bound(b.unique.begin(), b.unique.end(), label) - b.unique.begin()];
  }

  double merge(double original, double model) const {
    switch (score_mode_) {
      case ScoreMode::kMultiply: return original * model;
      case ScoreMode::kAvg: return (original + model) / 2;
      case ScoreMode::kMax: return std::max(original, model);
      case ScoreMode::kMin: return std::min(original, model);
      case ScoreMode::kTotal: break;
    }
    return original + model;
  }

  void explain(QueryContext& ctx, const ModelVersion& m, const Buffers& b, size_t window) const {
    ctx.explanations.clear();
    for (size_t i = 0; i < ctx.hits.size(); ++i) {
      HitExplanation e;
      if (i < window) {
        const size_t h = b.order[i];
        e.doc = ctx.hits[h].doc;
        e.in_window = true;
        e.original_score = ctx.hits[h].score;
        e.matched = b.hit_ptr[h + 1] > b.hit_ptr[h];
        e.model_score = b.model_score[h];
        e.final_score = b.final_score[h];
        for (size_t j = b.hit_ptr[h]; j < b.hit_ptr[h + 1]; ++j) {
          e.labels.push_back({m.model().label_name(b.hit_labels[j]), (float)score_of(b, b.hit_labels[j])});
        }
      } else {
        e.doc = ctx.hits[i].doc;
        e.original_score = e.final_score = ctx.hits[i].score;
      }
      ctx.explanations.push_back(std::move(e));
    }
  }

  ModelChoices models_;
  LabelField field_;
  int window_size_ = 10;
  double query_weight_ = 1.0, rescore_weight_ = 1.0;
  ScoreMode score_mode_ = ScoreMode::kTotal;
  LabelScore label_score_ = LabelScore::kMax;
  RepeatedLabelScore repeated_ = RepeatedLabelScore::kMax;  // a label with several leaves
};

}  // namespace

std::unique_ptr<Stage> make_rerank_stage(const StageSpec& spec, StageEnv& env) {
  return std::make_unique<RerankStage>(spec, env);
}

}  // namespace xmr
