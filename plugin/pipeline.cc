#include "plugin/pipeline.h"

#include <lucene++/LuceneHeaders.h>
#include <lucene++/PerFieldAnalyzerWrapper.h>
#include <lucene++/TermAttribute.h>

#include <algorithm>
#include <boost/filesystem.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "analyzers/index_record.h"
#include "analyzers/utf8.h"
#include "core/error.h"
#include "core/file_util.h"
#include "plugin/json_config.h"
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

struct NamedStage {
  std::string name;
  std::unique_ptr<Stage> stage;
};

// The StageEnv a pipeline gives its stages while they are created.
class Env : public StageEnv {
 public:
  Env(Lucene::IndexSearcherPtr searcher, std::vector<std::string>& names,
      std::vector<std::shared_ptr<Resource>>& resources)
      : searcher_(std::move(searcher)), names_(names), resources_(resources) {}
  Lucene::IndexSearcherPtr searcher() const override { return searcher_; }
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
};

}  // namespace

struct Pipeline::Impl {
  Lucene::IndexSearcherPtr searcher;
  Lucene::AnalyzerPtr analyzer;
  std::string default_field = "text";
  std::wstring default_field_wide;
  bool lucene_syntax = false;
  bool match_all_terms = false;  // default operator AND
  std::vector<NamedStage> before, after;
  std::vector<std::string> resource_names;
  std::vector<std::shared_ptr<Resource>> resources;
  int fetch_at_least = 0;

  Lucene::QueryPtr parse(const std::string& text) const;
  void run_stage(const NamedStage& s, QueryContext& ctx, SearchResult& result) const;
};

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::~Pipeline() = default;

std::unique_ptr<Pipeline> Pipeline::create(const std::string& config_json, const Lucene::IndexSearcherPtr& searcher,
                                           const Lucene::AnalyzerPtr& analyzer, const PipelineOptions& options) {
  if (!searcher) throw Error("pipeline: no IndexSearcher given");
  if (!analyzer) throw Error("pipeline: no Analyzer given");
  auto impl = std::make_unique<Impl>();
  impl->searcher = searcher;
  impl->analyzer = analyzer;

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
  // A field the index does not have would match nothing, forever.
  const Lucene::IndexReaderPtr reader = searcher->getIndexReader();
  if (reader->maxDoc() > 0) {
    const Lucene::HashSet<Lucene::String> indexed = reader->getFieldNames(Lucene::IndexReader::FIELD_OPTION_INDEXED);
    if (!indexed.contains(impl->default_field_wide)) {
      std::string names;
      for (const auto& f : indexed) names += (names.empty() ? "" : ", ") + wide_to_utf8(f);
      throw Error("pipeline config: \"query\": default_field \"" + impl->default_field +
                  "\" is not an indexed field of the index (indexed: " + names + ")");
    }
  }
  // Label and key fields hold exact values: a query naming one (categories:Shoes)
  // must look the value up as it is, not analyzed like text.
  for (const auto& f : exact_value_fields(read_index_record(reader))) exact_fields.insert(f);
  if (!exact_fields.empty()) {
    auto per_field = Lucene::newLucene<Lucene::PerFieldAnalyzerWrapper>(analyzer);
    for (const auto& f : exact_fields) per_field->addAnalyzer(utf8_to_wide(f), Lucene::newLucene<Lucene::KeywordAnalyzer>());
    impl->analyzer = per_field;
  }

  const rapidjson::Value* stages = config.get_value("stages");
  config.reject_unknown_keys();
  if (stages && !stages->IsArray()) config.fail("stages", "must be an array of stage objects");
  // Stage types from every plugin loaded in this process (the config's and the host's own).
  std::vector<LoadedPlugin> available = loaded_plugins();
  Env env(searcher, impl->resource_names, impl->resources);
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
    impl->fetch_at_least = std::max(impl->fetch_at_least, stage->hits_wanted());
    auto& list = stage->phase() == StagePhase::kBeforeSearch ? impl->before : impl->after;
    if (stage->phase() == StagePhase::kBeforeSearch && !impl->after.empty()) {
      throw Error(where + ": pre-retrieval stage \"" + spec.name + "\" listed after a post-retrieval stage");
    }
    list.push_back({spec.name, std::move(stage)});
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

void Pipeline::Impl::run_stage(const NamedStage& s, QueryContext& ctx, SearchResult& result) const {
  const auto t0 = Clock::now();
  try {
    s.stage->run(ctx);
  } catch (const std::exception& e) {
    throw Error("stage \"" + s.name + "\": " + e.what());
  }
  result.timings.push_back({s.name, micros_since(t0)});
}

SearchResult Pipeline::search(const SearchRequest& request) const {
  const Impl& p = *impl_;
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
  SearchResult result;
  QueryContext ctx;
  ctx.text = request.text;
  ctx.searcher = p.searcher;
  ctx.num_hits = request.num_hits;
  ctx.explain = request.explain;
  // Pin every resource once, so the whole query sees one version of each.
  ctx.pinned.reserve(p.resources.size());
  for (const auto& r : p.resources) ctx.pinned.push_back(r->current());

  auto t0 = Clock::now();
  try {
    ctx.query = request.query ? request.query : p.parse(request.text);
  } catch (const Lucene::LuceneException& e) {
    throw Error("parse: " + syntax_error_line(wide_to_utf8(e.getError()), request.text));
  }
  result.timings.push_back({"parse", micros_since(t0)});

  for (const auto& s : p.before) p.run_stage(s, ctx, result);

  t0 = Clock::now();
  const int fetch = std::max(request.num_hits, p.fetch_at_least);
  if (fetch > 0) {
    try {
      Lucene::TopDocsPtr top = p.searcher->search(ctx.query, ctx.filter, fetch);
      ctx.hits.reserve(top->scoreDocs.size());
      for (const auto& sd : top->scoreDocs) ctx.hits.push_back({sd->doc, sd->score});
    } catch (const Lucene::LuceneException& e) {
      throw Error("search: " + wide_to_utf8(e.getError()));
    }
  }
  result.timings.push_back({"search", micros_since(t0)});

  for (const auto& s : p.after) p.run_stage(s, ctx, result);

  if ((int)ctx.hits.size() > request.num_hits) ctx.hits.resize(request.num_hits);
  if (ctx.explanations.size() > ctx.hits.size()) ctx.explanations.resize(ctx.hits.size());
  result.hits = std::move(ctx.hits);
  result.categories = std::move(ctx.categories);
  result.explanations = std::move(ctx.explanations);
  return result;
}

void Pipeline::reload(const std::string& name, const std::string& path) {
  for (size_t i = 0; i < impl_->resource_names.size(); ++i) {
    if (impl_->resource_names[i] == name) {
      try {
        impl_->resources[i]->reload(path);
      } catch (const std::exception& e) {
        throw Error("reload \"" + name + "\": " + e.what());
      }
      return;
    }
  }
  std::string known;
  for (const auto& n : impl_->resource_names) known += (known.empty() ? "" : ", ") + n;
  throw Error("reload: no resource named \"" + name + "\" (known: " + (known.empty() ? "none" : known) + ")");
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
