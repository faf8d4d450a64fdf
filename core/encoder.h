// A dense text encoder for the deep matcher (XR-Transformer's idea on CPU):
// sparse features in, an L2-normalised d-dimensional embedding out.
//
//   h = sum_j x_j * E[j]                (a TF-IDF-weighted bag of learned feature embeddings)
//   z = h + relu(W h + b)               (one residual layer per `layers`)
//   e = z / ||z||
//
// The encoder is trained by core/encoder_trainer.h against the clusters of a
// label tree, coarse levels first. Immutable once built: encode() is const
// and thread-safe; each thread passes its own workspace (no allocation after
// the first call with a given dimension).
#pragma once

#include <Eigen/Dense>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/sparse.h"

namespace xmr {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Per-thread buffers of encode(); kept between calls.
struct EncoderWorkspace {
  std::vector<Eigen::VectorXf> inputs;  // the input of each layer (h, z1, ...)
  std::vector<Eigen::VectorXf> pre;     // W h + b of each layer, before relu
  Eigen::VectorXf out;                  // z before normalisation
};

class Encoder {
 public:
  Encoder() = default;
  // A randomly initialised encoder (seeded: same arguments, same weights).
  Encoder(size_t num_features, int dim, int layers, uint64_t seed);

  size_t num_features() const { return size_t(table_.rows()); }
  int dim() const { return int(table_.cols()); }
  int layers() const { return int(weights_.size()); }
  bool empty() const { return table_.size() == 0; }

  // The embedding of `x` (feature ids < num_features(); others are ignored),
  // written to out[0..dim). A zero vector when x has no known feature.
  void encode(const SparseVectorView& x, float* out, EncoderWorkspace& ws) const;
  // Every row of X, one embedding a row. Parallel over rows.
  RowMatrixXf encode_rows(const CsrMatrix& X, int threads = 0) const;

  // Parameters, for the trainer.
  RowMatrixXf& table() { return table_; }
  std::vector<Eigen::MatrixXf>& weights() { return weights_; }
  std::vector<Eigen::VectorXf>& biases() { return biases_; }
  const RowMatrixXf& table() const { return table_; }
  const std::vector<Eigen::MatrixXf>& weights() const { return weights_; }
  const std::vector<Eigen::VectorXf>& biases() const { return biases_; }

  // A self-describing byte string (dimensions, then float arrays), and back.
  // deserialize throws xmr::Error naming `name` on a truncated or inconsistent
  // blob or non-finite values.
  std::string serialize() const;
  static Encoder deserialize(std::string_view bytes, const std::string& name);

 private:
  RowMatrixXf table_;                     // num_features x dim
  std::vector<Eigen::MatrixXf> weights_;  // dim x dim, one per layer
  std::vector<Eigen::VectorXf> biases_;   // dim, one per layer
};

// X with each row's embedding (the row of E), times `weight`, appended as
// features offset .. offset + E.cols() - 1 (offset >= X.cols, so rows stay
// sorted); the result has offset + E.cols() columns. Every embedding entry is
// stored, zero or not.
CsrMatrix append_embedding(const CsrMatrix& X, const RowMatrixXf& E, float weight, size_t offset);

}  // namespace xmr
