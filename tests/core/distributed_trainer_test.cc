// The distributed trainer's split (meta-tree on rank 0, sub-trees trained
// alone, levels gathered) on a one-rank group: the model must be the one
// train_model_parts makes, byte for byte. tests/cli/distributed_test.sh runs
// the same over 2 and 3 MPI ranks.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/distributed_trainer.h"
#include "core/error.h"
#include "core/model.h"
#include "tests/core/synthetic.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

std::string model_bytes(const ModelParts& parts, const std::string& path) {
  Model::from_parts(parts).save(path);
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TrainParams tfn_params(int branching, int leaf) {
  TrainParams p;
  p.clustering.branching = branching;
  p.clustering.max_leaf_size = leaf;
  p.negatives = NegativeSampling::kTeacherForced;
  p.seed = 3;
  p.threads = 2;
  return p;
}

class DistributedTrainerTest : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(DistributedTrainerTest, OneRankGivesTheSingleProcessModelByteForByte) {
  const auto d = testing::make_synthetic(3000, 600, 400, 11);
  const TrainParams p = tfn_params(GetParam().first, GetParam().second);
  const ModelParts single = train_model_parts(d.X, d.Y, p);
  LocalCommunicator comm;
  DistributedInputs in;
  in.num_labels = d.Y.cols;
  DistributedStats st;
  const ModelParts dist = train_distributed(d.X, d.Y, p, comm, in, &st);
  EXPECT_GE(st.split_layer, 1u);
  EXPECT_GT(st.subtrees, 0u);
  EXPECT_EQ(st.subtrees_trained, st.subtrees);
  EXPECT_EQ(st.rows_received, d.X.rows);
  ::xmr::testing::TempDir dir;
  const std::string a = model_bytes(single, dir.path() + "/single.xmr"), b = model_bytes(dist, dir.path() + "/dist.xmr");
  EXPECT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b) << "the models differ";
}

// Trees of depth 2 (split above the leaves), 3 and 4 (the split in the middle).
INSTANTIATE_TEST_SUITE_P(Shapes, DistributedTrainerTest,
                         ::testing::Values(std::make_pair(16, 100), std::make_pair(4, 20), std::make_pair(2, 8)));

TEST(DistributedTrainer, RefusesWhatItCannotSplit) {
  const auto d = testing::make_synthetic(200, 50, 100, 1);
  LocalCommunicator comm;
  DistributedInputs in;
  in.num_labels = d.Y.cols;
  TrainParams p = tfn_params(4, 10);
  p.negatives = NegativeSampling::kBoth;
  EXPECT_THROW(train_distributed(d.X, d.Y, p, comm, in), Error);
  p = tfn_params(4, 10);
  p.trees = 2;
  EXPECT_THROW(train_distributed(d.X, d.Y, p, comm, in), Error);
  p = tfn_params(4, 10);
  p.disentangle.max_copies = 2;
  EXPECT_THROW(train_distributed(d.X, d.Y, p, comm, in), Error);
  p = tfn_params(4, 10);
  p.knn.k = 5;
  EXPECT_THROW(train_distributed(d.X, d.Y, p, comm, in), Error);
  p = tfn_params(4, 10);
  in.num_labels = 49;
  EXPECT_THROW(train_distributed(d.X, d.Y, p, comm, in), Error);
}

}  // namespace
}  // namespace xmr
