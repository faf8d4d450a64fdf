// The deep matcher in a model (core/deep_matcher.h, ModelParts::encoder):
// training is reproducible, the file round trip keeps every score, serving
// appends the embedding inside Model, and a bad encoder section is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>

#include "core/deep_matcher.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/model.h"
#include "core/trainer.h"
#include "tests/core/synthetic.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

TrainParams deep_params(int threads, int folds) {
  TrainParams p;
  p.clustering.branching = 4;
  p.clustering.max_leaf_size = 10;
  p.threads = threads;
  p.deep.enabled = true;
  p.deep.encoder.dim = 8;
  p.deep.encoder.epochs = 2;
  p.deep.encoder.batch_size = 64;
  p.deep.weight = 0.5f;
  p.deep.folds = folds;
  return p;
}

// A section's bytes ("" when absent).
std::string read_section_bytes(const Model& m, const std::string& name) {
  const auto* s = m.user_section(name);  // finds any section by name
  return s ? std::string(reinterpret_cast<const char*>(s->data), s->size) : "";
}

uint32_t format_version_of(const std::string& bytes) {
  uint32_t v = 0;
  std::memcpy(&v, bytes.data() + 8, sizeof v);
  return v;
}

using testing::error_of;

class DeepMatcher : public ::testing::Test {
 protected:
  void SetUp() override { data_ = testing::make_synthetic(500, 40, 60, 7); }
  testing::SyntheticData data_;
  testing::TempDir dir_;
};

// Whatever the thread count, and whether the encoders train side by side
// (the default budget, on data this small) or one after another (budget 0).
TEST_F(DeepMatcher, SameSeedSameModelWhateverTheThreadCount) {
  for (int folds : {0, 2, 3}) {
    const Model a = Model::from_parts(train_model_parts(data_.X, data_.Y, deep_params(1, folds)));
    ASSERT_NE(a.encoder(), nullptr);
    EXPECT_EQ(a.num_features(), data_.X.cols);
    const PredictParams pp = a.default_predict_params();
    const auto expected = a.predict_batch(data_.X, pp, 1);
    for (int threads : {2, 3}) {
      for (size_t budget : {size_t(0), DeepMatcherParams{}.side_by_side_bytes}) {
        TrainParams p = deep_params(threads, folds);
        p.deep.side_by_side_bytes = budget;
        const Model b = Model::from_parts(train_model_parts(data_.X, data_.Y, p));
        const std::string where = "folds " + std::to_string(folds) + " threads " + std::to_string(threads) +
                                  " side-by-side budget " + std::to_string(budget);
        EXPECT_EQ(read_section_bytes(a, "encoder/weights"), read_section_bytes(b, "encoder/weights")) << where;
        EXPECT_EQ(expected, b.predict_batch(data_.X, pp, 2)) << where;
      }
    }
  }
  // Another seed gives another encoder.
  TrainParams other = deep_params(2, 0);
  other.seed = 1;
  EXPECT_NE(read_section_bytes(Model::from_parts(train_model_parts(data_.X, data_.Y, other)), "encoder/weights"),
            read_section_bytes(Model::from_parts(train_model_parts(data_.X, data_.Y, deep_params(2, 0))), "encoder/weights"));
}

TEST(DeepMatcherLanes, AsManyAsThreadsAndJobsWhileTheExtraOnesFitTheBudget) {
  EXPECT_EQ(encoder_lanes(2, 4, 100, 1000), 2);
  EXPECT_EQ(encoder_lanes(8, 4, 100, 1000), 4);
  EXPECT_EQ(encoder_lanes(8, 4, 400, 1000), 3);  // two extra: 800 bytes
  EXPECT_EQ(encoder_lanes(8, 4, 600, 1000), 2);
  EXPECT_EQ(encoder_lanes(8, 4, 2000, 1000), 1);
  EXPECT_EQ(encoder_lanes(1, 4, 1, 1000), 1);
  EXPECT_EQ(encoder_lanes(0, 4, 1, 1000), 1);
  EXPECT_EQ(encoder_lanes(4, 1, 1, 1000), 1);
  // Table and head with two moments each, plus the rows.
  EncoderTrainParams p;
  p.dim = 64;
  p.layers = 0;
  EXPECT_EQ(encoder_training_bytes(10, 100, 1000, 200, p), 4 * 3 * 64 * 1200 + 100 * 8 + 10 * sizeof(Offset));
}

