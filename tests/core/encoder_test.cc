// The deep matcher's encoder and its multi-resolution trainer.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "core/clustering.h"
#include "core/error.h"
#include "core/encoder.h"
#include "core/encoder_trainer.h"
#include "core/label_embedding.h"
#include "synthetic.h"
#include "test_util.h"

namespace xmr {
namespace {

struct Fixture {
  testing::SyntheticData data = testing::make_synthetic(1500, 40, 300, 5);
  LabelTree tree;
  Fixture() {
    ClusteringParams cp;
    cp.branching = 4;
    cp.max_leaf_size = 5;
    tree = build_label_tree(label_embedding(LabelEmbeddingKind::kPifa, data.X, data.Y), cp);
  }
};

EncoderTrainParams small_params(int threads) {
  EncoderTrainParams p;
  p.dim = 16;
  p.epochs = 3;
  p.batch_size = 64;
  p.threads = threads;
  return p;
}

TEST(Encoder, EmbeddingsAreUnitLengthAndIgnoreUnknownFeatures) {
  const Encoder e(50, 8, 1, 3);
  EncoderWorkspace ws;
  std::vector<float> out(8);
  const std::vector<Index> idx = {2, 7, 60};  // 60 is past the table
  const std::vector<float> val = {0.6f, 0.8f, 5.0f};
  e.encode(SparseVectorView{idx.data(), val.data(), 3}, out.data(), ws);
  double sq = 0;
  for (float v : out) sq += double(v) * v;
  EXPECT_NEAR(sq, 1.0, 1e-5);
  std::vector<float> without(8);
  e.encode(SparseVectorView{idx.data(), val.data(), 2}, without.data(), ws);
  EXPECT_EQ(out, without);
  e.encode(SparseVectorView{nullptr, nullptr, 0}, out.data(), ws);
  EXPECT_EQ(out, std::vector<float>(8, 0.0f));
}

TEST(Encoder, SerializesExactlyAndRefusesCorruptBytes) {
  const Encoder e(40, 8, 2, 9);
  const std::string bytes = e.serialize();
  const Encoder back = Encoder::deserialize(bytes, "m.xmr");
  EXPECT_EQ(back.serialize(), bytes);
  EXPECT_EQ(back.layers(), 2);
  auto error = [&](const std::string& b) -> std::string {
    try {
      Encoder::deserialize(b, "m.xmr");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error(bytes.substr(0, bytes.size() - 4)).find("m.xmr: corrupt encoder: size does not match"), std::string::npos);
  EXPECT_NE(error("XMRENC01").find("m.xmr: corrupt encoder: ends early"), std::string::npos);
  std::string bad = bytes;
  bad[0] = 'Y';
  EXPECT_NE(error(bad).find("bad magic"), std::string::npos);
  std::string nan = bytes;
  const float q = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&nan[8 + 24], &q, sizeof q);
  EXPECT_NE(error(nan).find("non-finite"), std::string::npos);
}

TEST(EncoderTrainer, SameSeedSameEncoderWhateverTheThreadCount) {
  const Fixture f;
  const Encoder one = train_encoder(f.data.X, f.data.Y, f.tree, small_params(1));
  const Encoder two = train_encoder(f.data.X, f.data.Y, f.tree, small_params(2));
  EXPECT_EQ(one.serialize(), two.serialize());
  EncoderTrainParams other = small_params(2);
  other.seed = 1;
  EXPECT_NE(train_encoder(f.data.X, f.data.Y, f.tree, other).serialize(), two.serialize());
}

TEST(EncoderTrainer, LearnsEveryLayerAndMoreEpochsLowerTheLoss) {
  const Fixture f;
  ASSERT_GE(f.tree.depth(), 2u);
  EncoderTrainParams p = small_params(2);
  p.epochs = 1;
  EncoderTrainStats short_run, long_run;
  train_encoder(f.data.X, f.data.Y, f.tree, p, {}, &short_run);
  p.epochs = 8;
  const Encoder enc = train_encoder(f.data.X, f.data.Y, f.tree, p, {}, &long_run);
  ASSERT_EQ(long_run.final_loss.size(), f.tree.depth());  // every layer down to the labels
  for (size_t t = 0; t < long_run.final_loss.size(); ++t) EXPECT_LT(long_run.final_loss[t], short_run.final_loss[t]);
  // Instances sharing their first label end up closer than instances that share none.
  const RowMatrixXf E = enc.encode_rows(f.data.X, 2);
  double same = 0, other = 0;
  size_t n_same = 0, n_other = 0;
  for (size_t i = 0; i < 300; ++i) {
    for (size_t j = i + 1; j < 300; ++j) {
      const SparseVectorView a = f.data.Y.row(i), b = f.data.Y.row(j);
      bool share = false;
      for (size_t x = 0; x < a.nnz; ++x) {
        for (size_t y = 0; y < b.nnz; ++y) share |= a.indices[x] == b.indices[y];
      }
      const double cos = E.row(Eigen::Index(i)).dot(E.row(Eigen::Index(j)));
      (share ? same : other) += cos;
      ++(share ? n_same : n_other);
    }
  }
  ASSERT_GT(n_same, 0u);
  EXPECT_GT(same / double(n_same), other / double(n_other) + 0.2);
}

TEST(EncoderTrainer, FeaturesTheRowsNeverHoldEmbedToZero) {
  // Out-of-fold encoders meet features only the held-out rows have; those
  // must add nothing, not their random start.
  const Fixture f;
  CsrMatrix X = f.data.X;
  X.cols += 5;  // columns 300..304: in no row
  const Encoder enc = train_encoder(X, f.data.Y, f.tree, small_params(2));
  std::vector<char> held(X.cols, 0);
  for (Index j : X.indices) held[j] = 1;
  for (size_t j = 0; j < X.cols; ++j) {
    EXPECT_EQ(enc.table().row(Eigen::Index(j)).isZero(0), !held[j]) << "feature " << j;
  }
  const SparseVectorView row = X.row(0);
  std::vector<Index> idx(row.indices, row.indices + row.nnz);
  std::vector<float> val(row.values, row.values + row.nnz);
  std::vector<float> alone(size_t(enc.dim())), with_unseen(alone.size());
  EncoderWorkspace ws;
  enc.encode(SparseVectorView{idx.data(), val.data(), idx.size()}, alone.data(), ws);
  idx.push_back(301);
  val.push_back(0.9f);
  enc.encode(SparseVectorView{idx.data(), val.data(), idx.size()}, with_unseen.data(), ws);
  EXPECT_EQ(alone, with_unseen);
}

}  // namespace
}  // namespace xmr
