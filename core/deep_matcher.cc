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

// What a fold encoder leaves for the alignment: its embeddings of the rows it
// trained on and of the rows it did not.
struct FoldEmbeddings {
  std::vector<Index> in, out;
  Eigen::MatrixXf trained;  // in.size() x dim
  RowMatrixXf held;         // out.size() x dim
};

// Every row of X embedded by an encoder that did not see it (fold encoders
// trained on the other folds), mapped into `full`'s coordinates by the
// least-squares fit on the rows both encoders saw (each encoder has its own
// coordinates; the linear models read `full`'s). Rows of a fold with nothing
// to train on keep `full`'s embedding.
RowMatrixXf out_of_fold_embeddings(const RowMatrixXf& full, std::vector<FoldEmbeddings>& folds) {
  RowMatrixXf E = full;
  for (FoldEmbeddings& f : folds) {
    if (f.in.empty() || f.out.empty()) continue;
    Eigen::MatrixXf B(Eigen::Index(f.in.size()), full.cols());
    for (size_t k = 0; k < f.in.size(); ++k) B.row(Eigen::Index(k)) = full.row(Eigen::Index(f.in[k]));
    const Eigen::MatrixXf& A = f.trained;
    const Eigen::MatrixXf M =
        (A.transpose() * A + 1e-3f * Eigen::MatrixXf::Identity(A.cols(), A.cols())).ldlt().solve(A.transpose() * B);
    const RowMatrixXf held = f.held * M;
    for (size_t k = 0; k < f.out.size(); ++k) {
      const float norm = held.row(Eigen::Index(k)).norm();  // unit length, as the encoder's own output
      E.row(Eigen::Index(f.out[k])) = held.row(Eigen::Index(k)) * (norm > 0 ? 1.0f / norm : 0.0f);
    }
    f = FoldEmbeddings{};
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
  const int folds = params.deep.folds > 1 ? params.deep.folds : 0;
  std::vector<FoldEmbeddings> fold(static_cast<size_t>(folds));
  for (int f = 0; f < folds; ++f) {
    FoldEmbeddings& r = fold[size_t(f)];
    for (size_t i = 0; i < X.rows; ++i) (deep_matcher_fold(i, folds) == size_t(f) ? r.out : r.in).push_back(Index(i));
    if (r.out.empty() || r.in.empty()) continue;  // tiny data
    const CsrMatrix Xin = X.select_rows(r.in);
    EncoderTrainParams fold_params = ep;
    fold_params.seed = mix_seed({ep.seed, 0xf01d, uint64_t(f)});
    const Encoder enc = train_encoder(Xin, Y.select_rows(r.in), tree, fold_params,
                                      prefixed(inputs.progress, "fold " + std::to_string(f + 1) + "/" + std::to_string(folds) + ": "));
    r.trained = enc.encode_rows(Xin, ep.threads);
    r.held = enc.encode_rows(X.select_rows(r.out), ep.threads);
  }
  const RowMatrixXf full = encoder.encode_rows(X, params.threads);
  const RowMatrixXf E = folds ? out_of_fold_embeddings(full, fold) : full;
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
