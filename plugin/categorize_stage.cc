#include "plugin/categorize_stage.h"

#include <lucene++/FilteredQuery.h>
#include <lucene++/LuceneHeaders.h>
#include <lucene++/QueryWrapperFilter.h>

#include <algorithm>

#include "analyzers/utf8.h"
#include "core/error.h"
#include "plugin/json_config.h"
#include "plugin/model_handle.h"

namespace xmr {

namespace {

enum class Mode { kAnnotate, kBoost, kFilter };

class CategorizeStage : public Stage, public Classifier {
 public:
  CategorizeStage(const StageSpec& spec, StageEnv& env) {
    const JsonConfig config(spec.config_json, "stage \"" + spec.name + "\"");
    models_ = ModelChoices(config, spec, env);
    top_k_ = (int)config.get_int("top_k", 5, 1, 10000);
    beam_size_ = (int)config.get_int("beam_size", 10, 1, 100000);
    min_score_ = (float)config.get_double("min_score", 0.0, -1e30, 1e30);
    repeated_ = parse_repeated_label_score(config.get_choice("repeated_score", "max", {"max", "mean"}));
    const std::string mode = config.get_choice("mode", "annotate", {"annotate", "boost", "filter"});
    mode_ = mode == "boost" ? Mode::kBoost : mode == "filter" ? Mode::kFilter : Mode::kAnnotate;
    field_ = config.get_string("field", "");
    boost_ = config.get_double("boost", 1.0, 0.0, 1e9);
    min_probability_ = (float)config.get_double("min_probability", -1.0, 0.0, 1.0);
    boost_by_probability_ = config.get_choice("boost_by", "score", {"score", "probability"}) == "probability";
    config.reject_unknown_keys(pipeline_stage_keys());
    const bool needs_probability = min_probability_ >= 0 || boost_by_probability_;
    if (boost_by_probability_ && mode_ != Mode::kBoost) config.fail("boost_by", "applies to mode \"boost\" only");
    if (mode_ != Mode::kAnnotate && field_.empty()) config.fail("field", "is required in mode \"" + mode + "\"");
    for (const auto& choice : models_.all()) {
      const auto version = choice.handle->current_version();
      if (needs_probability && !version->model().calibration()) {
        config.fail(min_probability_ >= 0 ? "min_probability" : "boost_by",
                    "needs a calibrated model (xmr train --calibrate, or xmr calibrate); " + version->path() +
                        " has no calibration");
      }
      if (mode_ != Mode::kAnnotate) {
        require_label_field(config, "field", field_, *version, env.searcher()->getIndexReader());
      }
    }
    field_wide_ = utf8_to_wide(field_);
  }

  StagePhase phase() const override { return StagePhase::kBeforeSearch; }
  const Classifier* classifier() const override { return this; }
  std::vector<std::string> selectable_models() const override { return models_.names(); }
  std::vector<ParamSpec> request_params() const override {
    return {{"top_k", 1, 10000, true},
            {"beam_size", 1, 100000, true},
            {"min_score", -1e30, 1e30, false},
            {"boost", 0, 1e9, false}};
  }

  void run(QueryContext& ctx) const override {
    const ModelVersion& m = models_.pick(ctx);
    const Overrides o{(int)param_or(ctx, "top_k", top_k_), (int)param_or(ctx, "beam_size", beam_size_),
                      (float)param_or(ctx, "min_score", min_score_)};
    const double boost = param_or(ctx, "boost", boost_);
    classify(m, ctx.text, o, ctx.categories);
    if (mode_ == Mode::kAnnotate || ctx.categories.empty()) return;
    Lucene::BooleanQueryPtr categories = Lucene::newLucene<Lucene::BooleanQuery>();
    for (const auto& c : ctx.categories) {
      // A model swapped in without calibration has no probability to boost by.
      if (mode_ == Mode::kBoost && boost_by_probability_ && c.probability < 0) continue;
      Lucene::TermQueryPtr tq =
          Lucene::newLucene<Lucene::TermQuery>(Lucene::newLucene<Lucene::Term>(field_wide_, utf8_to_wide(c.label)));
      if (mode_ == Mode::kBoost) tq->setBoost(boost * (boost_by_probability_ ? c.probability : c.score));
      categories->add(tq, Lucene::BooleanClause::SHOULD);
    }
    if (categories->getClauses().empty()) return;
    if (mode_ == Mode::kBoost) {
      Lucene::BooleanQueryPtr q = Lucene::newLucene<Lucene::BooleanQuery>();
      q->add(ctx.query, Lucene::BooleanClause::MUST);
      for (const auto& clause : categories->getClauses()) q->add(clause);
      ctx.query = q;
    } else {
      ctx.query = Lucene::newLucene<Lucene::FilteredQuery>(
          ctx.query, Lucene::newLucene<Lucene::QueryWrapperFilter>(categories));
    }
  }

  ClassificationResult assign_class(const std::string& text) const override {
    std::vector<ClassificationResult> best = get_classes(text, 1);
    return best.empty() ? ClassificationResult{} : best[0];
  }

  std::vector<ClassificationResult> get_classes(const std::string& text, int max) const override {
    std::vector<ClassificationResult> out;
    if (max < 1) return out;
    classify(*models_.default_model().handle->current_version(), text, {max, beam_size_, min_score_}, out);
    return out;
  }

 private:
  // A query's values of the options a request may set.
  struct Overrides {
    int top_k, beam_size;
    float min_score;
  };

  void classify(const ModelVersion& m, const std::string& text, const Overrides& o,
                std::vector<ClassificationResult>& out) const {
    thread_local InferenceWorkspace ws;
    thread_local std::vector<ScoredLabel> top;
    PredictParams p = m.model().default_predict_params();  // the model's post-processor
    p.beam_size = o.beam_size;
    p.top_k = o.top_k;
    p.repeated = repeated_;
    m.model().predict(vectorize_query(m, text), p, ws, top);
    out.clear();
    const Calibration* calibration = m.model().calibration();
    float above = 1.0f;  // probabilities do not increase down the list (Calibration::apply)
    for (size_t r = 0; r < top.size(); ++r) {
      const ScoredLabel& s = top[r];
      float probability = -1;
      if (calibration) {
        above = std::min(above, calibration->probability(s.score, r + 1));
        probability = above;
      }
      if (s.score < o.min_score) continue;
      if (min_probability_ >= 0 && !(probability >= min_probability_)) continue;
      out.push_back({m.model().label_name(s.label), s.score, probability});
    }
  }

  ModelChoices models_;
  int top_k_ = 5;
  int beam_size_ = 10;
  float min_score_ = 0;
  RepeatedLabelScore repeated_ = RepeatedLabelScore::kMax;
  Mode mode_ = Mode::kAnnotate;
  std::string field_;
  std::wstring field_wide_;
  double boost_ = 1.0;
  float min_probability_ = -1;  // < 0: not set
  bool boost_by_probability_ = false;
};

}  // namespace

std::unique_ptr<Stage> make_categorize_stage(const StageSpec& spec, StageEnv& env) {
  return std::make_unique<CategorizeStage>(spec, env);
}

}  // namespace xmr
