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
#include "plugin/latency_histogram.h"
#include "plugin/plugin_loader.h"

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

// A searcher the pipeline serves, holding a reference on its reader so the
// host may close the reader while queries still use it.
class ServedSearcher {
 public:
  explicit ServedSearcher(Lucene::IndexSearcherPtr searcher) : searcher_(std::move(searcher)) {
    try {
      searcher_->getIndexReader()->incRef();
    } catch (const Lucene::LuceneException& e) {
      throw Error("the searcher's index reader cannot be used: " + wide_to_utf8(e.getError()));
    }
  }
  ~ServedSearcher() {
    try {
      searcher_->getIndexReader()->decRef();  // may close the reader (the host closed it already)
    } catch (...) {  // a failed close cannot be reported from here, and must not end the process
    }
  }
  ServedSearcher(const ServedSearcher&) = delete;
  ServedSearcher& operator=(const ServedSearcher&) = delete;
  const Lucene::IndexSearcherPtr& searcher() const { return searcher_; }

 private:
  Lucene::IndexSearcherPtr searcher_;
};

// The pipeline-level keys of a stage's config object: error policy, time
// budget and the request parameters it declares.
void read_stage_policy(const rapidjson::Value& object, const std::string& where, NamedStage& s) {
  const JsonConfig config(object, where);
  s.skip_on_error = config.get_choice("on_error", "fail", {"fail", "skip"}) == "skip";
  s.budget_micros = 1000.0 * config.get_double("time_budget_ms", 0.0, 0.0, 3600e3);
  const rapidjson::Value* declared = config.get_value("request_params");
  if (!declared) return;
  if (!declared->IsObject()) config.fail("request_params", "must be an object of parameter names");
  std::string accepted;
  const std::vector<ParamSpec> specs = s.stage->request_params();
  for (const auto& spec : specs) accepted += (accepted.empty() ? "" : ", ") + spec.name;
  for (auto m = declared->MemberBegin(); m != declared->MemberEnd(); ++m) {
    const std::string name = m->name.GetString();
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const ParamSpec& p) { return p.name == name; });
    if (spec == specs.end()) {
      config.fail("request_params", "\"" + name + "\" is not a parameter this stage takes per request (it takes: " +
                                        (accepted.empty() ? std::string("none") : accepted) + ")");
    }
    if (!m->value.IsObject()) config.fail("request_params", "\"" + name + "\" must be an object {\"min\": .., \"max\": ..}");
    const JsonConfig bounds(m->value, where + ": \"request_params\": \"" + name + "\"");
    ParamSpec declared_spec = *spec;
    declared_spec.min = bounds.get_double("min", spec->min, spec->min, spec->max);
    declared_spec.max = bounds.get_double("max", spec->max, spec->min, spec->max);
    bounds.reject_unknown_keys();
    if (declared_spec.min > declared_spec.max) bounds.fail("min", "is above \"max\"");
    s.declared[name] = declared_spec;
  }
}

std::string format_number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// Checks a request's parameters for one stage against what its config declared.
void check_request_params(const NamedStage& s, const StageParams& params) {
  for (const auto& [name, value] : params) {
    const auto d = s.declared.find(name);
    if (d == s.declared.end()) {
      std::string declared;
      for (const auto& [n, spec] : s.declared) declared += (declared.empty() ? "" : ", ") + n;
      throw Error("search: params: stage \"" + s.name + "\": \"" + name +
                  "\" is not a request parameter of this stage (its config declares: " +
                  (declared.empty() ? std::string("none") : declared) + ")");
    }
    const ParamSpec& spec = d->second;
    const bool in_bounds = std::isfinite(value) && value >= spec.min && value <= spec.max;
    if (!in_bounds || (spec.integer && value != std::floor(value))) {
      throw Error("search: params: stage \"" + s.name + "\": \"" + name + "\" is " + format_number(value) +
                  "; it must be " + (spec.integer ? "an integer " : "") + "in " + format_number(spec.min) + ".." +
                  format_number(spec.max));
    }
  }
}

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

// A model of the config's store: its versions (name, resolved path) and the active one.
struct StoreEntry {
  std::string name;
  std::vector<std::pair<std::string, std::string>> versions;
  std::string active;
  const std::string* path_of(const std::string& version) const {
    for (const auto& [v, path] : versions) {
      if (v == version) return &path;
    }
    return nullptr;
  }
};

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  boost::filesystem::path p(path);
  if (!p.is_absolute() && !base_dir.empty()) p = boost::filesystem::path(base_dir) / p;
  return p.string();
}

// The config's "models": {"name": {"versions": {"v1": "file.xmr", ...}, "active": "v1"}}.
std::vector<StoreEntry> read_model_store(const rapidjson::Value& models, const std::string& base_dir) {
  const std::string where = "pipeline config: \"models\"";
  if (!models.IsObject()) throw Error(where + ": must be an object of model names");
  std::vector<StoreEntry> store;
  for (auto m = models.MemberBegin(); m != models.MemberEnd(); ++m) {
    StoreEntry e;
    e.name = m->name.GetString();
    const std::string here = where + ": \"" + e.name + "\"";
    if (e.name.empty()) throw Error(where + ": a model name is empty");
    if (!m->value.IsObject()) throw Error(here + ": must be an object with \"versions\" and \"active\"");
    const JsonConfig config(m->value, here);
    const rapidjson::Value* versions = config.get_value("versions");
    if (!versions || !versions->IsObject() || versions->MemberCount() == 0) {
      config.fail("versions", "is required: an object of version names and model files");
    }
    for (auto v = versions->MemberBegin(); v != versions->MemberEnd(); ++v) {
      if (!v->value.IsString()) config.fail("versions", "\"" + std::string(v->name.GetString()) + "\" must name a file");
      e.versions.emplace_back(v->name.GetString(), resolve_path(v->value.GetString(), base_dir));
    }
    e.active = config.get_string("active", e.versions.size() == 1 ? e.versions[0].first : "");
    if (e.active.empty()) config.fail("active", "is required when a model has several versions");
    if (!e.path_of(e.active)) config.fail("active", "\"" + e.active + "\" is not one of its versions");
    config.reject_unknown_keys();
    store.push_back(std::move(e));
  }
  return store;
}

}  // namespace

