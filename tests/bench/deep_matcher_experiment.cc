// The deep matcher's first question, on a validation split of a shared text
// set's training data (the test file is never read): does a dense encoder
// trained against the label tree, put beside TF-IDF, raise P@k over XR-Linear
// on TF-IDF alone?
//
//   deep_matcher_experiment DATASET_DIR [--dim 64] [--epochs 2] [--lr 0.01] [--layers 1]
//                           [--finest 0] [--beam 10] [--batch 128] [--candidates 500] [--softmax 0|1]
//                           [--weights 0.5,1,2] [--folds 0] [--align 0|1] [--disjoint 0|1] [--dropout 0]
//                           [--fusion 0|1] [--min-df 0] [--weight-threshold X] [--threads 2] [--valid 0.2]
//
// Prints P@1/3/5 of: TF-IDF only; the encoder's own label head (with --finest
// 0; on validation and on training rows); embedding only; both at each weight, with a
// new tree by PIFA on the concatenation and with the TF-IDF tree. --folds K
// trains the linear model on out-of-fold embeddings of the training rows.
// --fusion 1 instead rescores XR-Linear's candidates with the encoder's own
// label head (late fusion), over a grid of fusion weights. --min-df N shows the
// encoder only features in at least N training rows (rare ones can memorise a row).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "analyzers/text_dataset.h"
#include "analyzers/text_model.h"
#include "analyzers/vectorizer.h"
#include "core/clustering.h"
#include "core/encoder_trainer.h"
#include "core/error.h"
#include "core/label_embedding.h"
#include "core/metrics.h"
#include "core/model.h"
#include "core/rng.h"
#include "core/trainer.h"

using namespace xmr;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// weight * E as a sparse matrix (every entry kept), to stand beside X with hstack().
CsrMatrix dense_block(const RowMatrixXf& E, float weight) {
  CsrMatrix m;
  m.rows = size_t(E.rows());
  m.cols = size_t(E.cols());
  for (Eigen::Index i = 0; i < E.rows(); ++i) {
    for (Eigen::Index j = 0; j < E.cols(); ++j) {
      m.indices.push_back(Index(j));
      m.values.push_back(weight * E(i, j));
    }
    m.indptr.push_back(m.indices.size());
  }
  return m;
}

// X with only the columns where keep[j] (the rest dropped from every row).
CsrMatrix keep_columns(const CsrMatrix& X, const std::vector<char>& keep) {
  CsrMatrix m;
  m.rows = X.rows;
  m.cols = X.cols;  // m.indptr starts as {0}
  for (size_t i = 0; i < X.rows; ++i) {
    for (size_t k = X.indptr[i]; k < X.indptr[i + 1]; ++k) {
      if (!keep[X.indices[k]]) continue;
      m.indices.push_back(X.indices[k]);
      m.values.push_back(X.values[k]);
    }
    m.indptr.push_back(m.indices.size());
  }
  return m;
}

struct Result {
  double p1, p3, p5, train_s;
};

float g_weight_threshold = -1;  // --weight-threshold; < 0: the trainer's default

Result train_and_eval(const CsrMatrix& Xtr, const CsrMatrix& Ytr, const CsrMatrix& Xva, const CsrMatrix& Yva,
                      int threads, const LabelTree* tree = nullptr) {
  TrainParams p = default_text_train_params();
  p.threads = threads;
  if (g_weight_threshold >= 0) p.weight_threshold = g_weight_threshold;
  const auto t0 = std::chrono::steady_clock::now();
  TrainInputs inputs;
  inputs.tree = tree;
  const Model m = Model::from_parts(train_model_parts(Xtr, Ytr, p, inputs));
  const double s = seconds_since(t0);
  PredictParams pp = m.default_predict_params();
  pp.top_k = 5;
  const RankingMetrics r = evaluate_ranking(m.predict_batch(Xva, pp, threads), Yva, 5);
  return {100 * r.precision[0], 100 * r.precision[2], 100 * r.precision[4], s};
}

