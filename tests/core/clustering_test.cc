#include "core/clustering.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "core/error.h"
#include "core/label_embedding.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

// n random sparse unit rows in `groups` well separated directions.
CsrMatrix clustered_rows(size_t n, size_t groups, size_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  CsrMatrix m;
  m.cols = dim;
  for (size_t i = 0; i < n; ++i) {
    const size_t g = i % groups;
    std::vector<std::pair<Index, float>> e;
    for (size_t j = 0; j < dim; ++j) {
      const float base = (j % groups == g) ? 1.0f : 0.0f;
      const float v = base + noise(rng);
      if (v > 0.1f) e.emplace_back(Index(j), v);
    }
    m.append_row(e);
  }
  m.normalize_rows_l2();
  return m;
}

TEST(BalancedKmeans, SplitIsBalancedForAnyK) {
  const CsrMatrix E = clustered_rows(103, 4, 40, 1);
  std::vector<Index> items(E.rows);
  std::iota(items.begin(), items.end(), 0);
  for (int k : {2, 3, 4, 7, 16}) {
    const auto assign = balanced_spherical_kmeans(E, items, k, 10, 42);
    std::vector<size_t> size(k, 0);
    for (Index a : assign) ++size[a];
    const auto [lo, hi] = std::minmax_element(size.begin(), size.end());
    EXPECT_LE(*hi - *lo, 1u) << "k=" << k;
    EXPECT_EQ(std::accumulate(size.begin(), size.end(), size_t(0)), E.rows);
  }
}

TEST(BalancedKmeans, RecoversSeparatedGroups) {
  // 4 groups of equal size: a balanced 4-way split must find them exactly.
  const CsrMatrix E = clustered_rows(80, 4, 40, 2);
  std::vector<Index> items(E.rows);
  std::iota(items.begin(), items.end(), 0);
  const auto assign = balanced_spherical_kmeans(E, items, 4, 20, 7);
  std::map<size_t, std::set<Index>> clusters_of_group;
  for (size_t i = 0; i < items.size(); ++i) clusters_of_group[i % 4].insert(assign[i]);
  for (const auto& [g, cs] : clusters_of_group) EXPECT_EQ(cs.size(), 1u) << "group " << g << " was split";
}

TEST(BalancedKmeans, DeterministicForSeed) {
  const CsrMatrix E = clustered_rows(200, 5, 30, 3);
  std::vector<Index> items(E.rows);
  std::iota(items.begin(), items.end(), 0);
  EXPECT_EQ(balanced_spherical_kmeans(E, items, 8, 10, 5), balanced_spherical_kmeans(E, items, 8, 10, 5));
}

TEST(LabelTree, LevelBranchingFollowsPowerOfTwoLeaves) {
  ClusteringParams p;  // B = 16, leaf 100
  EXPECT_EQ(level_branching(159, p), (std::vector<int>{2}));
  EXPECT_EQ(level_branching(983, p), (std::vector<int>{16}));
  EXPECT_EQ(level_branching(2000, p), (std::vector<int>{2, 16}));
  EXPECT_EQ(level_branching(50, p), (std::vector<int>{2}));
  p.branching = 2;
  EXPECT_EQ(level_branching(983, p), (std::vector<int>{2, 2, 2, 2}));
}

TEST(LabelTree, BuildIsValidBalancedAndDeterministic) {
  const CsrMatrix E = clustered_rows(1000, 10, 50, 4);
  ClusteringParams p;
  p.branching = 4;
  p.max_leaf_size = 20;
  const LabelTree a = build_label_tree(E, p);
  const LabelTree b = build_label_tree(E, p);
  EXPECT_EQ(a.child_ptr, b.child_ptr);
  EXPECT_EQ(a.slot_label, b.slot_label);
  // 1000 / 20 = 50 -> 64 leaves: 4 * 4 * 4 levels.
  ASSERT_EQ(a.depth(), 4u);
  EXPECT_EQ(a.num_nodes(3), 64u);
  const auto& leaves = a.child_ptr.back();
  for (size_t j = 0; j + 1 < leaves.size(); ++j) {
    const size_t size = leaves[j + 1] - leaves[j];
    EXPECT_GE(size, 15u);
    EXPECT_LE(size, 16u);
  }
  std::vector<Index> sorted = a.slot_label;
  std::sort(sorted.begin(), sorted.end());
  for (size_t l = 0; l < sorted.size(); ++l) EXPECT_EQ(sorted[l], l);
  p.seed = 1;
  EXPECT_NE(build_label_tree(E, p).slot_label, a.slot_label);
}

