#include "core/encoder.h"

#include <omp.h>

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"
#include "core/row_kernels.h"

namespace xmr {

namespace {

// Uniform in [-scale, scale] from a counter: the same on every platform
// (std:: distributions are not).
float uniform(uint64_t seed, uint64_t i, float scale) {
  const uint64_t r = splitmix64(seed ^ splitmix64(i));
  return scale * (float(double(r >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f);
}

constexpr char kMagic[8] = {'X', 'M', 'R', 'E', 'N', 'C', '0', '1'};

}  // namespace

Encoder::Encoder(size_t num_features, int dim, int layers, uint64_t seed) {
  if (dim < 1 || dim > 4096) throw Error("encoder dimension must be in 1..4096, got " + std::to_string(dim));
  if (layers < 0 || layers > 8) throw Error("encoder layers must be in 0..8, got " + std::to_string(layers));
  if (num_features == 0) throw Error("encoder needs at least one input feature");
  table_.resize(Eigen::Index(num_features), dim);
  const uint64_t table_seed = mix_seed({seed, 1});
  for (Eigen::Index i = 0; i < table_.size(); ++i) table_.data()[i] = uniform(table_seed, uint64_t(i), 0.1f);
  const float w_scale = std::sqrt(3.0f / float(dim)) * 0.5f;
  for (int l = 0; l < layers; ++l) {
    Eigen::MatrixXf w(dim, dim);
    const uint64_t s = mix_seed({seed, 2, uint64_t(l)});
    for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = uniform(s, uint64_t(i), w_scale);
    weights_.push_back(std::move(w));
    biases_.push_back(Eigen::VectorXf::Zero(dim));
  }
}

void Encoder::encode(const SparseVectorView& x, float* out, EncoderWorkspace& ws) const {
  const Eigen::Index d = table_.cols();
  const size_t L = weights_.size();
  ws.inputs.resize(L + 1);
  ws.pre.resize(L);
  Eigen::VectorXf& h = ws.inputs[0];
  h.setZero(d);
  // The rows are scattered over a table of features x d floats (49 MB on
  // reuters; 139 MB before --min-df auto, when this was measured): ask for the
  // row 16 features ahead while adding this one
  // (reuters' deep matcher, `xmr eval --threads 1`, median of 5: 0.177 s
  // without, 0.146 / 0.141 / 0.138 s 4 / 8 / 16 ahead; same embeddings).
  constexpr size_t kAhead = 16;
  const size_t rows = size_t(table_.rows()), row_bytes = size_t(d) * sizeof(float);
  for (size_t k = 0; k < x.nnz; ++k) {
    if (k + kAhead < x.nnz && x.indices[k + kAhead] < rows) {
      const char* ahead = reinterpret_cast<const char*>(table_.row(x.indices[k + kAhead]).data());
      for (size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(ahead + b);
    }
    if (x.indices[k] < rows) add_scaled(h.data(), table_.row(x.indices[k]).data(), x.values[k], size_t(d));
  }
  for (size_t l = 0; l < L; ++l) {
    ws.pre[l].noalias() = weights_[l] * ws.inputs[l];
    ws.pre[l] += biases_[l];
    ws.inputs[l + 1] = ws.inputs[l] + ws.pre[l].cwiseMax(0.0f);
  }
  ws.out = ws.inputs[L];
  const float norm = ws.out.norm();
  Eigen::Map<Eigen::VectorXf> o(out, d);
  if (norm > 0) {
    o = ws.out / norm;
  } else {
    o.setZero();
  }
}

RowMatrixXf Encoder::encode_rows(const CsrMatrix& X, int threads) const {
  RowMatrixXf out(Eigen::Index(X.rows), table_.cols());
  const int nt = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel num_threads(nt)
  {
    EncoderWorkspace ws;
#pragma omp for schedule(static)
    for (size_t i = 0; i < X.rows; ++i) encode(X.row(i), out.row(Eigen::Index(i)).data(), ws);
  }
  return out;
}

CsrMatrix append_embedding(const CsrMatrix& X, const RowMatrixXf& E, float weight, size_t offset) {
  if (size_t(E.rows()) != X.rows) throw Error("append_embedding: " + std::to_string(E.rows()) + " embeddings for " + std::to_string(X.rows) + " rows");
  if (offset < X.cols) throw Error("append_embedding: the embedding would overlap the features");
  const size_t d = size_t(E.cols());
  CsrMatrix out;
  out.rows = X.rows;
  out.cols = offset + d;
  out.indptr.resize(X.rows + 1);
  out.indices.resize(X.nnz() + X.rows * d);
  out.values.resize(out.indices.size());
  out.indptr[0] = 0;
  for (size_t i = 0; i < X.rows; ++i) {
    const SparseVectorView r = X.row(i);
    size_t at = out.indptr[i];
    std::copy(r.indices, r.indices + r.nnz, out.indices.begin() + std::ptrdiff_t(at));
    std::copy(r.values, r.values + r.nnz, out.values.begin() + std::ptrdiff_t(at));
    at += r.nnz;
    for (size_t j = 0; j < d; ++j, ++at) {
      out.indices[at] = Index(offset + j);
      out.values[at] = weight * E(Eigen::Index(i), Eigen::Index(j));
    }
    out.indptr[i + 1] = at;
  }
  return out;
}

std::string Encoder::serialize() const {
  std::string out(kMagic, sizeof kMagic);
  auto put = [&](uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  auto put_floats = [&](const float* p, size_t n) { out.append(reinterpret_cast<const char*>(p), n * sizeof(float)); };
  put(uint64_t(table_.rows()));
  put(uint64_t(table_.cols()));
  put(uint64_t(weights_.size()));
  put_floats(table_.data(), size_t(table_.size()));
  for (size_t l = 0; l < weights_.size(); ++l) {
    put_floats(weights_[l].data(), size_t(weights_[l].size()));
    put_floats(biases_[l].data(), size_t(biases_[l].size()));
  }
  return out;
}

Encoder Encoder::deserialize(std::string_view bytes, const std::string& name) {
  size_t pos = 0;
  auto fail = [&](const std::string& what) { return Error(name + ": corrupt encoder: " + what); };
  auto take = [&](void* dst, size_t n) {
    if (n > bytes.size() - pos) throw fail("ends early");
    if (n > 0) std::memcpy(dst, bytes.data() + pos, n);
    pos += n;
  };
  char magic[8];
  take(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, sizeof magic) != 0) throw fail("bad magic");
  uint64_t rows = 0, dim = 0, layers = 0;
  take(&rows, 8);
  take(&dim, 8);
  take(&layers, 8);
  if (rows == 0 || dim == 0 || dim > 4096 || layers > 8) throw fail("bad dimensions");
  const size_t floats = size_t(rows) * dim + layers * (dim * dim + dim);
  if (rows > bytes.size() / sizeof(float) || floats * sizeof(float) != bytes.size() - pos) throw fail("size does not match its dimensions");
  Encoder e;
  e.table_.resize(Eigen::Index(rows), Eigen::Index(dim));
  take(e.table_.data(), size_t(e.table_.size()) * sizeof(float));
  for (uint64_t l = 0; l < layers; ++l) {
    Eigen::MatrixXf w(dim, dim);
    Eigen::VectorXf b(dim);
    take(w.data(), size_t(w.size()) * sizeof(float));
    take(b.data(), size_t(b.size()) * sizeof(float));
    e.weights_.push_back(std::move(w));
    e.biases_.push_back(std::move(b));
  }
  auto finite = [](const float* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(p[i])) return false;
    }
    return true;
  };
  bool ok = finite(e.table_.data(), size_t(e.table_.size()));
  for (size_t l = 0; ok && l < e.weights_.size(); ++l) {
    ok = finite(e.weights_[l].data(), size_t(e.weights_[l].size())) && finite(e.biases_[l].data(), size_t(dim));
  }
  if (!ok) throw fail("non-finite weights");
  return e;
}

}  // namespace xmr
