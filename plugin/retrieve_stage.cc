#include "plugin/retrieve_stage.h"

#include <lucene++/LuceneHeaders.h>

#include <algorithm>

#include "analyzers/utf8.h"
#include "plugin/json_config.h"
#include "plugin/model_handle.h"
#include "plugin/rank_fusion.h"

namespace xmr {

namespace {

class RetrieveStage : public Stage {
 public:
  RetrieveStage(const StageSpec& spec, StageEnv& env) {
    const JsonConfig config(spec.config_json, "stage \"" + spec.name + "\"");
    models_ = ModelChoices(config, spec, env);
    key_field_ = LabelField(config, "key_field", models_, env.searcher(), /*label_docs=*/true);
    num_candidates_ = (int)config.get_int("num_candidates", 100, 1, 10000);
    beam_size_ = (int)config.get_int("beam_size", 10, 1, 100000);
    window_size_ = (int)config.get_int("window_size", 100, 0, 100000);
    fusion_.rule = config.get_choice("fusion", "rrf", {"rrf", "weighted"}) == "rrf" ? FusionRule::kRrf
                                                                                   : FusionRule::kWeighted;
    fusion_.rank_constant = config.get_double("rank_constant", 60, 1, 1e6);
    fusion_.lexical_weight = config.get_double("lexical_weight", 1, 0, 1e9);
    fusion_.model_weight = config.get_double("model_weight", 1, 0, 1e9);
    min_model_score_ = (float)config.get_double("min_model_score", 0, -1e30, 1e30);
    config.reject_unknown_keys(pipeline_stage_keys());
  }

  StagePhase phase() const override { return StagePhase::kAfterSearch; }
  int hits_wanted(const StageParams* params) const override {
    return (int)param_or(params, "window_size", window_size_);
  }
  std::vector<std::string> selectable_models() const override { return models_.names(); }
  std::vector<ParamSpec> request_params() const override {
    return {{"num_candidates", 1, 10000, true},
            {"window_size", 0, 100000, true},
            {"rank_constant", 1, 1e6, false},
            {"lexical_weight", 0, 1e9, false},
            {"model_weight", 0, 1e9, false}};
  }

  void searcher_changed(const Lucene::IndexSearcherPtr& searcher) override {
    key_field_.searcher_changed(models_, searcher);
  }

  void run(QueryContext& ctx) const override {
    const ModelVersion& m = models_.pick(ctx);
    const size_t window = std::min(ctx.hits.size(), (size_t)param_or(ctx, "window_size", window_size_));
    FusionParams fusion = fusion_;
    fusion.rank_constant = param_or(ctx, "rank_constant", fusion.rank_constant);
    fusion.lexical_weight = param_or(ctx, "lexical_weight", fusion.lexical_weight);
    fusion.model_weight = param_or(ctx, "model_weight", fusion.model_weight);

    thread_local InferenceWorkspace ws;
    thread_local std::vector<ScoredLabel> top;
    thread_local std::vector<Hit> lexical, model_hits;
    PredictParams p = m.model().default_predict_params();
    p.beam_size = beam_size_;
    p.top_k = (int)param_or(ctx, "num_candidates", num_candidates_);
    m.model().predict(vectorize_query(m, ctx.text), p, ws, top);

    // The model's keys as documents of the query's searcher.
    const std::shared_ptr<const SegmentMap> mapped = key_field_.segments(ctx.searcher->getIndexReader());
    const SegmentMap& segments = *mapped;
    thread_local std::vector<std::shared_ptr<const LabelDocs>> key_docs;  // per segment
    key_docs.clear();
    for (const auto& segment : segments.segments) key_docs.push_back(m.segment_label_docs(segment, key_field_.wide_name()));
    model_hits.clear();
    for (const ScoredLabel& s : top) {
      if (s.score < min_model_score_) continue;
      const int32_t doc = live_doc_of(segments, key_docs, s.label);
      const bool listed = std::any_of(model_hits.begin(), model_hits.end(), [&](const Hit& h) { return h.doc == doc; });
      if (doc >= 0 && !listed) model_hits.push_back({doc, s.score});  // a document with two keys counts once
    }
    key_docs.clear();  // a closed segment's table is not kept alive by this thread
    lexical.assign(ctx.hits.begin(), ctx.hits.begin() + window);
    const std::vector<FusedHit> fused = fuse(lexical, model_hits, fusion);

    ctx.hits.clear();
    for (const FusedHit& f : fused) ctx.hits.push_back({f.doc, f.score});
    if (!ctx.explain) return;
    ctx.explanations.clear();
    for (const FusedHit& f : fused) {
      HitExplanation e;
      e.doc = f.doc;
      e.in_window = true;
      e.matched = f.model_rank > 0;
      e.original_score = f.lexical_score;
      e.model_score = f.model_score;
      e.final_score = f.score;
      e.lexical_rank = f.lexical_rank;
      e.model_rank = f.model_rank;
      ctx.explanations.push_back(std::move(e));
    }
  }

 private:
  // The live document whose key is `label`, as a top-level doc id, or -1.
  static int32_t live_doc_of(const SegmentMap& segments, const std::vector<std::shared_ptr<const LabelDocs>>& key_docs,
                             Index label) {
    for (size_t s = 0; s < segments.segments.size(); ++s) {
      const auto [first, last] = key_docs[s]->docs_of(label);
      for (auto e = first; e != last; ++e) {
        if (!segments.segments[s]->isDeleted(e->second)) return segments.doc_starts[s] + e->second;
      }
    }
    return -1;
  }

  ModelChoices models_;
  LabelField key_field_;
  int num_candidates_ = 100, beam_size_ = 10, window_size_ = 100;
  FusionParams fusion_;
  float min_model_score_ = 0;
};

}  // namespace

std::unique_ptr<Stage> make_retrieve_stage(const StageSpec& spec, StageEnv& env) {
  return std::make_unique<RetrieveStage>(spec, env);
}

}  // namespace xmr
