#include "plugin/pipeline.h"

#include <lucene++/LuceneHeaders.h>
#include <lucene++/PerFieldAnalyzerWrapper.h>
#include <lucene++/TermAttribute.h>

#include <algorithm>
#include <atomic>
#include <boost/filesystem.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "analyzers/index_record.h"
#include "analyzers/utf8.h"
#include "core/error.h"
#include "core/file_util.h"
#include "plugin/hit_features.h"
#include "plugin/json_config.h"
#include "plugin/model_store.h"
#include "plugin/plugin_loader.h"
#include "plugin/served_searcher.h"
#include "plugin/stage_policy.h"
#include "plugin/team_draft.h"

namespace xmr {

namespace {

using Clock = std::chrono::steady_clock;

double micros_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

// Lucene's parse errors echo the whole query and list every expected token
// over many lines; keep what went wrong where, on one short line.
std::string syntax_error_line(std::string message, const std::string& query) {
  const std::string echo = "Cannot parse '" + query + "': ";
  if (message.compare(0, echo.size(), echo) == 0) message = "query syntax: " + message.substr(echo.size());
  message = message.substr(0, message.find_first_of("\r\n"));
  constexpr size_t kMaxBytes = 200;
  if (message.size() > kMaxBytes) message = message.substr(0, utf8_prefix_length(message, kMaxBytes)) + "...";
  return message;
}

// The first loaded plugin offering stage type `type`, or nullptr; `known`
// gets every type offered.
const LoadedPlugin* find_provider(const std::vector<LoadedPlugin>& plugins, const std::string& type,
                                  std::string& known) {
  const LoadedPlugin* provider = nullptr;
  known.clear();
  for (const auto& p : plugins) {
    for (const auto& t : p.api->stage_types()) {
      known += (known.empty() ? "" : ", ") + t;
      if (t == type && !provider) provider = &p;
    }
  }
  return provider;
}

std::string milliseconds(double micros) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", micros / 1000.0);
  return buf;
}

// The StageEnv a pipeline gives its stages while they are created.
class Env : public StageEnv {
 public:
  Env(Lucene::IndexSearcherPtr searcher, std::vector<std::string>& names,
      std::vector<std::shared_ptr<Resource>>& resources, const std::map<std::string, StoredModel>& store)
      : searcher_(std::move(searcher)), names_(names), resources_(resources), store_(store) {}
  Lucene::IndexSearcherPtr searcher() const override { return searcher_; }
  const StoredModel* stored_model(const std::string& name) const override {
    const auto found = store_.find(name);
    return found == store_.end() ? nullptr : &found->second;
  }
  size_t resource(const std::string& name, const std::function<std::shared_ptr<Resource>()>& make) override {
    const auto found = slots_.find(name);
    if (found != slots_.end()) return found->second;
    std::shared_ptr<Resource> r = make();
    if (!r) throw Error("resource \"" + name + "\": the stage created none");
    names_.push_back(name);
    resources_.push_back(std::move(r));
    slots_.emplace(name, names_.size() - 1);
    return names_.size() - 1;
  }
  std::shared_ptr<Resource> resource_at(size_t slot) const override { return resources_.at(slot); }

 private:
  Lucene::IndexSearcherPtr searcher_;
  std::vector<std::string>& names_;
  std::vector<std::shared_ptr<Resource>>& resources_;
  std::map<std::string, size_t> slots_;  // name -> index in names_
  const std::map<std::string, StoredModel>& store_;
};

}  // namespace

struct Pipeline::Impl {
  Lucene::AnalyzerPtr analyzer;
  std::string default_field = "text";
  std::wstring default_field_wide;
  bool lucene_syntax = false;
  bool match_all_terms = false;  // default operator AND
  // The stages: one side, or two whose results are interleaved ("interleave").
  struct Side {
    std::string name;  // "a" or "b"; empty without interleaving
    std::vector<NamedStage> before, after;
  };
  std::vector<Side> sides;
  std::vector<std::string> resource_names;
  std::vector<std::shared_ptr<Resource>> resources;

  std::string base_dir;
  std::vector<StoreEntry> store;  // guarded by store_mutex
  mutable std::mutex store_mutex;

  std::shared_ptr<const ServedSearcher> served;  // read and written with std::atomic_load/store
  std::mutex searcher_mutex;                     // one set_searcher at a time

