#include <chrono>
#include <cstdio>
#include <iostream>
#include <unordered_set>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/clustering.h"
#include "core/error.h"
#include "core/model_calibration.h"
#include "core/trainer.h"
#include "core/xc_format.h"
#include "index_tools/command.h"
#include "index_tools/data_input.h"
#include "index_tools/encoder_options.h"
#include "index_tools/knn_options.h"
#include "index_tools/options.h"
#include "index_tools/progress.h"
#include "index_tools/train_distributed.h"
#include "index_tools/vectorizer_options.h"
#include "analyzers/lucene_index.h"
#include "analyzers/query_log.h"
#include "analyzers/text_calibration.h"
#include "analyzers/text_model.h"

namespace xmr::cli {

namespace {

// ", encoder 1.23s", ", disentanglement 1.23s: +N copies[, +M ...]" and
// ", knn weight ... (held-out ...)", or "" for what did not run.
std::string disentangle_summary(const TrainStats& st) {
  char buf[64];
  std::string encoder = st.knn_choice.empty() ? "" : ", " + st.knn_choice;
  if (st.seconds_encoder > 0) {
    std::snprintf(buf, sizeof buf, ", encoder %.2fs", st.seconds_encoder);
    encoder += buf;
  }
  if (st.disentangle_rounds.empty()) return encoder;
  std::snprintf(buf, sizeof buf, ", disentanglement %.2fs:", st.seconds_disentangle);
  std::string out = encoder + buf;
  for (size_t r = 0; r < st.disentangle_rounds.size(); ++r) {
    out += (r ? ", +" : " +") + std::to_string(st.disentangle_rounds[r].copies_added) + " copies";
  }
  return out;
}

}  // namespace

int run_train(int argc, char** argv) {
#ifdef __GLIBC__
  // A fixed threshold: glibc's default one rises after each large free, so
  // training's later multi-MiB buffers would come from the heap and stay
  // resident once freed (measured on a 21 MB JSONL: peak RSS 259 MiB with
  // it, 266-297 MiB without). Inference commands keep the default.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
  std::string input, format, model_path, embedding, solver, negatives, post, label_features, tree_file;
  TrainParams p;
  po::options_description o("xmr train options");
  o.add_options()
      ("input", po::value(&input)->required(), "training data file")
      ("format", po::value(&format), "input format: xc | jsonl | index (a Lucene++ index directory); default: from the input")
      ("text-field", po::value<std::string>()->default_value("text"), "text field (jsonl member, or stored index field)")
      ("label-field", po::value<std::string>()->default_value("labels"), "label field (jsonl member, or stored index field)")
      ("query-log", po::value<std::string>(),
       "documents as labels: a JSONL log of {\"query\", \"keys\"} (documents clicked or bought) added to the "
       "index's documents, each its own text -> its key (--format index, --label-field the key field); keys not "
       "in the index are skipped and counted")
      ("model", po::value(&model_path)->required(), "model file to write (atomically)")
      ("normalize", po::bool_switch(), "L2-normalise feature rows (xc)")
      ("embedding", po::value(&embedding)->default_value("pifa"), "label embedding: pifa | pii")
      ("label-features", po::value(&label_features), "xc file with one feature row per label, concatenated to the embedding")
      ("tree", po::value(&tree_file), "user leaf clusters: one leaf per line, label ids")
      ("branching,B", po::value(&p.clustering.branching)->default_value(16), "tree branching factor (2..256)")
      ("max-leaf-size", po::value(&p.clustering.max_leaf_size)->default_value(100), "labels per leaf at most")
      ("kmeans-iter", po::value(&p.clustering.max_iter)->default_value(20), "k-means iterations per split")
      ("solver", po::value(&solver)->default_value("l2-svm"), "l2-svm | logistic")
      ("Cp", po::value(&p.solver.Cp)->default_value(1.0), "cost of positives")
      ("Cn", po::value(&p.solver.Cn)->default_value(1.0), "cost of negatives")
      ("eps", po::value(&p.solver.eps)->default_value(0.1), "solver tolerance")
      ("max-iter", po::value(&p.solver.max_iter)->default_value(100), "solver passes")
      ("bias", po::value(&p.solver.bias)->default_value(1.0), "bias feature value (0 = none)")
      ("threshold", po::value(&p.weight_threshold)->default_value(0.1f), "drop weights with |w| below this")
      ("negatives", po::value(&negatives)->default_value("auto"), "tfn | man | tfn+man | auto (tfn for xc, tfn+man for text)")
      ("matcher-beam", po::value(&p.matcher_beam_size)->default_value(TrainParams{}.matcher_beam_size), "beam for matcher-aware negatives")
      ("postprocessor", po::value(&post)->default_value("l3-hinge"), "default score combination of the model")
      ("seed", po::value(&p.seed)->default_value(0), "random seed")
      ("calibrate", po::value<double>()->default_value(0),
       "share of the rows (0..0.5) held out from a first model to fit calibrated probabilities; the model written is "
       "then trained on every row (0 = no calibration)")
      ("calibrate-folds", po::value<int>()->default_value(0),
       "instead of --calibrate: fit the probabilities by K-fold cross-fitting (2..20; K more trainings, every row "
       "predicted by a model trained without it)")
      ("trees", po::value(&p.trees)->default_value(1),
       "label trees: > 1 trains an ensemble whose scores are averaged (tree m uses seed + m, and odd m leaves of max-leaf-size / 2)")
      ("threads", po::value(&p.threads)->default_value(0), "threads (0 = all)")
      ("disentangle", po::value(&p.disentangle.max_copies)->default_value(1),
       "label disentanglement: leaf clusters a label may sit in, 1..6 (1 = off)")
      ("disentangle-rounds", po::value(&p.disentangle.rounds)->default_value(1), "reassign-and-retrain rounds")
      ("disentangle-beam", po::value(&p.disentangle.matcher_beam_size)->default_value(10),
       "clusters the matcher keeps per training instance")
      ("disentangle-reach", po::value(&p.disentangle.reach)->default_value(1),
       "a label in one of the instance's top N clusters counts as reached")
      ("disentangle-min-votes", po::value(&p.disentangle.min_votes)->default_value(2),
       "missed instances a cluster needs before a label is copied there")
      ("disentangle-growth", po::value(&p.disentangle.leaf_growth)->default_value(0.25),
       "leaves may grow to (1 + this) x the largest original leaf")
      ("disentangle-route", po::value(&p.disentangle.route_positives)->default_value(false),
       "true: teach the matcher to send each positive only to its label's copy that it ranks highest; "
       "false: to every cluster holding the label")
      ("distributed", po::bool_switch(),
       "one rank of an MPI job (mpirun -np N xmr train ... --distributed): each rank reads its share of the input "
       "(lines of an xc or jsonl file, documents of an index), the label tree's sub-trees are trained on the ranks, "
       "rank 0 writes the model; --negatives tfn (the default there), one tree, no disentanglement or calibration")
      ("quiet,q", po::bool_switch(), "no progress output");
  add_vectorizer_options(o);
  add_encoder_options(o);
  add_knn_options(o);
  po::variables_map vm;
  if (!parse_options(argc, argv, "xmr train --input FILE|DIR --format xc|jsonl|index --model PATH [options]", o, vm)) return 0;
  const bool quiet = vm["quiet"].as<bool>();
  Progress progress("xmr train", quiet);
  const ProgressFn report = [&](const std::string& step, size_t done, size_t total) {
    progress.update(step, done, total);
  };
  if (embedding != "pifa" && embedding != "pii") throw Error("unknown --embedding '" + embedding + "' (known: pifa, pii)");
  p.embedding = embedding == "pifa" ? LabelEmbeddingKind::kPifa : LabelEmbeddingKind::kPii;
  p.solver.kind = parse_solver(solver);
  format = input_format(format, input, {"xc", "jsonl", "index"});
  const bool text_input = format == "jsonl" || format == "index";
  p.negatives = negatives == "auto" ? (text_input ? default_text_train_params().negatives : NegativeSampling::kTeacherForced)
                                    : parse_negative_sampling(negatives);
  p.postprocessor = parse_postprocessor(post);
  p.deep = deep_matcher_params_from(vm);
  p.knn = knn_params_from(vm);
  p.validate();
  const double calibrate = vm["calibrate"].as<double>();
  if (!(calibrate >= 0 && calibrate <= 0.5)) throw Error("--calibrate must be a share in [0, 0.5]");
  const int calibrate_folds = vm["calibrate-folds"].as<int>();
  if (calibrate_folds != 0 && (calibrate_folds < 2 || calibrate_folds > 20)) throw Error("--calibrate-folds must be in 2..20");
  if (calibrate_folds && calibrate > 0) throw Error("give --calibrate or --calibrate-folds, not both");
  const bool calibrating = calibrate > 0 || calibrate_folds > 0;
  if (vm["distributed"].as<bool>()) {
    if (calibrating) throw Error("--distributed does not calibrate; fit the probabilities afterwards with xmr calibrate");
    if (p.deep.enabled) throw Error("--distributed trains XR-Linear only; train --encoder deep on one machine");
    if (p.knn.enabled()) throw Error("--distributed does not gather the training rows for --knn; train it on one machine");
    if (vm.count("query-log")) throw Error("--query-log is not split across ranks; train from the index and the log without --distributed");
    if (vm["normalize"].as<bool>() && format != "xc") throw Error("--normalize applies to --format xc");
    DistributedTrainRequest req;
    req.input = input;
    req.format = format;
    req.model_path = model_path;
    req.tree_file = tree_file;
    req.label_features = label_features;
    req.normalize = vm["normalize"].as<bool>();
    req.fields = JsonlFields{vm["text-field"].as<std::string>(), vm["label-field"].as<std::string>()};
    if (format != "xc") req.vectorizer = vectorizer_config_from(vm);
    req.params = p;
    if (negatives == "auto") req.params.negatives = NegativeSampling::kTeacherForced;
    req.quiet = quiet;
    return run_distributed_training(req);
  }

  check_format(format, {"xc", "jsonl", "index"});
  if (text_input) {
    if (!label_features.empty() || !tree_file.empty()) throw Error("--label-features and --tree need --format xc");
    if (vm["normalize"].as<bool>()) throw Error("--normalize applies to --format xc; text features are always L2-normalised");
    const VectorizerConfig vc = vectorizer_config_from(vm);
    const auto t0 = std::chrono::steady_clock::now();
    const std::string text_field = vm["text-field"].as<std::string>(), label_field = vm["label-field"].as<std::string>();
    const bool query_log = vm.count("query-log") > 0;
    if (query_log && format != "index") {
      throw Error("--query-log needs --format index (its keys are looked up in the index)");
    }
    TextDataset text = format == "jsonl" ? read_jsonl_dataset(input, JsonlFields{text_field, label_field}, report)
                                               : read_lucene_index(input, text_field, label_field);
    QueryLogStats log_stats;
    if (query_log) {
      std::unordered_set<std::string> keys;
      for (const auto& labels : text.labels) keys.insert(labels.begin(), labels.end());
      log_stats = append_query_log(vm["query-log"].as<std::string>(), keys, text);
    }
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    FittedCalibration fitted;
    if (calibrating) {
      const ProgressFn sibling_report = [&](const std::string& step, size_t done, size_t total) {
        progress.update("calibration model: " + step, done, total);
      };
      try {
        fitted = calibrate_folds ? fit_cross_fitted_calibration(text, vc, p, calibrate_folds, input, sibling_report)
                                 : fit_held_out_calibration(text, vc, p, calibrate, input, sibling_report);
      } catch (const Error& e) {
        throw Error(std::string("--calibrate: ") + e.what());
      }
    }
    TextTrainStats st;
    const size_t num_texts = text.size();
    const TextModel tm = [&] {
      try {
        return TextModel::train(std::move(text), vc, p, &st, report);
      } catch (const Error& e) {
        throw Error(input + ": " + e.what());  // e.g. no documents, no labels
      }
    }();
    if (calibrating) {
      tm.model().with_calibration(fitted.map, fitted.info_json).save(model_path);
    } else {
      tm.save(model_path);
    }
    progress.finish();
    if (query_log && !quiet) {
      std::fprintf(stderr,
                   "xmr train: query log: %zu queries, %zu added; %zu keys name no document of the index and %zu "
                   "queries no known document (skipped)\n",
                   log_stats.queries, log_stats.added, log_stats.unknown_keys, log_stats.without_known_key);
    }
    if (!quiet) {
      std::fprintf(stderr,
                   "xmr train: %zu texts, %zu features (%.1f MiB matrix), %zu labels; read %.2fs, features %.2fs, "
                   "train %.2fs (clustering %.2fs, levels %.2fs%s); wrote %s (%zu bytes)\n",
                   num_texts, tm.model().num_features(), st.matrix_nonzeros * 8.0 / 1048576, tm.model().num_labels(),
                   load_s, st.seconds_features,
                   st.seconds_train, st.train.seconds_clustering, st.train.seconds_matching,
                   disentangle_summary(st.train).c_str(), model_path.c_str(), tm.model().file_size());
    }
    return 0;
  }
  const auto t0 = std::chrono::steady_clock::now();
  LabelledData data = load_xc(input, vm["normalize"].as<bool>());
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  TrainInputs in;
  CsrMatrix lf;
  if (!label_features.empty()) {
    lf = read_xc_file(label_features).features;
    in.label_features = &lf;
  }
  LabelTree user_tree;
  if (!tree_file.empty()) {
    // Upper levels over the user's leaves are clustered on PIFA embeddings.
    user_tree = build_tree_over_leaves(pifa_embedding(data.X, data.Y), read_leaf_clusters(tree_file, data.Y.cols),
                                       p.clustering);
    in.tree = &user_tree;
  }
  in.progress = report;
  const auto t1 = std::chrono::steady_clock::now();
  FittedCalibration fitted;
  if (calibrating) {
    TrainInputs sibling_in = in;
    sibling_in.progress = [&](const std::string& step, size_t done, size_t total) {
      progress.update("calibration model: " + step, done, total);
    };
    try {
      fitted = calibrate_folds ? fit_cross_fitted_calibration(data.X, data.Y, p, sibling_in, calibrate_folds, input)
                               : fit_held_out_calibration(data.X, data.Y, p, sibling_in, calibrate, input);
    } catch (const Error& e) {
      throw Error(std::string("--calibrate: ") + e.what());
    }
  }
  TrainStats stats;
  Model model = [&] {
    try {
      return train_model(data.X, data.Y, p, in, &stats);
    } catch (const Error& e) {
      throw Error(input + ": " + e.what());  // e.g. no instances
    }
  }();
  if (calibrating) model = model.with_calibration(fitted.map, fitted.info_json);
  const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  model.save(model_path);
  progress.finish();
  if (!quiet) {
    std::fprintf(stderr,
                 "xmr train: %zu instances, %zu features, %zu labels; read %.2fs, train %.2fs (embedding %.2fs, "
                 "clustering %.2fs, levels %.2fs%s); wrote %s (%zu bytes)\n",
                 data.X.rows, data.X.cols, data.Y.cols, load_s, train_s, stats.seconds_embedding,
                 stats.seconds_clustering, stats.seconds_matching, disentangle_summary(stats).c_str(),
                 model_path.c_str(), model.file_size());
  }
  return 0;
}

}  // namespace xmr::cli
