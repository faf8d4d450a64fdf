// xmr bench: the benchmark table. Each set runs in a child process (this
// binary with --run-one) so that its peak memory and its page cache state are
// its own; the parent collects one JSON object per set, prints the table and
// optionally writes all objects as a JSON array.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "core/json_parse.h"
#include "index_tools/encoder_options.h"
#include "index_tools/knn_options.h"
#include "core/model.h"
#include "core/file_util.h"
#include "index_tools/bench_run.h"
#include "index_tools/command.h"
#include "index_tools/options.h"

extern char** environ;

namespace xmr::cli {

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::vector<int> parse_threads(const std::string& s) {
  std::vector<int> out;
  for (const std::string& item : split_list(s)) {
    const std::optional<int> t = whole_int(item);
    if (!t || *t < 1 || *t > 256) throw Error("--train-threads: '" + item + "' is not a thread count");
    out.push_back(*t);
  }
  if (out.empty()) throw Error("--train-threads: give at least one thread count");
  return out;
}

// Runs `argv` and returns its standard output; throws when it fails.
std::string run_child(const std::vector<std::string>& args, const std::string& set) {
  int pipe_fd[2];
  if (::pipe(pipe_fd) != 0) throw Error("bench: pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fd[0]);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fd[1]);
  if (rc != 0) {
    ::close(pipe_fd[0]);
    throw Error("bench: cannot start a child process for " + set);
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fd[0], buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  ::close(pipe_fd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error("bench: the run for " + set + " failed" +
                (WIFSIGNALED(status) ? " (killed by signal " + std::to_string(WTERMSIG(status)) + ")" : std::string()));
  }
  return out;
}

double num(const rapidjson::Value& o, const char* key) {
  return o.HasMember(key) && o[key].IsNumber() ? o[key].GetDouble() : 0.0;
}

// Training seconds of the run with `threads` threads, or 0.
double train_seconds(const rapidjson::Value& o, int threads, const char* key) {
  for (const auto& t : o["training"].GetArray()) {
    if (t["threads"].GetInt() == threads) return num(t, key);
  }
  return 0;
}

void print_table(const rapidjson::Document& runs, const std::vector<int>& threads) {
  std::printf("%-18s %8s %8s %8s", "set", "labels", "rows", "tree s");
  for (int t : threads) std::printf(" %9s", ("train " + std::to_string(t) + "t").c_str());
  std::printf(" %8s %8s %8s %9s %9s %9s %8s %8s %6s %6s\n", "model MB", "peak MB", "load ms", "ms/q 1t", "chunk 1t",
              "ms/q 2t", "p50 us", "p99 us", "P@1", "P@5");
  for (const auto& o : runs.GetArray()) {
    std::printf("%-18s %8.0f %8.0f %8.2f", o["set"].GetString(), num(o, "labels"), num(o, "rows"),
                train_seconds(o, threads.front(), "seconds_tree"));
    for (int t : threads) std::printf(" %9.2f", train_seconds(o, t, "seconds"));
    std::printf(" %8.1f %8.0f %8.2f %9.4f %9.4f %9.4f %8.1f %8.1f %6.2f %6.2f\n", num(o, "model_bytes") / 1e6,
                num(o, "peak_rss_mib"), num(o, "load_ms_median"), num(o, "batch_ms_per_query_1t"),
                num(o, "batch_by_chunk_ms_per_query_1t"), num(o, "batch_ms_per_query_2t"), num(o, "latency_us_p50"),
                num(o, "latency_us_p99"), num(o, "P@1"), num(o, "P@5"));
  }
}

// "%.2f" of `v`, or "-" for a setting the set does not have.
std::string cell(bool present, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return present ? buf : "-";
}

// Training as the reference table has it, for data set runs: featurizing,
// the tfn and default settings' training seconds (embedding + clustering +
// levels, as PECOS times them) and model sizes, a text model's vocabulary
// included. XC sets train tfn by default: one setting, one column.
void print_training_table(const rapidjson::Document& runs, int threads) {
  // (A deep matcher's run has no tfn training: its figures are in the encoder table.)
  auto is_dataset = [](const rapidjson::Value& o) {
    return std::string(o["set"].GetString()).rfind("synthetic", 0) != 0 && !o.HasMember("no_encoder");
  };
  bool any = false;
  for (const auto& o : runs.GetArray()) any = any || is_dataset(o);
  if (!any) return;
  const std::string t = std::to_string(threads) + "t";
  std::printf("\n%-18s %11s %13s %17s %9s %11s\n", "training", "featurize s", ("tfn train " + t).c_str(),
              ("default train " + t).c_str(), "tfn MB", "default MB");
  for (const auto& o : runs.GetArray()) {
    if (!is_dataset(o)) continue;
    const bool text = o.HasMember("tfn_train_seconds");
    const double vocabulary = num(o, "vocabulary_bytes");
    const double default_seconds = train_seconds(o, threads, "seconds_tree") + train_seconds(o, threads, "seconds_matching");
    const double tfn_seconds = text ? num(o, "tfn_train_seconds") : default_seconds;
    const double tfn_bytes = text ? num(o, "tfn_model_bytes") + vocabulary : num(o, "model_bytes");
    std::printf("%-18s %11s %13.2f %17s %9.2f %11s\n", o["set"].GetString(),
                cell(o.HasMember("seconds_featurize"), num(o, "seconds_featurize")).c_str(), tfn_seconds,
                cell(text, default_seconds).c_str(), tfn_bytes / 1e6,
                cell(text, (num(o, "model_bytes") + vocabulary) / 1e6).c_str());
  }
}

// Whether any run holds a comparison under `key`.
bool any_with(const rapidjson::Document& runs, const char* key) {
  for (const auto& o : runs.GetArray()) {
    if (o.HasMember(key)) return true;
  }
  return false;
}

// The columns every paired comparison (one process, alternating passes)
// shows, and their header: P@1/3/5 of the baseline and of the run, batch
// ms/query of each, and the run's batch, p50 and p99 times over the baseline's.
std::string paired_header(const char* baseline_pk, const char* run_pk, const char* baseline_ms, const char* run_ms) {
  char b[256];
  std::snprintf(b, sizeof b, "%21s %21s %9s %9s %7s %8s %8s", baseline_pk, run_pk, baseline_ms, run_ms, "time x",
                "p50 x", "p99 x");
  return b;
}
std::string paired_cells(const rapidjson::Value& o, const rapidjson::Value& base) {
  char b[256];
  std::snprintf(b, sizeof b, "%6.2f/%6.2f/%6.2f %6.2f/%6.2f/%6.2f %9.4f %9.4f %7.2f %8.2f %8.2f", num(base, "P@1"),
                num(base, "P@3"), num(base, "P@5"), num(o, "P@1"), num(o, "P@3"), num(o, "P@5"),
                num(base, "batch_default_ms_per_query_1t"), num(o, "paired_batch_default_ms_per_query_1t"),
                num(o, "paired_batch_default_ms_per_query_1t") / num(base, "batch_default_ms_per_query_1t"),
                num(o, "paired_latency_us_p50") / num(base, "latency_us_p50"),
                num(o, "paired_latency_us_p99") / num(base, "latency_us_p99"));
  return b;
}

// The plain-against-disentangled comparison of runs made with --disentangle.
void print_disentangle_table(const rapidjson::Document& runs) {
  if (!any_with(runs, "plain")) return;
  std::printf("\n%-18s %7s %21s %21s %7s %9s %9s %7s %8s %7s\n", "disentangled", "copies", "P@1/3/5 plain",
              "P@1/3/5 disentangled", "dP@5", "ms/q plain", "ms/q dis", "time x", "weights x", "size x");
  for (const auto& o : runs.GetArray()) {
    if (!o.HasMember("plain")) continue;
    const auto& pl = o["plain"];
    const double copies = num(o["training"].GetArray()[o["training"].Size() - 1], "copies_added");
    std::printf("%-18s %7.0f %6.2f/%6.2f/%6.2f %6.2f/%6.2f/%6.2f %+7.2f %9.4f %9.4f %7.2f %8.2f %7.2f\n",
                o["set"].GetString(), copies, num(pl, "P@1"), num(pl, "P@3"), num(pl, "P@5"), num(o, "P@1"),
                num(o, "P@3"), num(o, "P@5"), num(o, "P@5") - num(pl, "P@5"), num(pl, "batch_default_ms_per_query_1t"),
                num(o, "paired_batch_default_ms_per_query_1t"),
                num(o, "paired_batch_default_ms_per_query_1t") / num(pl, "batch_default_ms_per_query_1t"),
                num(o, "weights") / num(pl, "weights"), num(o, "model_bytes") / num(pl, "model_bytes"));
  }
}

// The comparison of runs made with --encoder deep against the same training
// without the encoder.
void print_encoder_table(const rapidjson::Document& runs) {
  if (!any_with(runs, "no_encoder")) return;
  std::printf("\n%-18s %s %8s %7s\n", "deep matcher",
              paired_header("P@1/3/5 without", "P@1/3/5 with encoder", "ms/q w/o", "ms/q with").c_str(), "train x",
              "size x");
  for (const auto& o : runs.GetArray()) {
    if (!o.HasMember("no_encoder")) continue;
    const auto& base = o["no_encoder"];
    std::printf("%-18s %s %8.2f %7.2f\n", o["set"].GetString(), paired_cells(o, base).c_str(),
                num(o, "encoder_train_ratio_median"), num(o, "model_bytes") / num(base, "model_bytes"));
  }
}

// The comparison of runs made with --knn K against the same trees without
// the vote.
void print_knn_table(const rapidjson::Document& runs) {
  if (!any_with(runs, "no_knn")) return;
  std::printf("\n%-18s %s %7s\n", "knn vote",
              paired_header("P@1/3/5 trees alone", "P@1/3/5 with the vote", "ms/q w/o", "ms/q with").c_str(),
              "size x");
  for (const auto& o : runs.GetArray()) {
    if (!o.HasMember("no_knn")) continue;
    const auto& base = o["no_knn"];
    std::printf("%-18s %s %7.2f\n", o["set"].GetString(), paired_cells(o, base).c_str(),
                num(o, "model_bytes") / num(base, "model_bytes"));
  }
}

// The one-tree-against-ensemble comparison of runs made with --trees N > 1.
void print_ensemble_table(const rapidjson::Document& runs) {
  if (!any_with(runs, "one_tree")) return;
  std::printf("\n%-18s %5s %s %7s\n", "ensemble", "trees",
              paired_header("P@1/3/5 one tree", "P@1/3/5 ensemble", "ms/q one", "ms/q ens").c_str(), "size x");
  for (const auto& o : runs.GetArray()) {
    if (!o.HasMember("one_tree")) continue;
    const auto& one = o["one_tree"];
    std::printf("%-18s %5.0f %s %7.2f\n", o["set"].GetString(), num(o, "trees"), paired_cells(o, one).c_str(),
                num(o, "model_bytes") / num(one, "model_bytes"));
  }
}

}  // namespace

int run_bench(int argc, char** argv) {
  BenchConfig config;
  std::string labels, threads, json_path, run_one;
  std::vector<std::string> datasets;
  po::options_description o("xmr bench options");
  o.add_options()
      ("labels", po::value(&labels)->default_value("1000,10000,100000"),
       "synthetic label counts, comma-separated (e.g. 1000,10000,100000,1000000); empty for none")
      ("dataset", po::value(&datasets)->composing(),
       "a data set directory (train.txt/test.txt or train.jsonl/test.jsonl); repeatable")
      ("train-threads", po::value(&threads)->default_value("1,2"), "thread counts to train with, comma-separated")
      ("queries", po::value(&config.queries)->default_value(2000), "synthetic test queries")
      ("beam-size", po::value(&config.beam_size)->default_value(10), "beam width")
      ("top-k", po::value(&config.top_k)->default_value(10), "labels returned")
      ("seed", po::value(&config.seed)->default_value(0), "data and training seed")
      ("work-dir", po::value(&config.work_dir)->default_value("/tmp"), "where model files are written and removed")
      ("disentangle", po::value(&config.disentangle.max_copies)->default_value(1),
       "train with label disentanglement, K leaf clusters per label at most (1 = off); also trains the plain "
       "model and compares the two")
      ("disentangle-reach", po::value(&config.disentangle.reach)->default_value(1), "see xmr train")
      ("disentangle-min-votes", po::value(&config.disentangle.min_votes)->default_value(2), "see xmr train")
      ("disentangle-growth", po::value(&config.disentangle.leaf_growth)->default_value(0.25), "see xmr train")
      ("disentangle-route", po::value(&config.disentangle.route_positives)->default_value(false), "see xmr train")
      ("trees", po::value(&config.trees)->default_value(1),
       "label trees (see xmr train); > 1 also times the first tree alone beside the ensemble")
      ("json", po::value(&json_path), "also write the results as a JSON array here (atomically)")
      ("quiet,q", po::bool_switch(&config.quiet), "no progress lines")
      ("run-one", po::value(&run_one), "internal: measure one set and print its JSON object");
  add_encoder_options(o);
  add_knn_options(o);
  po::variables_map vm;
  if (!parse_options(argc, argv, "xmr bench [--labels 1000,10000,...] [--dataset DIR]... [--json FILE]", o, vm)) {
    return 0;
  }
  config.train_threads = parse_threads(threads);
  config.deep = deep_matcher_params_from(vm);
  config.knn = knn_params_from(vm);
  config.disentangle.validate();
  if (config.queries < 1) throw Error("--queries must be >= 1");
  if (config.beam_size < 1 || config.top_k < 1) throw Error("--beam-size and --top-k must be >= 1");
  if (config.trees < 1 || size_t(config.trees) > kMaxTrees) throw Error("--trees must be in 1.." + std::to_string(kMaxTrees));
  if (!run_one.empty()) {
    std::printf("%s\n", run_bench_set(run_one, config).c_str());
    return 0;
  }

  std::vector<std::string> sets;
  for (const std::string& l : split_list(labels)) sets.push_back("synthetic:" + l);
  for (const std::string& d : datasets) sets.push_back(d);
  if (sets.empty()) throw Error("nothing to run: give --labels and/or --dataset");

  rapidjson::Document runs(rapidjson::kArrayType);
  for (const std::string& set : sets) {
    std::vector<std::string> args = {"xmr", "bench", "--run-one", set, "--train-threads", threads,
                                     "--queries", std::to_string(config.queries), "--beam-size",
                                     std::to_string(config.beam_size), "--top-k", std::to_string(config.top_k),
                                     "--seed", std::to_string(config.seed), "--work-dir", config.work_dir,
                                     "--disentangle", std::to_string(config.disentangle.max_copies),
                                     "--disentangle-reach", std::to_string(config.disentangle.reach),
                                     "--disentangle-min-votes", std::to_string(config.disentangle.min_votes),
                                     "--disentangle-growth", std::to_string(config.disentangle.leaf_growth),
                                     "--disentangle-route", config.disentangle.route_positives ? "true" : "false",
                                     "--trees", std::to_string(config.trees)};
    if (config.deep.enabled) {
      const EncoderTrainParams& e = config.deep.encoder;
      for (const std::string& a :
           {std::string("--encoder"), std::string("deep"), std::string("--encoder-dim"), std::to_string(e.dim),
            std::string("--encoder-layers"), std::to_string(e.layers), std::string("--encoder-epochs"),
            std::to_string(e.epochs), std::string("--encoder-loss"), std::string(e.softmax ? "softmax" : "hinge"),
            std::string("--encoder-lr"), exact_float(e.learning_rate), std::string("--encoder-dropout"),
            exact_float(e.feature_dropout), std::string("--encoder-weight"), exact_float(config.deep.weight),
            std::string("--encoder-folds"), std::to_string(config.deep.folds)}) {
        args.push_back(a);
      }
    }
    for (const std::string& a : knn_args(config.knn)) args.push_back(a);
    if (config.quiet) args.push_back("-q");
    const std::string out = run_child(args, set);
    rapidjson::Document one;
    std::string json_error;
    if (!parse_json(out, one, json_error) || !one.IsObject()) throw Error("bench: bad output from the run for " + set);
    runs.PushBack(rapidjson::Value(one, runs.GetAllocator()), runs.GetAllocator());
  }
  print_table(runs, config.train_threads);
  print_training_table(runs, config.train_threads.back());
  print_disentangle_table(runs);
  print_ensemble_table(runs);
  print_encoder_table(runs);
  print_knn_table(runs);
  if (!json_path.empty()) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    runs.Accept(w);
    write_output(json_path, std::string(buf.GetString()) + "\n");
  }
  return 0;
}

}  // namespace xmr::cli