  mutable StepCounters parse_counters, search_counters;
  mutable std::atomic<uint64_t> queries{0}, failed{0}, searcher_changes{0};

  Lucene::QueryPtr parse(const std::string& text) const;
  void check_default_field(const Lucene::IndexReaderPtr& reader) const;
  const NamedStage* find_stage(const std::string& name) const;
  std::shared_ptr<Resource> resource_named(const std::string& name) const;
  void run_stage(const NamedStage& s, const SearchRequest& request, QueryContext& ctx, SearchResult& result) const;
  // Runs one side's stages and search on `ctx` (already parsed); the hits end
  // at num_hits. `retrieved` gets the search's own list when features are logged.
  void run_side(const Side& side, const SearchRequest& request, QueryContext& ctx, std::vector<Hit>& retrieved,
                SearchResult& result) const;
  template <class F>
  void for_each_stage(F&& f) const {
    for (const auto& side : sides) {
      for (const auto* list : {&side.before, &side.after}) {
        for (const auto& s : *list) f(s);
      }
    }
  }
  SearchResult run_query(const SearchRequest& request) const;
};

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::~Pipeline() = default;

std::unique_ptr<Pipeline> Pipeline::create(const std::string& config_json, const Lucene::IndexSearcherPtr& searcher,
                                           const Lucene::AnalyzerPtr& analyzer, const PipelineOptions& options) {
  if (!searcher) throw Error("pipeline: no IndexSearcher given");
  if (!analyzer) throw Error("pipeline: no Analyzer given");
  auto impl = std::make_unique<Impl>();
  impl->served = std::make_shared<const ServedSearcher>(searcher);
  impl->analyzer = analyzer;
  impl->base_dir = options.base_dir;

  const JsonConfig config(config_json, "pipeline config");
  std::set<std::string> exact_fields;
  std::vector<const LoadedPlugin*> plugins;
  for (const auto& p : config.get_string_array("plugins")) {
    plugins.push_back(&load_plugin(find_plugin(p, options.base_dir)));
  }
  if (const rapidjson::Value* q = config.get_value("query")) {
    const JsonConfig query(*q, "pipeline config: \"query\"");
    impl->default_field = query.get_string("default_field", impl->default_field);
    impl->lucene_syntax = query.get_choice("syntax", "plain", {"plain", "lucene"}) == "lucene";
    impl->match_all_terms = query.get_choice("default_operator", "or", {"or", "and"}) == "and";
    for (const auto& f : query.get_string_array("exact_fields")) exact_fields.insert(f);
    query.reject_unknown_keys();
  }
  impl->default_field_wide = utf8_to_wide(impl->default_field);
  const Lucene::IndexReaderPtr reader = searcher->getIndexReader();
  impl->check_default_field(reader);
  // Label and key fields hold exact values: a query naming one (categories:Shoes)
  // must look the value up as it is, not analyzed like text.
  for (const auto& f : exact_value_fields(read_index_record(reader))) exact_fields.insert(f);
  if (!exact_fields.empty()) {
    auto per_field = Lucene::newLucene<Lucene::PerFieldAnalyzerWrapper>(analyzer);
    for (const auto& f : exact_fields) per_field->addAnalyzer(utf8_to_wide(f), Lucene::newLucene<Lucene::KeywordAnalyzer>());
    impl->analyzer = per_field;
  }

  std::map<std::string, StoredModel> active_models;
  if (const rapidjson::Value* models = config.get_value("models")) {
    impl->store = read_model_store(*models, options.base_dir);
    for (const auto& e : impl->store) active_models[e.name] = {*e.path_of(e.active), e.active};
  }
  const rapidjson::Value* stages = config.get_value("stages");
  const rapidjson::Value* interleave = config.get_value("interleave");
  config.reject_unknown_keys();
  // Stage types from every plugin loaded in this process (the config's and the host's own).
  std::vector<LoadedPlugin> available = loaded_plugins();
  Env env(searcher, impl->resource_names, impl->resources, active_models);
  std::set<std::string> stage_names;
  bool tried_default_plugin = false;
  std::string default_plugin_error;

  // Creates the stages of the array `list` (named `key` in errors) into `side`.
  auto read_side = [&](const rapidjson::Value* list, const std::string& key, Impl::Side& side) {
    const std::string option = "pipeline config: option \"" + key + "\"";
    if (list && !list->IsArray()) throw Error(option + ": must be an array of stage objects");
    if (list && list->Size() > kMaxStages) {
      throw Error(option + ": " + std::to_string(list->Size()) + " stages; at most " + std::to_string(kMaxStages));
    }
    for (rapidjson::SizeType i = 0; list && i < list->Size(); ++i) {
      const std::string where = "pipeline config: " + key + "[" + std::to_string(i) + "]";
      const rapidjson::Value& s = (*list)[i];
      if (!s.IsObject()) throw Error(where + ": must be a JSON object");
      if (!s.HasMember("type") || !s["type"].IsString()) throw Error(where + ": \"type\" (a string) is required");
      StageSpec spec;
      spec.type = s["type"].GetString();
      spec.name = spec.type;
      if (s.HasMember("name")) {
        if (!s["name"].IsString()) throw Error(where + ": \"name\" must be a string");
        spec.name = s["name"].GetString();
      }
      if (!stage_names.insert(spec.name).second) {
        throw Error(where + ": two stages are named \"" + spec.name + "\"; give one a \"name\"");
      }
      spec.config_json = json_to_string(s);
      spec.base_dir = options.base_dir;

      std::string known;
      const LoadedPlugin* provider = find_provider(available, spec.type, known);
      if (!provider && !tried_default_plugin) {
        // The xmr plugin, found by the search path, serves configs that list none.
        tried_default_plugin = true;
        try {
          load_plugin(find_plugin(kDefaultPluginFile, options.base_dir));
          available = loaded_plugins();
          provider = find_provider(available, spec.type, known);
        } catch (const std::exception& e) {
          default_plugin_error = e.what();
        }
      }
      if (!provider) {
        throw Error(where + ": unknown stage type \"" + spec.type + "\" (" +
                    (known.empty() ? std::string("no plugin is loaded") : "known: " + known) +
                    (default_plugin_error.empty() ? "" : "; " + default_plugin_error) + ")");
      }
      std::unique_ptr<Stage> stage;
      try {
        stage = provider->api->create_stage(spec, env);
      } catch (const std::exception& e) {
        throw Error(where + " (" + spec.type + "): " + e.what());
      }
      if (!stage) throw Error(where + ": plugin " + provider->path + " created no stage");
      auto& stages_of_phase = stage->phase() == StagePhase::kBeforeSearch ? side.before : side.after;
      if (stage->phase() == StagePhase::kBeforeSearch && !side.after.empty()) {
        throw Error(where + ": pre-retrieval stage \"" + spec.name + "\" listed after a post-retrieval stage");
      }
      NamedStage named;
      named.name = spec.name;
      named.stage = std::move(stage);
      read_stage_policy(s, where + " (" + spec.type + ")", named);
      stages_of_phase.push_back(std::move(named));
    }
  };

  if (interleave) {
    if (stages) config.fail("interleave", "replaces \"stages\": give each side its stages, not both");
    if (!interleave->IsObject()) config.fail("interleave", "must be an object {\"a\": [stages], \"b\": [stages]}");
    const JsonConfig sides(*interleave, "pipeline config: \"interleave\"");
    for (const char* name : {"a", "b"}) {
      const rapidjson::Value* list = sides.get_value(name);
      if (!list) sides.fail(name, "is required: the stages of that side (may be [])");
      impl->sides.push_back({name, {}, {}});
      read_side(list, std::string("interleave.") + name, impl->sides.back());
    }
    sides.reject_unknown_keys();
  } else {
    impl->sides.push_back({});
    read_side(stages, "stages", impl->sides.back());
  }
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(impl)));
}