TEST(LabelTree, ParamsAreValidated) {
  const CsrMatrix E = clustered_rows(10, 2, 5, 5);
  ClusteringParams p;
  p.branching = 1;
  EXPECT_THROW(build_label_tree(E, p), Error);
  p.branching = 257;
  EXPECT_THROW(build_label_tree(E, p), Error);
  p.branching = 2;
  p.max_leaf_size = 0;
  EXPECT_THROW(build_label_tree(E, p), Error);
}

TEST(LabelTree, ValidateCatchesMissingLabel) {
  LabelTree t;
  t.num_labels = 3;
  t.child_ptr = {{0, 2}};
  t.slot_label = {0, 1};
  EXPECT_THROW(t.validate(), Error);
}

TEST(LabelTree, UserLeavesGetAnUpperTree) {
  const CsrMatrix E = clustered_rows(60, 3, 12, 6);
  std::vector<std::vector<Index>> leaves(20);
  for (Index l = 0; l < 60; ++l) leaves[l % 20].push_back(l);
  ClusteringParams p;
  p.branching = 4;
  const LabelTree t = build_tree_over_leaves(E, leaves, p);
  EXPECT_EQ(t.num_nodes(t.depth() - 1), 20u);  // the user's leaves, intact
  EXPECT_EQ(t.slot_label.size(), 60u);
  EXPECT_EQ(t.child_ptr.back().size(), 21u);
  for (size_t j = 0; j < 20; ++j) EXPECT_EQ(t.child_ptr.back()[j + 1] - t.child_ptr.back()[j], 3u);
}

TEST(LabelTree, LeafFileErrorsNameLine) {
  testing::TempDir dir;
  testing::write_text(dir.file("leaves.txt"), "# comment\n0 1\n2 x\n");
  try {
    read_leaf_clusters(dir.file("leaves.txt"), 3);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("leaves.txt:3: 'x' is not a label id"), std::string::npos) << e.what();
  }
  testing::write_text(dir.file("leaves2.txt"), "0 1\n7\n");
  EXPECT_THROW(read_leaf_clusters(dir.file("leaves2.txt"), 3), Error);
}

TEST(LabelEmbedding, PifaIsNormalisedSumOfInstances) {
  const CsrMatrix X = testing::dense_to_csr({{1, 0, 0}, {0, 1, 0}, {0, 0, 2}}, 3);
  const CsrMatrix Y = testing::labels_to_csr({{0}, {0, 1}, {}}, 3);
  const CsrMatrix E = pifa_embedding(X, Y);
  ASSERT_EQ(E.rows, 3u);
  EXPECT_EQ(E.row_nnz(0), 2u);
  EXPECT_NEAR(E.values[0], 1 / std::sqrt(2.0f), 1e-6);
  EXPECT_EQ(E.row_nnz(1), 1u);
  EXPECT_EQ(E.row_nnz(2), 0u);  // label 2 has no instance
  const CsrMatrix P = pii_embedding(Y);
  EXPECT_EQ(P.cols, 3u);
  EXPECT_EQ(P.row_nnz(0), 2u);
}

// Sums that cancel (negative XC feature values) leave no stored zero, and the
// rows after such a label keep their own entries.
TEST(LabelEmbedding, PifaDropsSumsThatCancel) {
  const CsrMatrix X = testing::dense_to_csr({{1, 2, 0}, {-1, 0, 3}, {0, 1, 1}}, 3);
  const CsrMatrix Y = testing::labels_to_csr({{0}, {0, 1}, {1}}, 2);
  const CsrMatrix E = pifa_embedding(X, Y);
  E.validate();
  ASSERT_EQ(E.rows, 2u);
  ASSERT_EQ(E.row_nnz(0), 2u);  // feature 0 cancels: 1 + (-1)
  EXPECT_EQ(E.row(0).indices[0], 1u);
  EXPECT_EQ(E.row(0).indices[1], 2u);
  EXPECT_NEAR(E.row(0).values[0], 2 / std::sqrt(13.0f), 1e-6);
  ASSERT_EQ(E.row_nnz(1), 3u);  // -1, 1, 4
  EXPECT_EQ(E.row(1).indices[0], 0u);
  EXPECT_NEAR(E.row(1).values[2], 4 / std::sqrt(18.0f), 1e-6);
}

}  // namespace
}  // namespace xmr
