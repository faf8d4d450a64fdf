// Sparse float32 matrices in compressed sparse row (CSR) form.
//
// A CsrMatrix owns its arrays. Within a row, column indices are strictly
// increasing (every constructor and reader guarantees it), which the
// inference code relies on for merge-joins. Row i's entries are
// indices[indptr[i] .. indptr[i+1]) and the matching values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace xmr {

using std::size_t;
using Index = uint32_t;    // a row, column, feature or label id
using Offset = uint64_t;   // a position in a matrix's entry arrays

// A read-only view of one sparse vector with sorted, unique indices.
struct SparseVectorView {
  const Index* indices = nullptr;
  const float* values = nullptr;
  size_t nnz = 0;
};

struct CsrMatrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<Offset> indptr{0};  // rows + 1 entries
  std::vector<Index> indices;
  std::vector<float> values;

  size_t nnz() const { return indices.size(); }
  size_t row_nnz(size_t r) const { return indptr[r + 1] - indptr[r]; }
  SparseVectorView row(size_t r) const {
    return {indices.data() + indptr[r], values.data() + indptr[r], row_nnz(r)};
  }

  // Appends a row; `entries` are (column, value) pairs in any order. Duplicate
  // columns are summed and explicit zeros kept out. Throws xmr::Error if a
  // column is >= cols.
  void append_row(std::vector<std::pair<Index, float>> entries);

  // Scales each row to unit L2 norm; all-zero rows stay zero.
  void normalize_rows_l2();

  // The transpose (cols x rows), still CSR: i.e. this matrix in CSC form.
  CsrMatrix transposed() const;

  // Rows `row_ids` (in that order) as a new matrix with the same cols.
  CsrMatrix select_rows(const std::vector<Index>& row_ids) const;

  // Throws xmr::Error unless the arrays are consistent: indptr monotone and
  // ending at nnz, indices < cols and strictly increasing within each row.
  void validate() const;
};

// Horizontal concatenation [a, b] (same rows); b's columns are shifted by a.cols.
CsrMatrix hstack(const CsrMatrix& a, const CsrMatrix& b);

// Dot product of two sorted sparse vectors.
float sparse_dot(const SparseVectorView& a, const SparseVectorView& b);

}  // namespace xmr
