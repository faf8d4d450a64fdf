#include "index_tools/bench_run.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "analyzers/text_dataset.h"
#include "analyzers/text_model.h"
#include "analyzers/vectorizer.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/model.h"
#include "core/trainer.h"
#include "core/xc_format.h"
#include "examples/synthetic_xc.h"

namespace xmr::cli {

namespace {

using Clock = std::chrono::steady_clock;
// Deep and plain trainings timed in turn for the deep matcher's training ratio.
constexpr int kTrainingPairs = 3;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

double peak_rss_mib() {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

double current_rss_mib() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return double(resident) * double(::sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

struct BenchData {
  std::string name;
  bool text = false;
  CsrMatrix X_train, Y_train, X_test, Y_test;
  double seconds_featurize = 0;  // text sets: fitting the vectorizer and vectorizing the training texts
  size_t vocabulary_bytes = 0;   // text sets: what a text model file adds for its vectorizer
};

BenchData synthetic_data(const std::string& set, const BenchConfig& config) {
  const std::string count = set.substr(std::string("synthetic:").size());
  size_t labels = 0;
  try {
    size_t used = 0;
    labels = std::stoul(count, &used);
    if (used != count.size()) throw Error("");
  } catch (const std::exception&) {
    throw Error("bench set '" + set + "': expected synthetic:<label count>");
  }
  if (labels < 2 || labels > 10'000'000) throw Error("bench set '" + set + "': label count must be in 2..10000000");
  const ScaleShape shape = scale_shape(labels);
  SyntheticXcParams p;
  p.rows = shape.rows + config.queries;
  p.features = shape.features;
  p.labels = shape.labels;
  p.seed = config.seed + 1;
  XcDataset all = generate_synthetic_xc(p);
  all.features.normalize_rows_l2();
  std::vector<Index> train_rows, test_rows;
  for (size_t i = 0; i < all.features.rows; ++i) (i < shape.rows ? train_rows : test_rows).push_back(Index(i));
  BenchData d;
  d.name = "synthetic-" + std::to_string(labels);
  d.X_train = all.features.select_rows(train_rows);
  d.Y_train = all.labels.select_rows(train_rows);
  d.X_test = all.features.select_rows(test_rows);
  d.Y_test = all.labels.select_rows(test_rows);
  return d;
}

BenchData directory_data(const std::string& dir) {
  BenchData d;
  const size_t slash = dir.find_last_of('/', dir.size() > 1 ? dir.size() - 2 : 0);
  d.name = dir.substr(slash == std::string::npos ? 0 : slash + 1);
  if (!d.name.empty() && d.name.back() == '/') d.name.pop_back();
  if (exists(dir + "/train.txt") && exists(dir + "/test.txt")) {
    XcDataset train = read_xc_file(dir + "/train.txt"), test = read_xc_file(dir + "/test.txt");
    train.features.normalize_rows_l2();
    test.features.normalize_rows_l2();
    d.X_train = std::move(train.features);
    d.Y_train = std::move(train.labels);
    d.X_test = std::move(test.features);
    d.Y_test = std::move(test.labels);
    if (d.X_test.cols < d.X_train.cols) d.X_test.cols = d.X_train.cols;
    if (d.X_test.cols > d.X_train.cols) throw Error(dir + "/test.txt: more features than the training file");
    return d;
  }
  if (exists(dir + "/train.jsonl") && exists(dir + "/test.jsonl")) {
    const TextDataset train = read_jsonl_dataset(dir + "/train.jsonl"), test = read_jsonl_dataset(dir + "/test.jsonl");
    const auto t0 = Clock::now();
    const TextVectorizer vectorizer = TextVectorizer::fit(train.texts, default_vectorizer_config(), &d.X_train);
    d.seconds_featurize = seconds_since(t0);
    d.vocabulary_bytes = vectorizer.serialize_vocabulary().size();
    d.X_test = vectorizer.transform_batch(test.texts);
    const LabelVocabulary labels = LabelVocabulary::from_dataset(train);
    d.Y_train = labels.label_matrix(train, false);
    d.Y_test = labels.label_matrix(test, true);
    d.text = true;
    return d;
  }
  throw Error("bench set '" + dir + "': no train.txt/test.txt or train.jsonl/test.jsonl there");
}

size_t total_weights(const Model& model) {
  size_t n = 0;
  for (size_t t = 0; t < model.num_trees(); ++t) {
    for (const LayerView& l : model.member_tree(t).layers) n += l.nnz;
  }
  return n;
}

}  // namespace

ScaleShape scale_shape(size_t labels) {
  const size_t rows = std::max<size_t>(labels, 20000);
  return {rows, 2 * rows, labels};
}

std::string run_bench_set(const std::string& set, const BenchConfig& config) {
  auto note = [&](const std::string& what) {
    if (!config.quiet) std::fprintf(stderr, "xmr bench: %s: %s\n", set.c_str(), what.c_str());
  };
  note("preparing data");
  auto t0 = Clock::now();
  BenchData data = set.rfind("synthetic:", 0) == 0 ? synthetic_data(set, config) : directory_data(set);
  const double seconds_data = seconds_since(t0);
  const double data_rss = current_rss_mib();

  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("set"), w.String(data.name.c_str());
  w.Key("rows"), w.Uint64(data.X_train.rows);
  w.Key("features"), w.Uint64(data.X_train.cols);
  w.Key("labels"), w.Uint64(data.Y_train.cols);
  w.Key("nnz_per_row"), w.Double(data.X_train.rows ? double(data.X_train.nnz()) / double(data.X_train.rows) : 0.0);
  w.Key("test_rows"), w.Uint64(data.X_test.rows);
  w.Key("seconds_data"), w.Double(seconds_data);
  w.Key("data_rss_mib"), w.Double(data_rss);

  TrainParams params = data.text ? default_text_train_params() : TrainParams{};
  params.seed = config.seed;
  params.disentangle = config.disentangle;
  params.trees = config.trees;
  params.deep = config.deep;
  params.knn = config.knn;
  ModelParts parts, plain_parts;  // plain_parts: the disentangled run's model before its rounds
  double plain_train_seconds = 0;
  double last_train_seconds = 0;  // the run on the last thread count
  w.Key("training"), w.StartArray();
  for (int threads : config.train_threads) {
    note("training on " + std::to_string(threads) + " thread(s)");
    params.threads = threads;
    TrainStats st;
    t0 = Clock::now();
    parts = train_model_parts(data.X_train, data.Y_train, params, {}, &st,
                              config.disentangle.enabled() ? &plain_parts : nullptr);
    const double secs = seconds_since(t0);
    last_train_seconds = secs;
    plain_train_seconds = st.seconds_embedding + st.seconds_clustering + st.seconds_matching;
    w.StartObject();
    w.Key("threads"), w.Int(threads);
    w.Key("seconds"), w.Double(secs);
    w.Key("seconds_tree"), w.Double(st.seconds_embedding + st.seconds_clustering);
    w.Key("seconds_matching"), w.Double(st.seconds_matching);
    if (config.deep.enabled) w.Key("seconds_encoder"), w.Double(st.seconds_encoder);
    if (config.disentangle.enabled()) {
      w.Key("seconds_disentangle"), w.Double(st.seconds_disentangle);
      w.Key("copies_added"), w.Uint64(st.disentangle_rounds.empty() ? 0 : st.disentangle_rounds.back().copies_added);
    }
    w.EndObject();
  }
  w.EndArray();
  // The plain model of a disentangled run is the one trained before its
  // rounds; it is timed beside the disentangled one below, so the ratio comes
  // from one process on one machine state.
  if (config.disentangle.enabled()) {
    w.Key("plain_train_seconds"), w.Double(plain_train_seconds);
    w.Key("plain_train_threads"), w.Int(config.train_threads.back());
  }
  w.Key("peak_rss_mib"), w.Double(peak_rss_mib());
  w.Key("trees"), w.Int(config.trees);
  if (data.text) {
    w.Key("seconds_featurize"), w.Double(data.seconds_featurize);
    w.Key("vocabulary_bytes"), w.Uint64(data.vocabulary_bytes);
  }
  // Text sets train matcher-aware by default: also time the teacher-forced
  // (tfn) setting PECOS's reference figures use, on the last thread count.
  if (data.text && params.negatives != NegativeSampling::kTeacherForced && !config.disentangle.enabled() &&
      config.trees == 1 && !config.deep.enabled && !config.knn.enabled()) {
    note("training with --negatives tfn on " + std::to_string(config.train_threads.back()) + " thread(s)");
    TrainParams tfn = params;
    tfn.negatives = NegativeSampling::kTeacherForced;
    tfn.threads = config.train_threads.back();
    TrainStats st;
    const ModelParts tfn_parts = train_model_parts(data.X_train, data.Y_train, tfn, {}, &st, nullptr);
    w.Key("tfn_train_seconds"), w.Double(st.seconds_embedding + st.seconds_clustering + st.seconds_matching);
    w.Key("tfn_model_bytes"), w.Uint64(Model::from_parts(tfn_parts).file_size());
  }

  // The model the run compares against, in one process with alternating
  // passes: the same training without the deep matcher, else the same trees
  // without the nearest-neighbour vote, else an ensemble's first tree alone,
  // else a disentangled model's plain one (trained before its rounds).
  const char* baseline_key = config.deep.enabled        ? "no_encoder"
                             : config.knn.enabled()     ? "no_knn"
                             : config.trees > 1         ? "one_tree"
                             : config.disentangle.enabled() ? "plain" : nullptr;
  ModelParts baseline_parts;
  if (config.deep.enabled) {
    // One training of each is a noisy ratio on a shared machine (bibtex's
    // plain model trains in 0.1 s): pairs alternate, the deep training again
    // after the first pair, and the median of the pairs' ratios is reported.
    note("training without the encoder on " + std::to_string(config.train_threads.back()) + " thread(s), " +
         std::to_string(kTrainingPairs) + " pairs");
    TrainParams without = params;
    without.deep.enabled = false;
    std::vector<double> plain_seconds, ratios;
    double deep_seconds = last_train_seconds;
    for (int pair = 0; pair < kTrainingPairs; ++pair) {
      if (pair > 0) {
        t0 = Clock::now();
        train_model_parts(data.X_train, data.Y_train, params, {}, nullptr, nullptr);
        deep_seconds = seconds_since(t0);
      }
      t0 = Clock::now();
      baseline_parts = train_model_parts(data.X_train, data.Y_train, without, {}, nullptr, nullptr);
      plain_seconds.push_back(seconds_since(t0));
      ratios.push_back(deep_seconds / plain_seconds.back());
    }
    w.Key("no_encoder_train_seconds"), w.Double(percentile(plain_seconds, 0.5));
    w.Key("encoder_train_ratio_median"), w.Double(percentile(ratios, 0.5));
    w.Key("encoder_train_ratios"), w.StartArray();
    for (double r : ratios) w.Double(r);
    w.EndArray();
  } else if (config.knn.enabled()) {
    baseline_parts = parts;
    baseline_parts.knn.reset();
  } else if (config.trees > 1) {
    baseline_parts = parts;
    baseline_parts.more_trees.clear();
  } else if (config.disentangle.enabled()) {
    baseline_parts = std::move(plain_parts);
  }
  plain_parts = ModelParts{};
  const std::string path = config.work_dir + "/xmr-bench-" + std::to_string(::getpid()) + ".xmr";
  Model::from_parts(parts).save(path);
  parts = ModelParts{};
  std::vector<double> load_ms;
  Model model;
  for (int i = 0; i < 5; ++i) {
    t0 = Clock::now();
    model = Model::load(path);
    load_ms.push_back(1e3 * seconds_since(t0));
  }
  w.Key("model_bytes"), w.Uint64(model.file_size());
  w.Key("depth"), w.Uint64(model.depth());
  w.Key("slots"), w.Uint64(model.num_slots());
  w.Key("weights"), w.Uint64(total_weights(model));
  w.Key("load_ms_median"), w.Double(percentile(load_ms, 0.5));

  note("inference");
  PredictParams p = model.default_predict_params();
  p.beam_size = config.beam_size;
  p.top_k = config.top_k;
  const CsrMatrix& X = data.X_test;
  model.predict_batch(X, p, 1);  // warm-up: page the mapped model in
  // Best of 5 passes: the machine's noise only ever adds time.
  auto timed_batch = [&](int threads, Model::BatchOrder order) {
    double best = 1e300;
    std::vector<std::vector<ScoredLabel>> pred;
    for (int pass = 0; pass < 5; ++pass) {
      const auto start = Clock::now();
      pred = model.predict_batch(X, p, threads, order);
      best = std::min(best, 1e3 * seconds_since(start) / double(std::max<size_t>(1, X.rows)));
    }
    return std::make_pair(best, std::move(pred));
  };
  const auto by_query_1 = timed_batch(1, Model::BatchOrder::kByQuery);
  const auto by_chunk_1 = timed_batch(1, Model::BatchOrder::kByChunk);
  const auto by_query_2 = timed_batch(2, Model::BatchOrder::kByQuery);
  if (by_chunk_1.second != by_query_1.second) throw Error("bench: chunk-ordered batch differs from per-query search");
  w.Key("batch_ms_per_query_1t"), w.Double(by_query_1.first);
  w.Key("batch_by_chunk_ms_per_query_1t"), w.Double(by_chunk_1.first);
  w.Key("batch_ms_per_query_2t"), w.Double(by_query_2.first);

  InferenceWorkspace ws;
  std::vector<ScoredLabel> out;
  std::vector<double> latency_us;
  latency_us.reserve(X.rows);
  for (int pass = 0; pass < 2; ++pass) {  // the first pass warms the workspace
    latency_us.clear();
    for (size_t i = 0; i < X.rows; ++i) {
      const auto start = Clock::now();
      model.predict(X.row(i), p, ws, out);
      latency_us.push_back(1e6 * seconds_since(start));
    }
  }
  w.Key("latency_us_p50"), w.Double(percentile(latency_us, 0.5));
  w.Key("latency_us_p99"), w.Double(percentile(latency_us, 0.99));

  const RankingMetrics m = evaluate_ranking(by_query_1.second, data.Y_test, 5);
  w.Key("P@1"), w.Double(100 * m.precision[0]);
  w.Key("P@3"), w.Double(100 * m.precision[2]);
  w.Key("P@5"), w.Double(100 * m.precision[4]);

  if (baseline_key) {
    note(std::string("inference, against ") + (config.deep.enabled     ? "the model without the encoder"
                                               : config.knn.enabled()  ? "the same trees without the vote"
                                               : config.trees > 1      ? "the first tree alone"
                                                                       : "the plain model"));
    // Loaded from a file like the measured model, so both are mapped alike.
    const std::string baseline_path = path + ".baseline";
    Model::from_parts(baseline_parts).save(baseline_path);
    baseline_parts = ModelParts{};
    const Model baseline = Model::load(baseline_path);
    ::unlink(baseline_path.c_str());
    PredictParams bp = baseline.default_predict_params();
    bp.beam_size = config.beam_size;
    bp.top_k = config.top_k;
    // Passes alternate between the models (and which goes first), best of 8
    // each for batches and the median of 4 passes for single queries, so that
    // a slow spell of the machine hits both alike.
    double best_base = 1e300, best_model = 1e300;
    std::vector<double> base_us, model_us;
    const std::vector<std::vector<ScoredLabel>> base_pred = baseline.predict_batch(X, bp, 1);
    auto time_pass = [&](const Model& m, const PredictParams& predict_params, double* best, std::vector<double>& us) {
      auto start = Clock::now();
      m.predict_batch(X, predict_params, 1);
      *best = std::min(*best, 1e3 * seconds_since(start) / double(std::max<size_t>(1, X.rows)));
      for (size_t i = 0; i < X.rows; i += 2) {  // every other row: half the time, the same distribution
        start = Clock::now();
        m.predict(X.row(i), predict_params, ws, out);
        us.push_back(1e6 * seconds_since(start));
      }
    };
    for (int pass = 0; pass < 8; ++pass) {
      if (pass % 2 == 0) {
        time_pass(baseline, bp, &best_base, base_us);
        time_pass(model, p, &best_model, model_us);
      } else {
        time_pass(model, p, &best_model, model_us);
        time_pass(baseline, bp, &best_base, base_us);
      }
    }
    const RankingMetrics bm = evaluate_ranking(base_pred, data.Y_test, 5);
    w.Key(baseline_key), w.StartObject();
    w.Key("model_bytes"), w.Uint64(baseline.file_size());
    w.Key("weights"), w.Uint64(total_weights(baseline));
    w.Key("batch_default_ms_per_query_1t"), w.Double(best_base);
    w.Key("latency_us_p50"), w.Double(percentile(base_us, 0.5));
    w.Key("latency_us_p99"), w.Double(percentile(base_us, 0.99));
    w.Key("P@1"), w.Double(100 * bm.precision[0]);
    w.Key("P@3"), w.Double(100 * bm.precision[2]);
    w.Key("P@5"), w.Double(100 * bm.precision[4]);
    w.EndObject();
    w.Key("paired_batch_default_ms_per_query_1t"), w.Double(best_model);
    w.Key("paired_latency_us_p50"), w.Double(percentile(model_us, 0.5));
    w.Key("paired_latency_us_p99"), w.Double(percentile(model_us, 0.99));
  }
  w.EndObject();
  model = Model{};
  ::unlink(path.c_str());
  return buf.GetString();
}

}  // namespace xmr::cli