// P@1..5 of the encoder's own classifier: its label head's top 5 over every
// label (no trees), for the embeddings E of rows whose labels are Y.
RankingMetrics head_metrics(const EncoderHead& head, const LabelTree& tree, const RowMatrixXf& E, const CsrMatrix& Y) {
  const RowMatrixXf logits = (E * head.weights.transpose()).rowwise() + head.bias.transpose();
  std::vector<std::vector<ScoredLabel>> top(Y.rows);
  for (size_t i = 0; i < Y.rows; ++i) {
    for (size_t s = 0; s < tree.slot_label.size(); ++s) {
      top[i].push_back({tree.slot_label[s], logits(Eigen::Index(i), Eigen::Index(s))});
    }
    const size_t k = std::min<size_t>(5, top[i].size());
    std::partial_sort(top[i].begin(), top[i].begin() + std::ptrdiff_t(k), top[i].end(),
                      [](const ScoredLabel& a, const ScoredLabel& b) { return a.score > b.score; });
    top[i].resize(k);
  }
  return evaluate_ranking(top, Y, 5);
}

std::vector<float> parse_list(const char* s) {
  std::vector<float> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stof(item));
  return out;
}

}  // namespace

int run(int argc, char** argv);

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "deep_matcher_experiment: error: %s\n", e.what());
    return 1;
  }
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATASET_DIR [--dim N] [--epochs N] [--lr X] [--layers N] [--finest N] "
                         "[--weights a,b] [--threads N] [--valid F]\n", argv[0]);
    return 2;
  }
  EncoderTrainParams ep;
  std::vector<float> weights = {0.5f, 1.0f, 2.0f};
  int threads = 2;
  double valid = 0.2;
  int folds = 0;  // > 1: the linear model trains on out-of-fold embeddings (cross-fitting)
  bool disjoint = false;
  bool fusion = false;  // late fusion: XR-Linear's candidates rescored by the encoder's own label head
  int min_df = 0;  // the encoder sees only features in at least this many training rows (rare ones memorise rows)
  bool align = false;  // with --folds: map each fold encoder's embeddings into the full encoder's coordinates  // the encoder learns from even rows, every linear model from odd rows only
  for (int a = 2; a + 1 < argc; a += 2) {
    const std::string k = argv[a];
    const char* v = argv[a + 1];
    if (k == "--dim") ep.dim = std::atoi(v);
    else if (k == "--epochs") ep.epochs = std::atoi(v);
    else if (k == "--lr") ep.learning_rate = std::stof(v);
    else if (k == "--layers") ep.layers = std::atoi(v);
    else if (k == "--finest") ep.finest_layer = std::atoi(v);
    else if (k == "--beam") ep.beam = std::atoi(v);
    else if (k == "--batch") ep.batch_size = std::atoi(v);
    else if (k == "--softmax") ep.softmax = std::atoi(v) != 0;
    else if (k == "--candidates") ep.max_candidates = std::atoi(v);
    else if (k == "--folds") folds = std::atoi(v);
    else if (k == "--dropout") ep.feature_dropout = std::stof(v);
    else if (k == "--disjoint") disjoint = std::atoi(v) != 0;
    else if (k == "--min-df") min_df = std::atoi(v);
    else if (k == "--align") align = std::atoi(v) != 0;
    else if (k == "--fusion") fusion = std::atoi(v) != 0;
    else if (k == "--weights") weights = parse_list(v);
    else if (k == "--threads") threads = std::atoi(v);
    else if (k == "--weight-threshold") g_weight_threshold = std::stof(v);
    else if (k == "--valid") valid = std::stod(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  ep.threads = threads;
  ep.validate();
  if (!(valid > 0 && valid < 1)) throw Error("--valid must be in (0, 1)");
  const std::string dir = argv[1];
  const TextDataset all = read_jsonl_dataset(dir + "/train.jsonl");
  // A seeded split of the training file: validation rows by a hash of the row number.
  TextDataset tr, va;
  for (size_t i = 0; i < all.size(); ++i) {
    TextDataset& to = double(splitmix64(i ^ 0x5eed) % 1000000) / 1e6 < valid ? va : tr;
    to.texts.push_back(all.texts[i]);
    to.labels.push_back(all.labels[i]);
  }
  const LabelVocabulary labels = LabelVocabulary::from_dataset(tr);
  CsrMatrix Xall;
  const TextVectorizer vec = TextVectorizer::fit(tr.texts, default_vectorizer_config(), &Xall, threads);
  const CsrMatrix Xva = vec.transform_batch(va.texts, threads);
  const CsrMatrix Yall = labels.label_matrix(tr, false), Yva = labels.label_matrix(va, true);
  // The rows the linear models learn from (all, or the odd ones) and the encoder's.
  std::vector<Index> linear_rows, encoder_rows;
  for (size_t i = 0; i < Xall.rows; ++i) {
    if (!disjoint || i % 2 == 1) linear_rows.push_back(Index(i));
    if (!disjoint || i % 2 == 0) encoder_rows.push_back(Index(i));
  }
  const CsrMatrix Xtr = Xall.select_rows(linear_rows), Ytr = Yall.select_rows(linear_rows);
  const CsrMatrix Xenc_all = Xall.select_rows(encoder_rows);
  CsrMatrix Xenc = Xenc_all;
  const CsrMatrix Yenc = Yall.select_rows(encoder_rows);
  std::vector<char> common(Xall.cols, 1);
  if (min_df > 1) {
    std::vector<uint32_t> df(Xall.cols, 0);
    for (Index j : Xenc.indices) ++df[j];
    size_t kept = 0;
    for (size_t j = 0; j < df.size(); ++j) kept += (common[j] = df[j] >= uint32_t(min_df));
    std::printf("encoder input: %zu of %zu features (df >= %d)\n", kept, df.size(), min_df);
    Xenc = keep_columns(Xenc, common);
  }
  if (disjoint) std::printf("disjoint: encoder on %zu rows, linear models on the other %zu\n", Xenc.rows, Xtr.rows);
  std::printf("%s: %zu train, %zu validation rows, %zu features, %zu labels; encoder dim %d, layers %d, epochs %d, lr %g, finest %d, %s loss, dropout %g\n",
              dir.c_str(), tr.size(), va.size(), Xtr.cols, Ytr.cols, ep.dim, ep.layers, ep.epochs, ep.learning_rate,
              ep.finest_layer, ep.softmax ? "softmax" : "squared hinge", ep.feature_dropout);

  const Result base = train_and_eval(Xtr, Ytr, Xva, Yva, threads);
  std::printf("%-26s P@1 %.2f  P@3 %.2f  P@5 %.2f  train %.1fs\n", "tf-idf only", base.p1, base.p3, base.p5, base.train_s);

  // The encoder learns against the usual tree (PIFA on TF-IDF).
  ClusteringParams cp;
  const LabelTree tree = build_label_tree(label_embedding(LabelEmbeddingKind::kPifa, Xenc_all, Yenc), cp);
  EncoderTrainStats st;
  EncoderHead head;
  const Encoder enc = train_encoder(Xenc, Yenc, tree, ep, {}, &st, &head);
  std::printf("encoder: %.1fs, tree depth %zu, final loss per layer:", st.seconds, tree.depth());
  for (double l : st.final_loss) std::printf(" %.3f", l);
  std::printf("\n");
  RowMatrixXf Etr = enc.encode_rows(keep_columns(Xtr, common), threads);
  const RowMatrixXf Eva = enc.encode_rows(keep_columns(Xva, common), threads);
  if (head.layer == tree.depth()) {
    const RankingMetrics va_head = head_metrics(head, tree, Eva, Yva), tr_head = head_metrics(head, tree, Etr, Ytr);
    std::printf("%-26s P@1 %.2f  P@3 %.2f  P@5 %.2f\n", "encoder head only", 100 * va_head.precision[0],
                100 * va_head.precision[2], 100 * va_head.precision[4]);
    std::printf("%-26s P@1 %.2f  P@3 %.2f  P@5 %.2f\n", "encoder head, training rows", 100 * tr_head.precision[0],
                100 * tr_head.precision[2], 100 * tr_head.precision[4]);
  }
  if (fusion) {
    if (head.layer != tree.depth()) throw Error("--fusion needs --finest 0 (a head over the labels)");
    std::vector<Index> slot_of(Ytr.cols);
    for (size_t s = 0; s < tree.slot_label.size(); ++s) slot_of[tree.slot_label[s]] = Index(s);
    TrainParams p = default_text_train_params();
    p.threads = threads;
    const Model m = Model::from_parts(train_model_parts(Xtr, Ytr, p, TrainInputs{}));
    // XR-Linear's top 20, rescored: (1 - a) log(linear score) + a log softmax
    // of the encoder's logits (temperature t) over those 20.
    PredictParams pp = m.default_predict_params();
    pp.top_k = 20;
    const auto lin = m.predict_batch(Xva, pp, threads);
    for (float a : {0.1f, 0.2f, 0.3f, 0.5f, 1.0f}) {
      for (float temp : {0.3f, 1.0f}) {
        std::vector<std::vector<ScoredLabel>> fused = lin;
        std::vector<float> logit;
        for (size_t i = 0; i < Xva.rows; ++i) {
          logit.resize(fused[i].size());
          float top = -1e30f;
          for (size_t q = 0; q < fused[i].size(); ++q) {
            const Index slot = slot_of[fused[i][q].label];
            logit[q] = temp * (head.weights.row(slot).dot(Eva.row(Eigen::Index(i))) + head.bias[slot]);
            top = std::max(top, logit[q]);
          }
          double z = 0;
          for (float l : logit) z += std::exp(double(l - top));
          for (size_t q = 0; q < fused[i].size(); ++q) {
            const float log_softmax = logit[q] - top - float(std::log(z));
            fused[i][q].score = (1 - a) * std::log(std::max(fused[i][q].score, 1e-9f)) + a * log_softmax;
          }
          std::sort(fused[i].begin(), fused[i].end(), [](const auto& x, const auto& y) { return x.score > y.score; });
        }
        const RankingMetrics r = evaluate_ranking(fused, Yva, 5);
        std::printf("fusion a %.1f t %.1f          P@1 %.2f  P@3 %.2f  P@5 %.2f  (P@1 %+.2f)\n", a, temp,
                    100 * r.precision[0], 100 * r.precision[2], 100 * r.precision[4], 100 * r.precision[0] - base.p1);
      }
    }
    return 0;
  }
  if (folds > 1) {
    // An encoder trained on the same rows makes their embeddings look better
    // than any new text's; give each training row one from an encoder that
    // never saw it.
    for (int f = 0; f < folds; ++f) {
      std::vector<Index> in, out;
      for (size_t i = 0; i < Xtr.rows; ++i) (int(i % size_t(folds)) == f ? out : in).push_back(Index(i));
      const CsrMatrix Xin = keep_columns(Xtr.select_rows(in), common);
      const Encoder fold_enc = train_encoder(Xin, Ytr.select_rows(in), tree, ep);
      RowMatrixXf E = fold_enc.encode_rows(keep_columns(Xtr.select_rows(out), common), threads);
      if (align) {
        // Each encoder has its own coordinates: map the fold's into the full
        // encoder's by least squares on the rows both saw.
        const Eigen::MatrixXf A = fold_enc.encode_rows(Xin, threads), B = enc.encode_rows(Xin, threads);
        const Eigen::MatrixXf M = (A.transpose() * A + 1e-3f * Eigen::MatrixXf::Identity(A.cols(), A.cols()))
                                      .ldlt()
                                      .solve(A.transpose() * B);
        E = (E * M).eval();
        E.rowwise().normalize();
      }
      for (size_t k = 0; k < out.size(); ++k) Etr.row(Eigen::Index(out[k])) = E.row(Eigen::Index(k));
    }
    std::printf("training rows embedded out of fold (%d folds%s)\n", folds, align ? ", aligned" : "");
  }

  const Result only = train_and_eval(dense_block(Etr, 1.0f), Ytr, dense_block(Eva, 1.0f), Yva, threads);
  std::printf("%-26s P@1 %.2f  P@3 %.2f  P@5 %.2f  train %.1fs\n", "embedding only", only.p1, only.p3, only.p5, only.train_s);
  for (float w : weights) {
    const CsrMatrix Xtr_both = hstack(Xtr, dense_block(Etr, w)), Xva_both = hstack(Xva, dense_block(Eva, w));
    const Result both = train_and_eval(Xtr_both, Ytr, Xva_both, Yva, threads);
    char name[64];
    std::snprintf(name, sizeof name, "tf-idf + %.2f x embedding", w);
    std::printf("%-26s P@1 %.2f  P@3 %.2f  P@5 %.2f  train %.1fs  (P@1 %+.2f)  new tree by PIFA on both\n", name,
                both.p1, both.p3, both.p5, both.train_s, both.p1 - base.p1);
    const Result kept = train_and_eval(Xtr_both, Ytr, Xva_both, Yva, threads, &tree);
    std::printf("%-26s P@1 %.2f  P@3 %.2f  P@5 %.2f  train %.1fs  (P@1 %+.2f)  the TF-IDF tree\n", name, kept.p1,
                kept.p3, kept.p5, kept.train_s, kept.p1 - base.p1);
  }
  return 0;
}
