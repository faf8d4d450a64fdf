#include "core/sparse.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

using testing::dense_to_csr;

TEST(CsrMatrix, AppendRowSortsMergesAndDropsZeros) {
  CsrMatrix m;
  m.cols = 5;
  m.append_row({{3, 1.0f}, {1, 2.0f}, {3, 0.5f}, {4, 0.0f}});
  ASSERT_EQ(m.rows, 1u);
  ASSERT_EQ(m.nnz(), 2u);
  EXPECT_EQ(m.indices[0], 1u);
  EXPECT_EQ(m.indices[1], 3u);
  EXPECT_FLOAT_EQ(m.values[1], 1.5f);
  EXPECT_THROW(m.append_row({{5, 1.0f}}), Error);
}

TEST(CsrMatrix, NormalizeRowsL2LeavesZeroRows) {
  CsrMatrix m = dense_to_csr({{3, 4, 0}, {0, 0, 0}}, 3);
  m.normalize_rows_l2();
  EXPECT_FLOAT_EQ(m.values[0], 0.6f);
  EXPECT_FLOAT_EQ(m.values[1], 0.8f);
  EXPECT_EQ(m.row_nnz(1), 0u);
}

TEST(CsrMatrix, TransposeIsExact) {
  CsrMatrix m = dense_to_csr({{1, 0, 2}, {0, 3, 0}, {4, 0, 5}}, 3);
  CsrMatrix t = m.transposed();
  t.validate();
  CsrMatrix expected = dense_to_csr({{1, 0, 4}, {0, 3, 0}, {2, 0, 5}}, 3);
  EXPECT_EQ(t.indptr, expected.indptr);
  EXPECT_EQ(t.indices, expected.indices);
  EXPECT_EQ(t.values, expected.values);
}

TEST(CsrMatrix, HstackShiftsColumns) {
  CsrMatrix a = dense_to_csr({{1, 0}, {0, 2}}, 2);
  CsrMatrix b = dense_to_csr({{0, 3}, {4, 0}}, 2);
  CsrMatrix c = hstack(a, b);
  EXPECT_EQ(c.cols, 4u);
  EXPECT_EQ(c.indices, (std::vector<Index>{0, 3, 1, 2}));
}

TEST(CsrMatrix, ValidateRejectsUnsortedColumns) {
  CsrMatrix m = dense_to_csr({{1, 2}}, 2);
  std::swap(m.indices[0], m.indices[1]);
  EXPECT_THROW(m.validate(), Error);
}

TEST(SparseDot, MatchesDense) {
  CsrMatrix m = dense_to_csr({{1, 0, 2, 0, 3}, {0, 4, 5, 0, 6}}, 5);
  EXPECT_FLOAT_EQ(sparse_dot(m.row(0), m.row(1)), 2 * 5 + 3 * 6);
}

}  // namespace
}  // namespace xmr
