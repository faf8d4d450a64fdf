// Multi-resolution training of the dense encoder (core/encoder.h), as in
// XR-Transformer: the encoder and a linear head learn to predict the clusters
// of a coarse layer of the label tree, then warm-start on the next finer
// layer, down to `finest_layer`.
//
// At layer t an instance's candidates are its positive nodes (those holding
// one of its labels; weight = how many) and, as hard negatives, the children
// of the `beam` best nodes of layer t-1 under the current model (every node
// of layer 1); the loss over the candidates is the weighted squared hinge
// (one-vs-all) or softmax cross-entropy towards the positives' label counts. A child's head row starts as its parent's. Adam, minibatches;
// gradients are summed in a fixed order, so the result depends on the seed
// and not on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/encoder.h"
#include "core/label_tree.h"
#include "core/progress_fn.h"
#include "core/sparse.h"

namespace xmr {

struct EncoderTrainParams {
  int dim = 64;                 // embedding size
  int layers = 1;               // residual layers after the bag of embeddings
  int epochs = 2;               // passes over the data per resolution
  int batch_size = 128;
  float learning_rate = 0.01f;  // Adam
  int finest_layer = 0;         // last tree layer trained (1 = the top clusters); 0 = the labels themselves
  int beam = 10;                // nodes of the previous layer whose children are hard negatives
  int max_candidates = 500;     // per instance and layer (positives always kept)
  bool softmax = false;         // loss over the candidates: softmax cross-entropy, else weighted squared hinge
  float feature_dropout = 0;    // share of an instance's features hidden in each epoch (against memorising rows)
  uint64_t seed = 0;
  int threads = 0;              // 0 = all

  void validate() const;  // throws xmr::Error on out-of-range values
};

// The deep matcher's settings (core/deep_matcher.h); off unless `enabled`.
// The encoder's seed and threads come from the TrainParams that hold these.
// Defaults: the setting with the best mean P@1 on validation splits of
// cooking and flipkart among those tried (README, "Deep matcher"); none of
// them beat XR-Linear without the encoder by more than the noise.
struct DeepMatcherParams {
  bool enabled = false;
  EncoderTrainParams encoder = default_encoder();
  float weight = 0.1f;  // scale of the embedding beside the L2-normalised TF-IDF row
  // > 1: each training row's embedding comes from an encoder trained without
  // its fold (mapped into the full encoder's coordinates by least squares),
  // so the linear models see embeddings as good as new text gets; 0: every
  // row is embedded by the full encoder.
  int folds = 3;
  // The full and fold encoders are independent trainings, each the same on
  // any number of threads: they run side by side, the threads shared among
  // them, as many at once as keep the extra ones' estimated state
  // (encoder_training_bytes, core/deep_matcher.h) within this. Not part of
  // the model.
  size_t side_by_side_bytes = size_t(128) << 20;

  // Softmax loss, 4 epochs per level, no residual layer, 30% feature dropout.
  static EncoderTrainParams default_encoder() {
    EncoderTrainParams e;
    e.softmax = true;
    e.epochs = 4;
    e.layers = 0;
    e.feature_dropout = 0.3f;
    return e;
  }

  void validate() const;   // throws xmr::Error on out-of-range values
  std::string to_json() const;
};

// The linear head of the finest trained layer: one row (and bias) per node of
// that layer; at layer depth() the nodes are the tree's leaf slots.
struct EncoderHead {
  RowMatrixXf weights;   // nodes x dim
  Eigen::VectorXf bias;  // nodes
  size_t layer = 0;
};

struct EncoderTrainStats {
  std::vector<double> final_loss;  // mean loss of the last epoch, per trained layer
  double seconds = 0;
};

// Trains an encoder on X (rows: instances, L2-normalised TF-IDF) against the
// labels Y through `tree` (which must have one slot per label). Features no
// row of X holds embed to zero. Throws xmr::Error on inconsistent shapes.
Encoder train_encoder(const CsrMatrix& X, const CsrMatrix& Y, const LabelTree& tree, const EncoderTrainParams& params,
                      const ProgressFn& progress = {}, EncoderTrainStats* stats = nullptr,
                      EncoderHead* head = nullptr);

}  // namespace xmr
