// xmr search: queries through the plugin pipeline over a Lucene++ index.
#include <lucene++/LuceneHeaders.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <boost/filesystem.hpp>
#include <cstdio>
#include <fstream>

#include "analyzers/index_record.h"
#include "analyzers/lucene_analyzers.h"
#include "analyzers/utf8.h"
#include "core/error.h"
#include "core/file_util.h"
#include "index_tools/command.h"
#include "index_tools/options.h"
#include "plugin/pipeline.h"
#include "plugin/plugin_loader.h"

namespace xmr::cli {

namespace {

namespace fs = boost::filesystem;

void write_string(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::string& s) {
  w.String(s.data(), (rapidjson::SizeType)s.size());
}

void print_human(const std::string& query, const SearchResult& r, const Lucene::IndexSearcherPtr& searcher,
                 const std::vector<std::string>& fields) {
  std::printf("query: %s\n", query.c_str());
  if (!r.categories.empty()) {
    std::printf("  categories:");
    for (const auto& c : r.categories) std::printf("  %s (%.3f)", c.label.c_str(), c.score);
    std::printf("\n");
  }
  for (size_t i = 0; i < r.hits.size(); ++i) {
    Lucene::DocumentPtr doc = searcher->doc(r.hits[i].doc);
    std::printf("  %2zu. %8.4f  doc %d", i + 1, r.hits[i].score, r.hits[i].doc);
    if (i < r.hit_sides.size()) std::printf("  [%s]", r.hit_sides[i].c_str());
    for (const auto& f : fields) {
      std::string values;
      for (const auto& v : doc->getValues(utf8_to_wide(f))) values += (values.empty() ? "" : " | ") + wide_to_utf8(v);
      std::printf("  %s: %s", f.c_str(), values.c_str());
    }
    std::printf("\n");
    if (i < r.explanations.size() && r.explanations[i].in_window) {
      const HitExplanation& e = r.explanations[i];
      if (e.lexical_rank || e.model_rank) {
        std::printf("      fused: search rank %d (score %.4g), model rank %d (score %.4g) -> %.4g\n", e.lexical_rank,
                    e.original_score, e.model_rank, e.model_score, e.final_score);
        continue;
      }
      std::printf("      rescored: original %.4f, model %.4f -> %.4f;", e.original_score, e.model_score, e.final_score);
      for (const auto& l : e.labels) std::printf(" %s=%.3f", l.label.c_str(), l.score);
      std::printf("\n");
    }
  }
  if (!r.models_used.empty()) {
    std::printf("  models:");
    for (const auto& m : r.models_used) std::printf(" %s=%s@%s", m.stage.c_str(), m.model.c_str(), m.version.c_str());
    std::printf("\n");
  }
  for (const auto& s : r.skipped) std::printf("  skipped %s: %s\n", s.stage.c_str(), s.reason.c_str());
  std::printf("  time (us):");
  for (const auto& t : r.timings) std::printf(" %s %.0f", t.stage.c_str(), t.micros);
  std::printf("\n");
}

void append_json(rapidjson::StringBuffer& buf, const std::string& query, const SearchResult& r,
                 const Lucene::IndexSearcherPtr& searcher, const std::vector<std::string>& fields) {
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("query");
  write_string(w, query);
  w.Key("categories");
  w.StartArray();
  for (const auto& c : r.categories) {
    w.StartObject();
    w.Key("label");
    write_string(w, c.label);
    w.Key("score");
    w.Double(c.score);
    if (c.probability >= 0) {
      w.Key("probability");
      w.Double(c.probability);
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("hits");
  w.StartArray();
  for (size_t i = 0; i < r.hits.size(); ++i) {
    w.StartObject();
    w.Key("doc");
    w.Int(r.hits[i].doc);
    w.Key("score");
    w.Double(r.hits[i].score);
    if (i < r.hit_sides.size()) {
      w.Key("side");
      write_string(w, r.hit_sides[i]);
    }
    if (!fields.empty()) {
      Lucene::DocumentPtr doc = searcher->doc(r.hits[i].doc);
      for (const auto& f : fields) {
        w.Key(f.c_str());
        w.StartArray();
        for (const auto& v : doc->getValues(utf8_to_wide(f))) write_string(w, wide_to_utf8(v));
        w.EndArray();
      }
    }
    if (i < r.explanations.size()) {
      const HitExplanation& e = r.explanations[i];
      w.Key("explanation");
      w.StartObject();
      w.Key("in_window");
      w.Bool(e.in_window);
      w.Key("original_score");
      w.Double(e.original_score);
      w.Key("model_score");
      w.Double(e.model_score);
      if (e.lexical_rank || e.model_rank) {
        w.Key("search_rank");
        w.Int(e.lexical_rank);
        w.Key("model_rank");
        w.Int(e.model_rank);
      }
      w.Key("labels");
      w.StartObject();
      for (const auto& l : e.labels) {
        write_string(w, l.label);
        w.Double(l.score);
      }
      w.EndObject();
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("models");
  w.StartArray();
  for (const auto& m : r.models_used) {
    w.StartObject();
    w.Key("stage");
    write_string(w, m.stage);
    w.Key("model");
    write_string(w, m.model);
    w.Key("version");
    write_string(w, m.version);
    w.EndObject();
  }
  w.EndArray();
  if (!r.skipped.empty()) {
    w.Key("skipped");
    w.StartObject();
    for (const auto& s : r.skipped) {
      write_string(w, s.stage);
      write_string(w, s.reason);
    }
    w.EndObject();
  }
  w.Key("micros");
  w.StartObject();
  for (const auto& t : r.timings) {
    write_string(w, t.stage);
    w.Double(t.micros);
  }
  w.EndObject();
  w.EndObject();
  buf.Put('\n');
}

// Feature logging: one line per hit, for a learning-to-rank trainer. JSONL
// names each feature; svmlight ("0 qid:Q 1:v 2:v ... # doc key") is what
// RankLib and XGBoost's ranking objectives read, with relevance 0 for the
// trainer's join to fill in.
void append_feature_log(rapidjson::StringBuffer& buf, bool svmlight, size_t qid, const std::string& query,
                        const SearchResult& r, const Lucene::IndexSearcherPtr& searcher, const std::string& key_field) {
  const std::vector<std::string>& names = hit_feature_names();
  for (size_t i = 0; i < r.features.size(); ++i) {
    const HitFeatures& f = r.features[i];
    std::string key;
    if (!key_field.empty()) {
      const auto values = searcher->doc(f.doc)->getValues(utf8_to_wide(key_field));
      if (values.size() > 0) key = wide_to_utf8(values[0]);
    }
    if (svmlight) {
      std::string line = "0 qid:" + std::to_string(qid);
      char num[40];
      for (size_t j = 0; j < f.values.size(); ++j) {
        std::snprintf(num, sizeof num, " %zu:%.9g", j + 1, f.values[j]);
        line += num;
      }
      line += " # doc " + std::to_string(f.doc) + (key.empty() ? "" : " " + key) + "\n";
      for (char c : line) buf.Put(c);
      continue;
    }
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("qid");
    w.Uint64(qid);
    w.Key("query");
    write_string(w, query);
    w.Key("doc");
    w.Int(f.doc);
    if (!key.empty()) {
      w.Key("key");
      write_string(w, key);
    }
    if (i < r.hit_sides.size()) {
      w.Key("side");
      write_string(w, r.hit_sides[i]);
    }
    w.Key("features");
    w.StartObject();
    for (size_t j = 0; j < f.values.size() && j < names.size(); ++j) {
      write_string(w, names[j]);
      w.Double(f.values[j]);
    }
    w.EndObject();
    w.Key("labels");
    w.StartObject();
    for (const auto& l : f.labels) {
      write_string(w, l.label);
      w.Double(l.score);
    }
    w.EndObject();
    w.EndObject();
    buf.Put('\n');
  }
}

// "stage.name=value" of --param into the request's parameters.
void add_param(const std::string& spec, SearchRequest& r) {
  const size_t dot = spec.find('.'), eq = spec.find('=');
  if (dot == std::string::npos || eq == std::string::npos || dot == 0 || eq < dot + 2 || eq + 1 == spec.size()) {
    throw Error("--param \"" + spec + "\": expected STAGE.NAME=VALUE, e.g. rerank.window_size=50");
  }
  const std::string value = spec.substr(eq + 1);
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (end != value.c_str() + value.size()) throw Error("--param \"" + spec + "\": \"" + value + "\" is not a number");
  r.params[spec.substr(0, dot)][spec.substr(dot + 1, eq - dot - 1)] = v;
}

// "stage=model" of --model into the request's model choices.
void add_model_choice(const std::string& spec, SearchRequest& r) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    throw Error("--model \"" + spec + "\": expected STAGE=MODEL, e.g. rerank=products_exp");
  }
  r.models[spec.substr(0, eq)] = spec.substr(eq + 1);
}

void print_stats(const PipelineStats& s) {
  std::fprintf(stderr, "xmr search: %llu queries, %llu failed\n", (unsigned long long)s.queries,
               (unsigned long long)s.failed);
  std::fprintf(stderr, "  %-16s %8s %7s %11s %6s %10s %10s\n", "step", "runs", "errors", "over_budget", "skips",
               "p50_us", "p99_us");
  for (const auto& st : s.stages) {
    std::fprintf(stderr, "  %-16s %8llu %7llu %11llu %6llu %10.0f %10.0f\n", st.stage.c_str(),
                 (unsigned long long)st.runs, (unsigned long long)st.errors, (unsigned long long)st.over_budget,
                 (unsigned long long)st.skips, st.p50_micros, st.p99_micros);
  }
}

// The JSONL line of a query that failed: its place in the output is kept.
void append_error_json(rapidjson::StringBuffer& buf, const std::string& query, const std::string& message) {
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("query");
  write_string(w, query);
  w.Key("error");
  write_string(w, message);
  w.EndObject();
  buf.Put('\n');
}

}  // namespace

int run_search(int argc, char** argv) {
  std::string index_dir, config_path, queries_path, analyzer_name, plugin, output, log_features;
  std::vector<std::string> queries, fields, params, model_choices;
  std::vector<std::string> query_places;  // where each query came from, for its errors
  int k = 10;
  po::options_description o("xmr search options");
  o.add_options()
      ("index", po::value(&index_dir)->required(), "Lucene++ index directory")
      ("config", po::value(&config_path)->required(), "pipeline config (JSON; see README, \"Pipeline configuration\")")
      ("query", po::value(&queries), "a query (repeatable)")
      ("queries", po::value(&queries_path), "a file of queries, one per line")
      ("k", po::value(&k)->default_value(10), "hits per query")
      ("analyzer", po::value(&analyzer_name),
       "analyzer for the query text (default: the one recorded by xmr index, else standard; another one is refused)")
      ("plugin", po::value(&plugin),
       "plugin library (default: the config's \"plugins\", else libxmr_plugin.so from XMR_PLUGIN_PATH, the config's "
       "directory or the install's lib/xmr/)")
      ("show", po::value(&fields)->multitoken(), "stored fields to print per hit")
      ("explain", po::bool_switch(), "per-hit rescoring explanations")
      ("param", po::value(&params), "STAGE.NAME=VALUE: a request parameter the stage's config declares in "
       "\"request_params\" (repeatable), e.g. rerank.window_size=50")
      ("model", po::value(&model_choices), "STAGE=MODEL: the model a stage uses for these queries, one of its "
       "\"allowed_models\" (repeatable)")
      ("log-features", po::value(&log_features),
       "jsonl|svmlight: write the learning-to-rank features of every hit instead of the results (README, "
       "\"Feature logging\")")
      ("stats", po::bool_switch(), "per-stage counts and latencies on stderr at the end")
      ("jsonl", po::bool_switch(), "one JSON object per query instead of text")
      ("output,o", po::value(&output), "write here (atomically) instead of stdout")
      ("stop-on-error", po::bool_switch(), "stop at the first query that fails (default: report it and go on)")
      ("quiet,q", po::bool_switch(), "no summary of failed queries on stderr");
  po::variables_map vm;
  if (!parse_options(argc, argv, "xmr search --index DIR --config FILE (--query TEXT | --queries FILE)", o, vm)) {
    return 0;
  }
  if (k < 0) throw Error("--k must be >= 0");
  if (!log_features.empty() && log_features != "jsonl" && log_features != "svmlight") {
    throw Error("--log-features \"" + log_features + "\": expected jsonl or svmlight");
  }
  if (queries.empty() && queries_path.empty()) throw Error("give --query TEXT or --queries FILE");
  for (size_t i = 0; i < queries.size(); ++i) query_places.push_back("--query #" + std::to_string(i + 1));
  if (!queries_path.empty()) {
    check_regular_file(queries_path);
    std::ifstream in(queries_path, std::ios::binary);
    size_t line_no = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t bad = 0;
      if (!is_valid_utf8(line, &bad)) throw InputError(queries_path, line_no, "invalid UTF-8 at byte " + std::to_string(bad));
      if (!line.empty()) {
        queries.push_back(line);
        query_places.push_back(queries_path + ":" + std::to_string(line_no));
      }
    }
    if (queries.empty()) throw Error(queries_path + ": no queries (one per line expected)");
  }
  if (!plugin.empty()) load_plugin(plugin);

  Lucene::IndexSearcherPtr searcher;
  try {
    boost::system::error_code ec;
    if (!fs::is_directory(index_dir, ec)) throw Error(index_dir + ": not a directory");
    Lucene::DirectoryPtr dir = Lucene::FSDirectory::open(utf8_to_wide(index_dir));
    if (!Lucene::IndexReader::indexExists(dir)) throw Error(index_dir + ": no Lucene++ index here");
    searcher = Lucene::newLucene<Lucene::IndexSearcher>(Lucene::IndexReader::open(dir, true));
  } catch (const Lucene::LuceneException& e) {
    throw Error(index_dir + ": cannot open index: " + wide_to_utf8(e.getError()));
  }
  // Queries must be analyzed as the documents were, or their terms never match.
  const IndexRecord record = read_index_record(searcher->getIndexReader());
  if (analyzer_name.empty()) {
    analyzer_name = record.present ? record.analyzer : "standard";
  } else if (record.present && record.analyzer != analyzer_name) {
    throw Error(index_dir + ": indexed with analyzer \"" + record.analyzer + "\", but --analyzer is \"" + analyzer_name +
                "\"; its queries would not match the indexed terms (leave --analyzer out to use the index's)");
  }
  const auto pipeline = Pipeline::create_from_file(config_path, searcher, make_lucene_analyzer(analyzer_name));

  const bool jsonl = vm["jsonl"].as<bool>();
  rapidjson::StringBuffer buf;
  SearchRequest r;
  r.num_hits = k;
  r.explain = vm["explain"].as<bool>();
  r.log_features = !log_features.empty();
  for (const auto& p : params) add_param(p, r);
  for (const auto& m : model_choices) add_model_choice(m, r);
  const bool stop_on_error = vm["stop-on-error"].as<bool>();
  size_t failed = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    r.text = queries[i];
    SearchResult res;
    try {
      res = pipeline->search(r);
    } catch (const std::exception& e) {
      const std::string message = query_places[i] + ": " + e.what();
      if (stop_on_error) throw Error(message);
      std::fprintf(stderr, "xmr search: error: %s\n", message.c_str());
      ++failed;
      if ((jsonl || !output.empty()) && !r.log_features) append_error_json(buf, queries[i], message);
      continue;
    }
    if (r.log_features) {
      append_feature_log(buf, log_features == "svmlight", i + 1, queries[i], res, searcher, record.key_field);
    } else if (jsonl || !output.empty()) {
      append_json(buf, queries[i], res, searcher, fields);
    } else {
      print_human(queries[i], res, searcher, fields);
    }
  }
  if (!output.empty()) {
    write_output(output, buf.GetString(), buf.GetSize());
  } else if (jsonl || r.log_features) {
    std::fwrite(buf.GetString(), 1, buf.GetSize(), stdout);  // checked at exit (finish_stdout)
  }
  if (vm["stats"].as<bool>()) print_stats(pipeline->stats());
  if (failed > 0) {
    if (!vm["quiet"].as<bool>()) std::fprintf(stderr, "xmr search: %zu of %zu queries failed\n", failed, queries.size());
    return 1;
  }
  return 0;
}

}  // namespace xmr::cli
