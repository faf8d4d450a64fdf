#include "core/label_embedding.h"

#include <algorithm>
#include <cstdint>

#include "core/error.h"

namespace xmr {

CsrMatrix pifa_embedding(const CsrMatrix& X, const CsrMatrix& Y) {
  if (X.rows != Y.rows) throw Error("pifa: feature and label matrices have different row counts");
  const CsrMatrix Yt = Y.transposed();  // L x N
  const size_t L = Yt.rows;
  // Two passes so that E is allocated once at its final size with no per-label
  // temporaries beside it (they doubled the peak memory while the training
  // matrix, the largest thing alive, is resident): first the columns each
  // label touches, then the sums written in place.
  std::vector<Offset> touched_count(L, 0);
#pragma omp parallel
  {
    std::vector<uint32_t> stamp(X.cols, 0);  // label + 1 that last touched a column
#pragma omp for schedule(dynamic, 16)
    for (size_t l = 0; l < L; ++l) {
      Offset count = 0;
      for (Offset k = Yt.indptr[l]; k < Yt.indptr[l + 1]; ++k) {
        const SparseVectorView x = X.row(Yt.indices[k]);
        for (size_t j = 0; j < x.nnz; ++j) {
          if (stamp[x.indices[j]] != uint32_t(l + 1)) {
            stamp[x.indices[j]] = uint32_t(l + 1);
            ++count;
          }
        }
      }
      touched_count[l] = count;
    }
  }
  CsrMatrix E;
  E.rows = L;
  E.cols = X.cols;
  E.indptr.assign(L + 1, 0);
  for (size_t l = 0; l < L; ++l) E.indptr[l + 1] = E.indptr[l] + touched_count[l];
  E.indices.resize(E.indptr[L]);
  E.values.resize(E.indptr[L]);
  std::vector<Offset> kept(L, 0);  // non-zero sums; fewer than touched only if values cancel
#pragma omp parallel
  {
    // Sums in double, rounded to float once: a distributed run adds each
    // shard's sums (core/distributed_trainer.cc), and the two orders then give
    // the same floats except when a sum lies within double rounding of a
    // float rounding boundary.
    std::vector<double> acc(X.cols, 0.0);
    std::vector<Index> touched;
#pragma omp for schedule(dynamic, 16)
    for (size_t l = 0; l < L; ++l) {
      sum_label_rows(X, Yt.indices.data() + Yt.indptr[l], Yt.indptr[l + 1] - Yt.indptr[l], acc, touched);
      Offset out = E.indptr[l];
      for (Index f : touched) {
        const float sum = float(acc[f]);
        if (sum != 0.0f) {
          E.indices[out] = f;
          E.values[out] = sum;
          ++out;
        }
        acc[f] = 0.0;
      }
      kept[l] = out - E.indptr[l];
    }
  }
  // Close the gaps left by sums that cancelled to zero (only possible with
  // negative feature values).
  Offset write = 0;
  for (size_t l = 0; l < L; ++l) {
    const Offset begin = E.indptr[l];
    for (Offset p = begin; p < begin + kept[l]; ++p, ++write) {
      E.indices[write] = E.indices[p];
      E.values[write] = E.values[p];
    }
    E.indptr[l] = write - kept[l];
  }
  E.indptr[L] = write;
  E.indices.resize(write);
  E.values.resize(write);
  E.normalize_rows_l2();
  return E;
}

void sum_label_rows(const CsrMatrix& X, const Index* rows, size_t n, std::vector<double>& acc,
                    std::vector<Index>& touched) {
  touched.clear();
  for (size_t k = 0; k < n; ++k) {
    const SparseVectorView x = X.row(rows[k]);
    for (size_t j = 0; j < x.nnz; ++j) {
      if (acc[x.indices[j]] == 0.0) touched.push_back(x.indices[j]);
      acc[x.indices[j]] += x.values[j];
    }
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
}

CsrMatrix pii_embedding(const CsrMatrix& Y) {
  CsrMatrix E = Y.transposed();
  std::fill(E.values.begin(), E.values.end(), 1.0f);
  E.normalize_rows_l2();
  return E;
}

CsrMatrix label_embedding(LabelEmbeddingKind kind, const CsrMatrix& X, const CsrMatrix& Y) {
  return kind == LabelEmbeddingKind::kPifa ? pifa_embedding(X, Y) : pii_embedding(Y);
}

CsrMatrix concat_label_features(const CsrMatrix& embedding, const CsrMatrix& label_features) {
  if (embedding.rows != label_features.rows) {
    throw Error("label features have " + std::to_string(label_features.rows) + " rows, expected one per label (" +
                std::to_string(embedding.rows) + ")");
  }
  CsrMatrix a = embedding, b = label_features;
  a.normalize_rows_l2();
  b.normalize_rows_l2();
  CsrMatrix out = hstack(a, b);
  out.normalize_rows_l2();
  return out;
}

}  // namespace xmr
