#include "core/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

TEST(Metrics, HandComputedPrecisionRecallNdcg) {
  // Instance 0: truth {1, 3}; ranked 3, 2, 1.  Instance 1: truth {0}; ranked 2, 0.
  const CsrMatrix truth = testing::labels_to_csr({{1, 3}, {0}}, 4);
  const std::vector<std::vector<ScoredLabel>> pred = {{{3, .9f}, {2, .5f}, {1, .4f}}, {{2, .8f}, {0, .7f}}};
  const RankingMetrics m = evaluate_ranking(pred, truth, 3);
  EXPECT_DOUBLE_EQ(m.precision[0], (1.0 + 0.0) / 2);
  EXPECT_DOUBLE_EQ(m.precision[2], (2.0 / 3 + 1.0 / 3) / 2);
  EXPECT_DOUBLE_EQ(m.recall[0], (0.5 + 0.0) / 2);
  EXPECT_DOUBLE_EQ(m.recall[1], (0.5 + 1.0) / 2);
  const double d2 = 1 / std::log2(3.0), d3 = 0.5;
  const double ndcg3_0 = (1 + d3) / (1 + d2);
  const double ndcg3_1 = d2 / 1.0;
  EXPECT_NEAR(m.ndcg[2], (ndcg3_0 + ndcg3_1) / 2, 1e-12);
  EXPECT_NEAR(m.ndcg[0], 0.5, 1e-12);
}

TEST(Metrics, PercentileIsTheNearestRank) {
  const std::vector<double> v{5, 1, 4, 2, 3, 10, 9, 8, 7, 6};  // 1..10, shuffled
  EXPECT_EQ(percentile(v, 0.0), 1);
  EXPECT_EQ(percentile(v, 0.5), 6);   // rank 5 of 0..9
  EXPECT_EQ(percentile(v, 0.99), 10);
  EXPECT_EQ(percentile(v, 1.0), 10);  // clamped to the last
  EXPECT_EQ(percentile({}, 0.5), 0);
}

TEST(Metrics, InstancesWithoutLabelsCountAsZero) {
  const CsrMatrix truth = testing::labels_to_csr({{0}, {}}, 2);
  const RankingMetrics m = evaluate_ranking({{{0, 1}}, {{1, 1}}}, truth, 1);
  EXPECT_DOUBLE_EQ(m.precision[0], 0.5);
  EXPECT_THROW(evaluate_ranking({{}}, truth, 1), Error);
  EXPECT_THROW(evaluate_ranking({{}, {}}, truth, 0), Error);
}

}  // namespace
}  // namespace xmr
