#include "core/label_embedding.h"

#include <algorithm>

#include "core/error.h"

namespace xmr {

CsrMatrix pifa_embedding(const CsrMatrix& X, const CsrMatrix& Y) {
  if (X.rows != Y.rows) throw Error("pifa: feature and label matrices have different row counts");
  const CsrMatrix Yt = Y.transposed();  // L x N
  const size_t L = Yt.rows;
  std::vector<std::vector<Index>> row_idx(L);
  std::vector<std::vector<float>> row_val(L);
#pragma omp parallel
  {
    std::vector<float> acc(X.cols, 0.0f);
    std::vector<Index> touched;
#pragma omp for schedule(dynamic, 16)
    for (size_t l = 0; l < L; ++l) {
      touched.clear();
      for (Offset k = Yt.indptr[l]; k < Yt.indptr[l + 1]; ++k) {
        const SparseVectorView x = X.row(Yt.indices[k]);
        for (size_t j = 0; j < x.nnz; ++j) {
          if (acc[x.indices[j]] == 0.0f) touched.push_back(x.indices[j]);
          acc[x.indices[j]] += x.values[j];
        }
      }
      std::sort(touched.begin(), touched.end());
      touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
      for (Index f : touched) {
        if (acc[f] != 0.0f) {
          row_idx[l].push_back(f);
          row_val[l].push_back(acc[f]);
        }
        acc[f] = 0.0f;
      }
    }
  }
  CsrMatrix E;
  E.rows = L;
  E.cols = X.cols;
  E.indptr.reserve(L + 1);
  for (size_t l = 0; l < L; ++l) {
    E.indices.insert(E.indices.end(), row_idx[l].begin(), row_idx[l].end());
    E.values.insert(E.values.end(), row_val[l].begin(), row_val[l].end());
    E.indptr.push_back(E.indices.size());
  }
  E.normalize_rows_l2();
  return E;
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
