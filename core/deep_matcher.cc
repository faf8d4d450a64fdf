#include "core/deep_matcher.h"

#include <chrono>
#include <memory>

#include "core/encoder_trainer.h"
#include "core/error.h"
#include "core/rng.h"

namespace xmr {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Every row of X embedded by an encoder that did not see it: one encoder per
// fold, trained on the other folds, its embeddings mapped into `full`'s
// coordinates by the least-squares fit on the rows both encoders saw (each
// encoder has its own coordinates; the linear models read `full`'s).
RowMatrixXf out_of_fold_embeddings(const CsrMatrix& X, const CsrMatrix& Y, const LabelTree& tree,
                                   const EncoderTrainParams& ep, int folds, const Encoder& full,
                                   const ProgressFn& progress) {
  RowMatrixXf E(Eigen::Index(X.rows), full.dim());
  for (int f = 0; f < folds; ++f) {
    std::vector<Index> in, out;
    for (size_t i = 0; i < X.rows; ++i) (deep_matcher_fold(i, folds) == size_t(f) ? out : in).push_back(Index(i));
    if (out.empty() || in.empty()) continue;  // tiny data: those rows keep the full encoder's embedding below
    const CsrMatrix Xin = X.select_rows(in);
    EncoderTrainParams fold_params = ep;
    fold_params.seed = mix_seed({ep.seed, 0xf01d, uint64_t(f)});
    const Encoder enc = train_encoder(Xin, Y.select_rows(in), tree, fold_params,
                                      prefixed(progress, "fold " + std::to_string(f + 1) + "/" + std::to_string(folds) + ": "));
    const Eigen::MatrixXf A = enc.encode_rows(Xin, ep.threads), B = full.encode_rows(Xin, ep.threads);
    const Eigen::MatrixXf M =
        (A.transpose() * A + 1e-3f * Eigen::MatrixXf::Identity(A.cols(), A.cols())).ldlt().solve(A.transpose() * B);
    RowMatrixXf held = enc.encode_rows(X.select_rows(out), ep.threads) * M;
    for (size_t k = 0; k < out.size(); ++k) {
      const float norm = held.row(Eigen::Index(k)).norm();  // unit length, as the encoder's own output
      E.row(Eigen::Index(out[k])) = held.row(Eigen::Index(k)) * (norm > 0 ? 1.0f / norm : 0.0f);
    }
  }
  return E;
}

}  // namespace

size_t deep_matcher_fold(size_t row, int folds) { return size_t(splitmix64(row ^ 0xdee9f01dULL) % uint64_t(folds)); }

ModelParts train_deep_matcher_parts(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params,
                                    const TrainInputs& inputs, TrainStats* stats, ModelParts* plain) {
  params.validate();
  check_training_data(X, Y);
  const auto t0 = std::chrono::steady_clock::now();
  // The tree the encoder learns: the one plain XR-Linear would train on.
  TrainInputs tree_inputs = inputs;
  tree_inputs.progress = prefixed(inputs.progress, "encoder tree: ");
  const LabelTree tree = training_tree(X, Y, params, tree_inputs);
  EncoderTrainParams ep = params.deep.encoder;
  ep.seed = mix_seed({params.seed, 0xdee9});
  ep.threads = params.threads;
  const Encoder encoder = train_encoder(X, Y, tree, ep, inputs.progress);
  const RowMatrixXf E = params.deep.folds > 1
                            ? out_of_fold_embeddings(X, Y, tree, ep, params.deep.folds, encoder, inputs.progress)
                            : encoder.encode_rows(X, params.threads);
  const double encoder_seconds = seconds_since(t0);

  TrainParams linear = params;
  linear.deep.enabled = false;
  const CsrMatrix widened = append_embedding(X, E, params.deep.weight, X.cols);
  ModelParts parts = train_model_parts(widened, Y, linear, inputs, stats, plain);
  if (stats) stats->seconds_encoder = encoder_seconds;
  auto shared = std::make_shared<const Encoder>(encoder);
  const std::string info = "{\"seconds\":" + std::to_string(encoder_seconds) + "}";
  for (ModelParts* p : {&parts, plain}) {
    if (!p) continue;
    p->num_features = X.cols;
    p->encoder = shared;
    p->encoder_weight = params.deep.weight;
    p->encoder_info_json = info;
  }
  parts.train_params_json = params.to_json();
  return parts;
}

}  // namespace xmr