// Encoders trained side by side report one step, their rows done of all;
// an error thrown from it (in whichever lane reports) reaches the caller
// after the other lanes stop.
TEST_F(DeepMatcher, EncodersSideBySideReportOneStepAndPassErrorsOn) {
  TrainInputs inputs;
  size_t last_total = 0, calls = 0;
  std::mutex mutex;
  inputs.progress = [&](const std::string& step, size_t done, size_t total) {
    if (step.rfind("encoders", 0) != 0) return;
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(step, "encoders (2 side by side)");
    EXPECT_LE(done, total);
    last_total = total;
    ++calls;
    if (done * 2 > total) throw Error("stopped in " + step + " at " + std::to_string(done));
  };
  const std::string what = error_of([&] { train_model_parts(data_.X, data_.Y, deep_params(2, 3), inputs); });
  EXPECT_NE(what.find("stopped in encoders (2 side by side) at "), std::string::npos) << what;
  EXPECT_GT(calls, 1u);
  // Rows of the full encoder and the three fold encoders (each row in two of
  // their training sets), times layers and epochs.
  const size_t fold_rows = data_.X.rows * (3 - 1);
  const TrainParams p = deep_params(2, 3);
  const size_t depth = training_tree(data_.X, data_.Y, p, {}).depth();
  EXPECT_EQ(last_total, (data_.X.rows + fold_rows) * depth * size_t(p.deep.encoder.epochs));
}

TEST_F(DeepMatcher, SavesLoadsAndScoresIdenticallyWithTheEmbeddingAppended) {
  const ModelParts parts = train_model_parts(data_.X, data_.Y, deep_params(2, 0));
  // The trees read the features and the embedding after them.
  size_t max_feature = 0;
  for (Index f : parts.layers.back().feat_ids) max_feature = std::max<size_t>(max_feature, f);
  EXPECT_GE(max_feature, data_.X.cols);
  EXPECT_LT(max_feature, data_.X.cols + 8);
  const std::string path = dir_.file("deep.xmr");
  Model::from_parts(parts).save(path);
  const Model m = Model::load(path);
  const Model in_memory = Model::from_parts(parts);
  ASSERT_NE(m.encoder(), nullptr);
  EXPECT_EQ(m.encoder()->dim(), 8);
  EXPECT_FLOAT_EQ(m.encoder_weight(), 0.5f);
  EXPECT_EQ(format_version_of(read_file_bytes(path)), 4u);
  PredictParams pp = m.default_predict_params();
  pp.top_k = 5;
  const auto batch = m.predict_batch(data_.X, pp, 2);
  EXPECT_EQ(batch, in_memory.predict_batch(data_.X, pp, 1));
  EXPECT_EQ(batch, m.predict_batch(data_.X, pp, 1, Model::BatchOrder::kByChunk));
  // One query at a time: the same labels and scores, and score_labels gives
  // each listed label its listed score.
  InferenceWorkspace ws;
  std::vector<ScoredLabel> one;
  for (size_t i = 0; i < data_.X.rows; i += 7) {
    m.predict(data_.X.row(i), pp, ws, one);
    ASSERT_EQ(one, batch[i]) << "row " << i;
    std::vector<Index> labels;
    for (const ScoredLabel& s : one) labels.push_back(s.label);
    std::vector<float> scores(labels.size());
    m.score_labels(data_.X.row(i), labels.data(), labels.size(), pp, ws, scores.data());
    for (size_t k = 0; k < labels.size(); ++k) EXPECT_NEAR(scores[k], one[k].score, 1e-6f) << "row " << i;
  }
  // The embedding matters: the same trees without it rank differently.
  const RowMatrixXf zero = RowMatrixXf::Zero(Eigen::Index(data_.X.rows), 8);
  ModelParts without = parts;
  without.encoder.reset();
  without.num_features = data_.X.cols + 8;
  const Model trees_only = Model::from_parts(without);
  EXPECT_NE(trees_only.predict_batch(append_embedding(data_.X, zero, 1.0f, data_.X.cols), pp, 1), batch);
}