std::unique_ptr<Pipeline> Pipeline::create_from_file(const std::string& config_path,
                                                     const Lucene::IndexSearcherPtr& searcher,
                                                     const Lucene::AnalyzerPtr& analyzer) {
  const std::string json = read_file_bytes(config_path);
  PipelineOptions options;
  options.base_dir = boost::filesystem::path(config_path).parent_path().string();
  try {
    return create(json, searcher, analyzer, options);
  } catch (const std::exception& e) {
    throw Error(config_path + ": " + e.what());
  }
}

Lucene::QueryPtr Pipeline::Impl::parse(const std::string& text) const {
  if (lucene_syntax) {
    // QueryParser is not thread-safe: one per query (it is cheap to make).
    Lucene::QueryParserPtr parser =
        Lucene::newLucene<Lucene::QueryParser>(Lucene::LuceneVersion::LUCENE_30, default_field_wide, analyzer);
    if (match_all_terms) parser->setDefaultOperator(Lucene::QueryParser::AND_OPERATOR);
    return parser->parse(utf8_to_wide(text));
  }
  // A match query: the analyzed terms of the text, OR'ed (or AND'ed), with
  // no syntax to trip over. Terms past the clause limit are dropped.
  Lucene::BooleanQueryPtr query = Lucene::newLucene<Lucene::BooleanQuery>();
  Lucene::TokenStreamPtr stream =
      analyzer->reusableTokenStream(default_field_wide, Lucene::newLucene<Lucene::StringReader>(utf8_to_wide(text)));
  Lucene::TermAttributePtr term = stream->addAttribute<Lucene::TermAttribute>();
  stream->reset();
  const int max_clauses = Lucene::BooleanQuery::getMaxClauseCount();
  int clauses = 0;
  while (stream->incrementToken()) {
    if (clauses++ >= max_clauses) continue;  // keep consuming so the reusable stream ends cleanly
    query->add(Lucene::newLucene<Lucene::TermQuery>(Lucene::newLucene<Lucene::Term>(default_field_wide, term->term())),
               match_all_terms ? Lucene::BooleanClause::MUST : Lucene::BooleanClause::SHOULD);
  }
  stream->end();
  return query;
}