struct Pipeline::Impl {
  Lucene::AnalyzerPtr analyzer;
  std::string default_field = "text";
  std::wstring default_field_wide;
  bool lucene_syntax = false;
  bool match_all_terms = false;  // default operator AND
  std::vector<NamedStage> before, after;
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
  config.reject_unknown_keys();
  if (stages && !stages->IsArray()) config.fail("stages", "must be an array of stage objects");
  // Stage types from every plugin loaded in this process (the config's and the host's own).
  std::vector<LoadedPlugin> available = loaded_plugins();
  Env env(searcher, impl->resource_names, impl->resources, active_models);
  if (stages && stages->Size() > kMaxStages) {
    config.fail("stages", std::to_string(stages->Size()) + " stages; at most " + std::to_string(kMaxStages));
  }
  std::set<std::string> stage_names;
  bool tried_default_plugin = false;
  std::string default_plugin_error;
  for (rapidjson::SizeType i = 0; stages && i < stages->Size(); ++i) {
    const std::string where = "pipeline config: stages[" + std::to_string(i) + "]";
    const rapidjson::Value& s = (*stages)[i];
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
    auto& list = stage->phase() == StagePhase::kBeforeSearch ? impl->before : impl->after;
    if (stage->phase() == StagePhase::kBeforeSearch && !impl->after.empty()) {
      throw Error(where + ": pre-retrieval stage \"" + spec.name + "\" listed after a post-retrieval stage");
    }
    NamedStage named;
    named.name = spec.name;
    named.stage = std::move(stage);
    read_stage_policy(s, where + " (" + spec.type + ")", named);
    list.push_back(std::move(named));
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
  for (const auto* list : {&before, &after}) {
    for (const auto& s : *list) {
      if (s.name == name) return &s;
    }
  }
  return nullptr;
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
  int fetch = request.num_hits;
  for (const auto* list : {&before, &after}) {
    for (const auto& s : *list) {
      const auto found = request.params.find(s.name);
      fetch = std::max(fetch, s.stage->hits_wanted(found == request.params.end() ? nullptr : &found->second));
    }
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

  for (const auto& s : before) run_stage(s, request, ctx, result);

  t0 = Clock::now();
  if (fetch > 0) {
    try {
      Lucene::TopDocsPtr top = ctx.searcher->search(ctx.query, ctx.filter, fetch);
      ctx.hits.reserve(top->scoreDocs.size());
      for (const auto& sd : top->scoreDocs) ctx.hits.push_back({sd->doc, sd->score});
    } catch (const Lucene::LuceneException& e) {
      search_counters.errors.fetch_add(1, std::memory_order_relaxed);
      throw Error("search: " + wide_to_utf8(e.getError()));
    }
  }
  micros = micros_since(t0);
  search_counters.runs.fetch_add(1, std::memory_order_relaxed);
  search_counters.latency.record(micros);
  result.timings.push_back({"search", micros});

  std::vector<Hit> retrieved;
  if (request.log_features) retrieved = ctx.hits;
  for (const auto& s : after) run_stage(s, request, ctx, result);

  if ((int)ctx.hits.size() > request.num_hits) ctx.hits.resize(request.num_hits);
  if (ctx.explanations.size() > ctx.hits.size()) ctx.explanations.resize(ctx.hits.size());
  if (request.log_features) result.features = hit_features(ctx.hits, retrieved, ctx.explanations, ctx.categories);
  result.hits = std::move(ctx.hits);
  result.categories = std::move(ctx.categories);
  result.models_used = std::move(ctx.models_used);
  if (request.explain) result.explanations = std::move(ctx.explanations);
  return result;
}

void Pipeline::set_searcher(const Lucene::IndexSearcherPtr& searcher) {
  if (!searcher) throw Error("set_searcher: no IndexSearcher given");
  std::lock_guard<std::mutex> lock(impl_->searcher_mutex);
  try {
    auto next = std::make_shared<const ServedSearcher>(searcher);
    impl_->check_default_field(searcher->getIndexReader());
    for (const auto* list : {&impl_->before, &impl_->after}) {
      for (const auto& s : *list) {
        try {
          s.stage->searcher_changed(searcher);
        } catch (const std::exception& e) {
          throw Error("stage \"" + s.name + "\": " + e.what());
        }
      }
    }
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
  for (const auto& s : impl_->before) add(s.name, *s.counters);
  add("search", impl_->search_counters);
  for (const auto& s : impl_->after) add(s.name, *s.counters);
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
  for (const auto* list : {&impl_->before, &impl_->after}) {
    for (const auto& s : *list) {
      if (s.name == stage_name) return s.stage->classifier();
    }
  }
  return nullptr;
}

}  // namespace xmr
