// The deep matcher (XR-Transformer's recipe, with a shallow encoder on CPU):
//
//   1. the usual label tree is clustered from the TF-IDF rows (PIFA);
//   2. an encoder (core/encoder.h) learns the tree's clusters, coarse levels
//      first (core/encoder_trainer.h);
//   3. every row becomes [x, weight * embedding(x)], and XR-Linear is trained
//      on that with all its machinery (a new tree by PIFA on the widened rows,
//      negatives, disentanglement, ensembles);
//   4. the model file carries the encoder, so serving widens each query the
//      same way inside Model (the callers pass the TF-IDF row only).
//
// An encoder memorises the rows it was trained on, so their embeddings are
// better than any new text's and the linear models would trust them too much;
// with params.deep.folds = K each training row is embedded by an encoder
// trained without its fold, mapped into the full encoder's coordinates by
// least squares on rows both saw (K more encoder trainings).
#pragma once

#include "core/model.h"
#include "core/trainer.h"

namespace xmr {

// Called by train_model_parts when params.deep.enabled; same contract. The
// parts' num_features is X.cols (the encoder's input); their trees read
// X.cols + dim features. Deterministic for a seed, independent of the thread
// count. Progress steps: "encoder layer t/T epoch e/E" (with "fold f/K: "
// before them for the out-of-fold encoders), then the trainer's.
ModelParts train_deep_matcher_parts(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params,
                                    const TrainInputs& inputs, TrainStats* stats, ModelParts* plain);

// The fold (0..folds-1) of training row `row`: a seeded hash of its number.
size_t deep_matcher_fold(size_t row, int folds);

// Estimated bytes one encoder's training holds of its own: its table and
// head with their two Adam moments, its residual layers, and a copy of its
// rows (rows, nnz: of the input; features, labels: its columns).
size_t encoder_training_bytes(size_t rows, size_t nnz, size_t features, size_t labels, const EncoderTrainParams& p);

// How many of `jobs` encoder trainings run at once on `threads` threads:
// as many as there are threads and jobs, but fewer while the ones beyond the
// first would hold more than `budget` bytes (bytes_each apiece). At least 1.
int encoder_lanes(int threads, int jobs, size_t bytes_each, size_t budget);

}  // namespace xmr
