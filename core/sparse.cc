#include "core/sparse.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace xmr {

void CsrMatrix::append_row(std::vector<std::pair<Index, float>> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  for (size_t k = 0; k < entries.size();) {
    const Index col = entries[k].first;
    if (col >= cols) {
      throw Error("column " + std::to_string(col) + " out of range (cols = " +
                  std::to_string(cols) + ")");
    }
    float sum = 0.0f;
    for (; k < entries.size() && entries[k].first == col; ++k) sum += entries[k].second;
    if (sum != 0.0f) {
      indices.push_back(col);
      values.push_back(sum);
    }
  }
  indptr.push_back(indices.size());
  ++rows;
}

void CsrMatrix::normalize_rows_l2() {
  for (size_t r = 0; r < rows; ++r) {
    double sq = 0.0;
    for (Offset k = indptr[r]; k < indptr[r + 1]; ++k) sq += double(values[k]) * values[k];
    if (sq <= 0.0) continue;
    const float inv = float(1.0 / std::sqrt(sq));
    for (Offset k = indptr[r]; k < indptr[r + 1]; ++k) values[k] *= inv;
  }
}

CsrMatrix CsrMatrix::transposed() const {
  CsrMatrix t;
  t.rows = cols;
  t.cols = rows;
  t.indptr.assign(cols + 1, 0);
  for (Index c : indices) ++t.indptr[c + 1];
  for (size_t c = 0; c < cols; ++c) t.indptr[c + 1] += t.indptr[c];
  t.indices.resize(nnz());
  t.values.resize(nnz());
  std::vector<Offset> next(t.indptr.begin(), t.indptr.end() - 1);
  // Visiting rows in order keeps each transposed row's indices sorted.
  for (size_t r = 0; r < rows; ++r) {
    for (Offset k = indptr[r]; k < indptr[r + 1]; ++k) {
      const Offset dst = next[indices[k]]++;
      t.indices[dst] = Index(r);
      t.values[dst] = values[k];
    }
  }
  return t;
}

CsrMatrix CsrMatrix::select_rows(const std::vector<Index>& row_ids) const {
  CsrMatrix out;
  out.cols = cols;
  out.rows = row_ids.size();
  out.indptr.reserve(row_ids.size() + 1);
  size_t total = 0;
  for (Index r : row_ids) total += row_nnz(r);
  out.indices.reserve(total);
  out.values.reserve(total);
  for (Index r : row_ids) {
    out.indices.insert(out.indices.end(), indices.begin() + indptr[r], indices.begin() + indptr[r + 1]);
    out.values.insert(out.values.end(), values.begin() + indptr[r], values.begin() + indptr[r + 1]);
    out.indptr.push_back(out.indices.size());
  }
  return out;
}

void CsrMatrix::validate() const {
  if (indptr.size() != rows + 1 || indptr.front() != 0 || indptr.back() != indices.size() ||
      values.size() != indices.size()) {
    throw Error("sparse matrix: inconsistent array sizes");
  }
  for (size_t r = 0; r < rows; ++r) {
    if (indptr[r + 1] < indptr[r]) throw Error("sparse matrix: row pointers decrease at row " + std::to_string(r));
    for (Offset k = indptr[r]; k < indptr[r + 1]; ++k) {
      if (indices[k] >= cols) {
        throw Error("sparse matrix: row " + std::to_string(r) + " has column " +
                    std::to_string(indices[k]) + " >= " + std::to_string(cols));
      }
      if (k > indptr[r] && indices[k] <= indices[k - 1]) {
        throw Error("sparse matrix: row " + std::to_string(r) + " columns not strictly increasing");
      }
    }
  }
}

CsrMatrix hstack(const CsrMatrix& a, const CsrMatrix& b) {
  if (a.rows != b.rows) throw Error("hstack: row counts differ");
  CsrMatrix out;
  out.rows = a.rows;
  out.cols = a.cols + b.cols;
  out.indptr.reserve(a.rows + 1);
  out.indices.reserve(a.nnz() + b.nnz());
  out.values.reserve(a.nnz() + b.nnz());
  for (size_t r = 0; r < a.rows; ++r) {
    out.indices.insert(out.indices.end(), a.indices.begin() + a.indptr[r], a.indices.begin() + a.indptr[r + 1]);
    out.values.insert(out.values.end(), a.values.begin() + a.indptr[r], a.values.begin() + a.indptr[r + 1]);
    for (Offset k = b.indptr[r]; k < b.indptr[r + 1]; ++k) {
      out.indices.push_back(Index(b.indices[k] + a.cols));
      out.values.push_back(b.values[k]);
    }
    out.indptr.push_back(out.indices.size());
  }
  return out;
}

float sparse_dot(const SparseVectorView& a, const SparseVectorView& b) {
  float sum = 0.0f;
  size_t i = 0, j = 0;
  while (i < a.nnz && j < b.nnz) {
    if (a.indices[i] < b.indices[j]) {
      ++i;
    } else if (a.indices[i] > b.indices[j]) {
      ++j;
    } else {
      sum += a.values[i++] * b.values[j++];
    }
  }
  return sum;
}

}  // namespace xmr