TEST_F(DeepMatcher, CorruptTruncatedOrMismatchedEncoderIsRefusedNamingTheFile) {
  const ModelParts parts = train_model_parts(data_.X, data_.Y, deep_params(2, 0));
  Model::from_parts(parts).save(dir_.file("good.xmr"));
  const std::string bytes = read_file_bytes(dir_.file("good.xmr"));
  const ModelFileReader r = ModelFileReader::open(ModelBlob::copy_of(bytes), "t", true);
  const auto* s = r.find("encoder/weights");
  ASSERT_NE(s, nullptr);
  const size_t offset = size_t(s->data - r.blob->data());
  // A flipped byte: the checksum.
  std::string flipped = bytes;
  flipped[offset + 40] ^= 0x40;
  testing::write_text(dir_.file("flipped.xmr"), flipped);
  EXPECT_NE(error_of([&] { Model::load(dir_.file("flipped.xmr")); })
                .find("flipped.xmr: corrupt model: checksum mismatch in section 'encoder/weights'"),
            std::string::npos);
  // Without checksums, the encoder's own checks: a NaN weight.
  std::string nan = bytes;
  const float q = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&nan[offset + 8 + 3 * 8], &q, sizeof q);
  LoadOptions fast;
  fast.verify_checksums = false;
  EXPECT_NE(error_of([&] { Model::from_bytes(nan, "nan.xmr", fast); }).find("nan.xmr: corrupt encoder: non-finite weights"),
            std::string::npos)
      << error_of([&] { Model::from_bytes(nan, "nan.xmr", fast); });
  // A wrong magic.
  std::string magic = bytes;
  magic[offset] = 'Y';
  EXPECT_NE(error_of([&] { Model::from_bytes(magic, "magic.xmr", fast); }).find("magic.xmr: corrupt encoder: bad magic"),
            std::string::npos);
  // A truncated file.
  testing::write_text(dir_.file("truncated.xmr"), bytes.substr(0, offset + 100));
  EXPECT_NE(error_of([&] { Model::load(dir_.file("truncated.xmr")); }).find("truncated.xmr"), std::string::npos);
  // An encoder over another feature count than the model's.
  ModelParts wrong = parts;
  wrong.encoder = std::make_shared<const Encoder>(data_.X.cols + 1, 8, 0, 1);
  EXPECT_NE(error_of([&] { Model::from_parts(wrong); }).find("the encoder reads"), std::string::npos);
}

// One training row: every fold encoder would train on nothing, so the row
// keeps the full encoder's embedding, as without folds (it was left
// uninitialised, and such a model failed to train or trained on garbage).
TEST_F(DeepMatcher, ATrainingSetTooSmallForFoldsKeepsTheFullEncodersEmbedding) {
  const CsrMatrix X = data_.X.select_rows({0}), Y = data_.Y.select_rows({0});
  TrainParams with_folds = deep_params(1, 3), without = deep_params(1, 0);
  with_folds.weight_threshold = without.weight_threshold = 0;
  const Model a = Model::from_parts(train_model_parts(X, Y, with_folds));
  const Model b = Model::from_parts(train_model_parts(X, Y, without));
  PredictParams pp = a.default_predict_params();
  pp.top_k = 3;
  const auto pa = a.predict_batch(data_.X, pp, 1);
  EXPECT_EQ(pa, b.predict_batch(data_.X, pp, 1));
  for (const auto& row : pa) {
    for (const ScoredLabel& s : row) EXPECT_TRUE(std::isfinite(s.score));
  }
}

TEST_F(DeepMatcher, WorksWithEnsemblesAndRefusesBadSettings) {
  TrainParams p = deep_params(2, 0);
  p.trees = 2;
  const Model m = Model::from_parts(train_model_parts(data_.X, data_.Y, p));
  EXPECT_EQ(m.num_trees(), 2u);
  ASSERT_NE(m.encoder(), nullptr);
  EXPECT_EQ(m.predict_batch(data_.X, m.default_predict_params(), 2).size(), data_.X.rows);
  TrainParams bad = deep_params(2, 1);
  EXPECT_NE(error_of([&] { bad.validate(); }).find("folds"), std::string::npos);
  bad = deep_params(2, 0);
  bad.deep.weight = 0;
  EXPECT_NE(error_of([&] { bad.validate(); }).find("weight"), std::string::npos);
}

}  // namespace
}  // namespace xmr