void Pipeline::Impl::check_default_field(const Lucene::IndexReaderPtr& reader) const {
  // A field the index does not have would match nothing, forever.
  if (reader->maxDoc() == 0) return;
  const Lucene::HashSet<Lucene::String> indexed = reader->getFieldNames(Lucene::IndexReader::FIELD_OPTION_INDEXED);
  if (indexed.contains(default_field_wide)) return;
  std::string names;
  for (const auto& f : indexed) names += (names.empty() ? "" : ", ") + wide_to_utf8(f);
  throw Error("pipeline config: \"query\": default_field \"" + default_field +
              "\" is not an indexed field of the index (indexed: " + names + ")");
}

const NamedStage* Pipeline::Impl::find_stage(const std::string& name) const {
  const NamedStage* found = nullptr;
  for_each_stage([&](const NamedStage& s) {
    if (s.name == name) found = &s;
  });
  return found;
}

void Pipeline::Impl::run_stage(const NamedStage& s, const SearchRequest& request, QueryContext& ctx,
                               SearchResult& result) const {
  const auto found = request.params.find(s.name);
  ctx.params = found == request.params.end() ? nullptr : &found->second;
  const auto model = request.models.find(s.name);
  ctx.model = model == request.models.end() ? nullptr : &model->second;
  std::unique_ptr<ContextSnapshot> saved;
  if (s.skip_on_error || s.budget_micros > 0) saved = std::make_unique<ContextSnapshot>(ctx);
  const auto t0 = Clock::now();
  bool threw = false;
  std::string problem;
  try {
    s.stage->run(ctx);
  } catch (const std::exception& e) {
    threw = true;
    problem = e.what();
  } catch (...) {
    threw = true;
    problem = "threw something that is not a std::exception";
  }
  const double micros = micros_since(t0);
  ctx.params = nullptr;
  ctx.model = nullptr;
  StepCounters& c = *s.counters;
  c.runs.fetch_add(1, std::memory_order_relaxed);
  c.latency.record(micros);
  result.timings.push_back({s.name, micros});
  if (threw) {
    c.errors.fetch_add(1, std::memory_order_relaxed);
  } else if (s.budget_micros > 0 && micros > s.budget_micros) {
    c.over_budget.fetch_add(1, std::memory_order_relaxed);
    problem = "over its time budget of " + milliseconds(s.budget_micros) + " ms (took " + milliseconds(micros) + " ms)";
  } else {
    return;
  }
  if (!s.skip_on_error) throw Error("stage \"" + s.name + "\": " + problem);
  c.skips.fetch_add(1, std::memory_order_relaxed);
  saved->restore(ctx);
  result.skipped.push_back({s.name, problem});
}

SearchResult Pipeline::search(const SearchRequest& request) const {
  impl_->queries.fetch_add(1, std::memory_order_relaxed);
  try {
    return impl_->run_query(request);
  } catch (...) {
    impl_->failed.fetch_add(1, std::memory_order_relaxed);
    throw;
  }
}

SearchResult Pipeline::Impl::run_query(const SearchRequest& request) const {
  if (request.num_hits < 0 || request.num_hits > kMaxNumHits) {
    throw Error("search: num_hits must be in 0.." + std::to_string(kMaxNumHits) + ", got " +
                std::to_string(request.num_hits));
  }
  if (request.text.size() > kMaxQueryTextBytes) {
    throw Error("search: the query text is " + std::to_string(request.text.size()) + " bytes; the limit is " +
                std::to_string(kMaxQueryTextBytes));
  }
  size_t bad = 0;
  if (!is_valid_utf8(request.text, &bad)) {
    throw Error("search: the query text is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }
  for (const auto& [name, params] : request.params) {
    const NamedStage* s = find_stage(name);
    if (!s) throw Error("search: params: no stage named \"" + name + "\" in this pipeline");
    check_request_params(*s, params);
  }
  for (const auto& [name, model] : request.models) {
    const NamedStage* s = find_stage(name);
    if (!s) throw Error("search: models: no stage named \"" + name + "\" in this pipeline");
    const std::vector<std::string> allowed = s->stage->selectable_models();
    if (std::find(allowed.begin(), allowed.end(), model) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw Error("search: models: stage \"" + name + "\": model \"" + model + "\" is not allowed (" +
                  (list.empty() ? std::string("the stage takes no model per request; list them in its "
                                              "\"allowed_models\"")
                                : "allowed_models: " + list) +
                  ")");
    }
  }

  // Pin the searcher and every resource once, so the whole query sees one version of each.
  const std::shared_ptr<const ServedSearcher> pinned_searcher = std::atomic_load(&served);
  SearchResult result;
  QueryContext ctx;
  ctx.text = request.text;
  ctx.searcher = pinned_searcher->searcher();
  ctx.num_hits = request.num_hits;
  ctx.explain = request.explain || request.log_features;
  ctx.pinned.reserve(resources.size());
  for (const auto& r : resources) ctx.pinned.push_back(r->current());

  auto t0 = Clock::now();
  try {
    ctx.query = request.query ? request.query : parse(request.text);
  } catch (const Lucene::LuceneException& e) {
    parse_counters.errors.fetch_add(1, std::memory_order_relaxed);
    throw Error("parse: " + syntax_error_line(wide_to_utf8(e.getError()), request.text));
  }
  double micros = micros_since(t0);
  parse_counters.runs.fetch_add(1, std::memory_order_relaxed);
  parse_counters.latency.record(micros);
  result.timings.push_back({"parse", micros});

  if (sides.size() == 1) {
    std::vector<Hit> retrieved;
    run_side(sides[0], request, ctx, retrieved, result);
    if (request.log_features) result.features = hit_features(ctx.hits, retrieved, ctx.explanations, ctx.categories);
    result.hits = std::move(ctx.hits);
    result.categories = std::move(ctx.categories);
    result.models_used = std::move(ctx.models_used);
    if (request.explain) result.explanations = std::move(ctx.explanations);
    return result;
  }

  // Interleaving: both sides run from the parsed query; team draft merges their hits.
  QueryContext side_ctx[2] = {ctx, std::move(ctx)};
  std::vector<Hit> retrieved[2];
  std::vector<HitFeatures> features[2];
  for (int i = 0; i < 2; ++i) {
    run_side(sides[size_t(i)], request, side_ctx[i], retrieved[i], result);
    if (request.log_features) {
      features[i] = hit_features(side_ctx[i].hits, retrieved[i], side_ctx[i].explanations, side_ctx[i].categories);
    }
  }
  const std::vector<DraftedHit> drafted =
      team_draft(side_ctx[0].hits, side_ctx[1].hits, size_t(request.num_hits),
                 interleave_seed(request.query_id.empty() ? request.text : request.query_id));
  for (const DraftedHit& d : drafted) {
    const QueryContext& c = side_ctx[d.side];
    result.hits.push_back(c.hits[d.index]);
    result.hit_sides.push_back(sides[size_t(d.side)].name);
    if (request.explain && d.index < c.explanations.size()) result.explanations.push_back(c.explanations[d.index]);
    if (request.log_features) {
      HitFeatures f = features[d.side][d.index];
      f.values[kFinalRank] = double(result.hits.size());  // its place in the interleaved list
      result.features.push_back(std::move(f));
    }
  }
  if (result.explanations.size() != result.hits.size()) result.explanations.clear();  // a side without explanations
  result.categories = std::move(side_ctx[0].categories);
  for (auto& c : side_ctx) {
    result.models_used.insert(result.models_used.end(), c.models_used.begin(), c.models_used.end());
  }
  return result;
}

void Pipeline::Impl::run_side(const Side& side, const SearchRequest& request, QueryContext& ctx,
                              std::vector<Hit>& retrieved, SearchResult& result) const {
  int fetch = request.num_hits;
  for (const auto* list : {&side.before, &side.after}) {
    for (const auto& s : *list) {
      const auto found = request.params.find(s.name);
      fetch = std::max(fetch, s.stage->hits_wanted(found == request.params.end() ? nullptr : &found->second));
    }
  }
  for (const auto& s : side.before) run_stage(s, request, ctx, result);

  const auto t0 = Clock::now();
  if (fetch > 0) {
    try {
      Lucene::TopDocsPtr top = ctx.searcher->search(ctx.query, ctx.filter, fetch);
      ctx.hits.reserve(top->scoreDocs.size());
      for (const auto& sd : top->scoreDocs) ctx.hits.push_back({sd->doc, sd->score});
    } catch (const Lucene::LuceneException& e) {
      search_counters.errors.fetch_add(1, std::memory_order_relaxed);
      throw Error("search" + (side.name.empty() ? std::string() : " (side " + side.name + ")") + ": " +
                  wide_to_utf8(e.getError()));
    }
  }
  const double micros = micros_since(t0);
  search_counters.runs.fetch_add(1, std::memory_order_relaxed);
  search_counters.latency.record(micros);
  result.timings.push_back({side.name.empty() ? "search" : "search " + side.name, micros});

  if (request.log_features) retrieved = ctx.hits;
  for (const auto& s : side.after) run_stage(s, request, ctx, result);

  if ((int)ctx.hits.size() > request.num_hits) ctx.hits.resize(request.num_hits);
  if (ctx.explanations.size() > ctx.hits.size()) ctx.explanations.resize(ctx.hits.size());
}

void Pipeline::set_searcher(const Lucene::IndexSearcherPtr& searcher) {
  if (!searcher) throw Error("set_searcher: no IndexSearcher given");
  std::lock_guard<std::mutex> lock(impl_->searcher_mutex);
  try {
    auto next = std::make_shared<const ServedSearcher>(searcher);
    impl_->check_default_field(searcher->getIndexReader());
    impl_->for_each_stage([&](const NamedStage& s) {
      try {
        s.stage->searcher_changed(searcher);
      } catch (const std::exception& e) {
        throw Error("stage \"" + s.name + "\": " + e.what());
      }
    });
    std::atomic_store(&impl_->served, std::shared_ptr<const ServedSearcher>(std::move(next)));
  } catch (const std::exception& e) {
    throw Error(std::string("set_searcher: ") + e.what());
  }
  impl_->searcher_changes.fetch_add(1, std::memory_order_relaxed);
}

Lucene::IndexSearcherPtr Pipeline::searcher() const { return std::atomic_load(&impl_->served)->searcher(); }

PipelineStats Pipeline::stats() const {
  PipelineStats out;
  out.queries = impl_->queries.load(std::memory_order_relaxed);
  out.failed = impl_->failed.load(std::memory_order_relaxed);
  out.searcher_changes = impl_->searcher_changes.load(std::memory_order_relaxed);
  auto add = [&](const std::string& name, const StepCounters& c) {
    StageStats s;
    s.stage = name;
    s.runs = c.runs.load(std::memory_order_relaxed);
    s.errors = c.errors.load(std::memory_order_relaxed);
    s.over_budget = c.over_budget.load(std::memory_order_relaxed);
    s.skips = c.skips.load(std::memory_order_relaxed);
    s.p50_micros = c.latency.percentile(0.50);
    s.p99_micros = c.latency.percentile(0.99);
    out.stages.push_back(std::move(s));
  };
  add("parse", impl_->parse_counters);
  for (const auto& side : impl_->sides) {
    for (const auto& s : side.before) add(s.name, *s.counters);
  }
  add("search", impl_->search_counters);
  for (const auto& side : impl_->sides) {
    for (const auto& s : side.after) add(s.name, *s.counters);
  }
  return out;
}

std::shared_ptr<Resource> Pipeline::Impl::resource_named(const std::string& name) const {
  for (size_t i = 0; i < resource_names.size(); ++i) {
    if (resource_names[i] == name) return resources[i];
  }
  return nullptr;
}

void Pipeline::reload(const std::string& name, const std::string& path) {
  const std::shared_ptr<Resource> r = impl_->resource_named(name);
  if (!r) {
    std::string known;
    for (const auto& n : impl_->resource_names) known += (known.empty() ? "" : ", ") + n;
    throw Error("reload: no resource named \"" + name + "\" (known: " + (known.empty() ? "none" : known) + ")");
  }
  std::lock_guard<std::mutex> lock(impl_->store_mutex);
  try {
    r->reload(path, path);
  } catch (const std::exception& e) {
    throw Error("reload \"" + name + "\": " + e.what());
  }
  for (auto& e : impl_->store) {
    if (e.name == name) e.active = path;
  }
}

void Pipeline::activate(const std::string& model, const std::string& version) {
  std::lock_guard<std::mutex> lock(impl_->store_mutex);
  const auto entry = std::find_if(impl_->store.begin(), impl_->store.end(),
                                  [&](const StoreEntry& e) { return e.name == model; });
  if (entry == impl_->store.end()) {
    std::string known;
    for (const auto& e : impl_->store) known += (known.empty() ? "" : ", ") + e.name;
    throw Error("activate: no model named \"" + model + "\" in the model store (models: " +
                (known.empty() ? "none" : known) + ")");
  }
  const std::string* path = entry->path_of(version);
  if (!path) {
    std::string known;
    for (const auto& [v, p] : entry->versions) known += (known.empty() ? "" : ", ") + v;
    throw Error("activate \"" + model + "\": no version \"" + version + "\" (versions: " + known + ")");
  }
  // A store model no stage uses has no resource: it serves nothing until a
  // pipeline built with it names it, so only the record changes.
  if (const std::shared_ptr<Resource> r = impl_->resource_named(model)) {
    try {
      r->reload(*path, version);
    } catch (const std::exception& e) {
      throw Error("activate \"" + model + "\" version \"" + version + "\": " + e.what());
    }
  }
  entry->active = version;
}

void Pipeline::add_model_version(const std::string& model, const std::string& version, const std::string& path) {
  if (version.empty()) throw Error("add_model_version \"" + model + "\": the version name is empty");
  std::lock_guard<std::mutex> lock(impl_->store_mutex);
  const auto entry = std::find_if(impl_->store.begin(), impl_->store.end(),
                                  [&](const StoreEntry& e) { return e.name == model; });
  if (entry == impl_->store.end()) throw Error("add_model_version: no model named \"" + model + "\" in the model store");
  if (entry->path_of(version)) {
    throw Error("add_model_version \"" + model + "\": version \"" + version + "\" exists already");
  }
  entry->versions.emplace_back(version, resolve_path(path, impl_->base_dir));
}

std::vector<StoreModelInfo> Pipeline::store_models() const {
  std::lock_guard<std::mutex> lock(impl_->store_mutex);
  std::vector<StoreModelInfo> out;
  for (const auto& e : impl_->store) {
    StoreModelInfo info{e.name, e.active, {}};
    for (const auto& [v, path] : e.versions) info.versions.push_back(v);
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<std::string> Pipeline::resource_names() const { return impl_->resource_names; }

std::string Pipeline::describe_resource(const std::string& name) const {
  for (size_t i = 0; i < impl_->resource_names.size(); ++i) {
    if (impl_->resource_names[i] == name) return impl_->resources[i]->describe();
  }
  throw Error("no resource named \"" + name + "\"");
}

const Classifier* Pipeline::classifier(const std::string& stage_name) const {
  const NamedStage* s = impl_->find_stage(stage_name);
  return s ? s->stage->classifier() : nullptr;
}

}  // namespace xmr
