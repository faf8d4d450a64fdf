// Calibrated probabilities (core/calibration.h, core/model_calibration.h):
// the isotonic fit, the maps' contract, storage in the model file, and the
// calibration metrics.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/calibration.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/model.h"
#include "core/model_calibration.h"
#include "core/trainer.h"
#include "tests/core/synthetic.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

TEST(Calibration, PoolAdjacentViolatorsByHand) {
  // Rank 1 only. Scores 0.1..0.6 with outcomes 0 1 0 1 1 1: the pair
  // (0.2: 1, 0.3: 0) violates the order and pools to 0.5 at score 0.25; the
  // last three (equal rates) pool to 1 at score 0.5.
  const Calibration c = Calibration::fit({0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, {0, 1, 0, 1, 1, 1}, {1, 1, 1, 1, 1, 1});
  ASSERT_EQ(c.num_maps(), 1u);
  EXPECT_EQ(c.fitted_pairs(), 6u);
  EXPECT_FLOAT_EQ(c.probability(0.1f, 1), 0.0f);
  EXPECT_FLOAT_EQ(c.probability(0.25f, 1), 0.5f);
  EXPECT_FLOAT_EQ(c.probability(0.175f, 1), 0.25f);  // halfway between the knots at 0.1 and 0.25
  EXPECT_FLOAT_EQ(c.probability(0.4f, 1), 0.8f);  // 0.5 + (0.15 / 0.25) x 0.5
  EXPECT_FLOAT_EQ(c.probability(0.5f, 1), 1.0f);
  EXPECT_FLOAT_EQ(c.probability(0.0f, 1), 0.0f);     // before the first knot
  EXPECT_FLOAT_EQ(c.probability(9.0f, 1), 1.0f);     // after the last
  EXPECT_FLOAT_EQ(c.probability(0.25f, 4), 0.5f);    // later ranks share the last map fitted
  // Equal scores with different outcomes are one block.
  const Calibration tied = Calibration::fit({0.5f, 0.5f, 0.5f, 0.5f}, {1, 0, 0, 0}, {1, 1, 1, 1});
  EXPECT_FLOAT_EQ(tied.probability(0.5f, 1), 0.25f);
}

TEST(Calibration, EachRankHasItsMapAndListsNeverReorder) {
  // At rank 1 a score of 0.5 is right 90% of the time, at rank 2 10%.
  std::vector<float> scores;
  std::vector<char> relevant;
  std::vector<uint32_t> ranks;
  for (int i = 0; i < 100; ++i) {
    scores.push_back(0.5f);
    relevant.push_back(i < 90);
    ranks.push_back(1);
    scores.push_back(0.5f);
    relevant.push_back(i < 10);
    ranks.push_back(2);
  }
  const Calibration c = Calibration::fit(scores, relevant, ranks);
  ASSERT_EQ(c.num_maps(), 2u);
  EXPECT_FLOAT_EQ(c.probability(0.5f, 1), 0.9f);
  EXPECT_FLOAT_EQ(c.probability(0.5f, 2), 0.1f);
  // A list where rank 2's own map would give more than rank 1's: capped.
  const Calibration up = Calibration::fit({0.2f, 0.9f, 0.2f, 0.9f}, {0, 0, 1, 1}, {1, 1, 2, 2});
  std::vector<ScoredLabel> list = {{7, 0.3f}, {3, 0.25f}};
  up.apply(list);
  EXPECT_EQ(list[0].label, 7u);
  EXPECT_GE(list[0].score, list[1].score);
  EXPECT_THROW(Calibration::fit({}, {}, {}), Error);
  EXPECT_THROW(Calibration::fit({NAN}, {1}, {1}), Error);
  EXPECT_THROW(Calibration::fit({0.5f}, {1}, {0}), Error);
}

TEST(Calibration, BytesRoundTripAndCorruptBytesAreRefused) {
  const Calibration c = Calibration::fit({0.1f, 0.5f, 0.9f, 0.3f}, {0, 1, 1, 0}, {1, 1, 2, 2});
  const std::string bytes = c.serialize();
  const Calibration back = Calibration::deserialize(bytes, 4, "m.xmr");
  for (float s : {0.0f, 0.2f, 0.5f, 0.7f, 1.0f}) {
    for (size_t r : {1, 2, 3}) EXPECT_EQ(back.probability(s, r), c.probability(s, r));
  }
  auto error_of = [](const std::string& b) {
    try {
      Calibration::deserialize(b, 1, "m.xmr");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of(bytes.substr(0, bytes.size() - 4)).find("m.xmr: corrupt model: calibration"), std::string::npos);
  EXPECT_NE(error_of(bytes + "x").find("bytes after the last map"), std::string::npos);
  EXPECT_NE(error_of("").find("truncated"), std::string::npos);
  // The first map's first probability (after the map count, knot count and
  // knot scores) set to 2.
  std::string bad = bytes;
  uint64_t knots = 0;
  std::memcpy(&knots, bad.data() + 8, 8);
  const float two = 2.0f;
  std::memcpy(&bad[16 + knots * 4], &two, 4);
  EXPECT_NE(error_of(bad).find("outside [0, 1]"), std::string::npos);
  std::string nan = bytes;
  const float not_a_number = NAN;
  std::memcpy(&nan[16], &not_a_number, 4);
  EXPECT_NE(error_of(nan).find("not finite"), std::string::npos);
}

TEST(Calibration, MetricsByHand) {
  // Two rows; truth: row 0 has label 1, row 1 has label 2.
  const CsrMatrix truth = testing::labels_to_csr({{1}, {2}}, 4);
  // Rank 1: (0.9, right), (0.3, wrong); rank 2: (0.2, wrong), (0.25, right).
  const std::vector<std::vector<ScoredLabel>> p = {{{1, 0.9f}, {3, 0.2f}}, {{0, 0.3f}, {2, 0.25f}}};
  const CalibrationMetrics m = calibration_metrics(p, truth, 2);
  // ECE@1: bins 9 (0.9 vs 1) and 3 (0.3 vs 0): (0.1 + 0.3) / 2.
  EXPECT_NEAR(m.ece_at_1, 0.2, 1e-6);
  // ECE@2: bin 2 holds 0.2 and 0.25 (mean 0.225, hits 1/2): |0.45 - 1| / 4 = 0.1375; plus 0.1 / 4 and 0.3 / 4.
  EXPECT_NEAR(m.ece_at_k, (0.1 + 0.3 + 0.55) / 4, 1e-6);
  EXPECT_NEAR(m.brier_at_1, (0.01 + 0.09) / 2, 1e-6);
  const auto table = threshold_table(p, truth, {0.25f, 0.5f});
  ASSERT_EQ(table.size(), 2u);
  EXPECT_DOUBLE_EQ(table[0].precision, 2.0 / 3);  // 0.9, 0.3, 0.25 kept; two right
  EXPECT_DOUBLE_EQ(table[0].recall, 1.0);
  EXPECT_DOUBLE_EQ(table[0].coverage, 1.0);
  EXPECT_DOUBLE_EQ(table[1].precision, 1.0);
  EXPECT_DOUBLE_EQ(table[1].recall, 0.5);
  EXPECT_DOUBLE_EQ(table[1].coverage, 0.5);
}

TEST(Calibration, CrossFittingPredictsEveryRowByAModelTrainedWithoutIt) {
  const testing::SyntheticData d = testing::make_synthetic(600, 40, 60, 9);
  TrainParams tp;
  tp.clustering.branching = 4;
  tp.clustering.max_leaf_size = 10;
  const FittedCalibration f = fit_cross_fitted_calibration(d.X, d.Y, tp, {}, 3, "synthetic");
  EXPECT_EQ(f.map.fitted_pairs(), 600u * size_t(kCalibrationTopK));  // every row, its top 10
  EXPECT_NE(f.info_json.find("3-fold cross-fitting"), std::string::npos);
  std::vector<size_t> per_fold(3, 0);
  for (size_t i = 0; i < 600; ++i) ++per_fold[calibration_fold(i, 3)];
  for (size_t n : per_fold) EXPECT_GT(n, 150u);
  EXPECT_THROW(fit_cross_fitted_calibration(d.X, d.Y, tp, {}, 1, "synthetic"), Error);
}

TEST(Calibration, SamplingFloorShrinksWithRowsAndIsSeeded) {
  auto rows = [](size_t n) {
    std::vector<std::vector<ScoredLabel>> p(n);
    for (size_t i = 0; i < n; ++i) p[i] = {{0, 0.1f + 0.8f * float(i % 9) / 8.0f}};
    return p;
  };
  const EceFloor small = ece_at_1_floor(rows(200)), large = ece_at_1_floor(rows(20000));
  EXPECT_GT(small.mean, 0.02);  // about sqrt(p(1-p)/n) per bin: 22 rows a bin
  EXPECT_LT(large.mean, 0.01);
  EXPECT_GT(small.mean, 3 * large.mean);
  EXPECT_GT(small.p95, small.mean);  // the draws spread above their mean
  EXPECT_LT(small.p95, 3 * small.mean);
  EXPECT_GT(small.p95, large.p95);
  EXPECT_EQ(ece_at_1_floor(rows(200)).p95, small.p95);
  EXPECT_EQ(ece_at_1_floor(rows(200)).mean, small.mean);
  EXPECT_EQ(ece_at_1_floor({}).mean, 0.0);
  EXPECT_EQ(ece_at_1_floor({}).p95, 0.0);
}

TEST(Calibration, StoredInTheModelFileWithoutChangingRankings) {
  const testing::SyntheticData d = testing::make_synthetic(800, 40, 60, 3);
  TrainParams tp;
  tp.clustering.branching = 4;
  tp.clustering.max_leaf_size = 10;
  const Model plain = train_model(d.X, d.Y, tp);
  EXPECT_EQ(plain.calibration(), nullptr);
  const FittedCalibration f = fit_held_out_calibration(d.X, d.Y, tp, {}, 0.25, "synthetic");
  EXPECT_GT(f.map.fitted_pairs(), 0u);
  ASSERT_EQ(f.thresholds.size(), 9u);
  const Model calibrated = plain.with_calibration(f.map, f.info_json);
  testing::TempDir dir;
  calibrated.save(dir.file("c.xmr"));
  const Model loaded = Model::load(dir.file("c.xmr"));
  ASSERT_NE(loaded.calibration(), nullptr);
  EXPECT_EQ(loaded.calibration()->serialize(), f.map.serialize());
  EXPECT_NE(loaded.metadata_json().find("\"thresholds\""), std::string::npos);
  PredictParams p;
  EXPECT_EQ(loaded.predict_batch(d.X, p), plain.predict_batch(d.X, p));
  // Replacing a calibration keeps one section and the same rankings.
  const Model again = loaded.with_calibration(f.map, "{}");
  again.save(dir.file("again.xmr"));
  const ModelFileReader again_file =
      ModelFileReader::open(ModelBlob::copy_of(read_file_bytes(dir.file("again.xmr"))), "again", true);
  size_t calibration_sections = 0;
  for (const auto& section : again_file.sections) calibration_sections += section.first == "calibration/knots";
  EXPECT_EQ(calibration_sections, 1u);
  EXPECT_EQ(again.predict_batch(d.X, p), plain.predict_batch(d.X, p));
  // A corrupt calibration section is refused, naming the file.
  const std::string bytes = read_file_bytes(dir.file("c.xmr"));
  const ModelFileReader r = ModelFileReader::open(ModelBlob::copy_of(bytes), "t", true);
  const auto* s = r.find("calibration/knots");
  ASSERT_NE(s, nullptr);
  std::string bad = bytes;
  const float two = 2.0f;
  uint64_t knots = 0;
  std::memcpy(&knots, bad.data() + (s->data - r.blob->data()) + 8, 8);
  std::memcpy(&bad[size_t(s->data - r.blob->data()) + 16 + knots * 4], &two, 4);
  LoadOptions unchecked;
  unchecked.verify_checksums = false;
  try {
    Model::from_bytes(bad, "c.xmr", unchecked);
    FAIL() << "a calibration with a probability of 2 loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("c.xmr: corrupt model: calibration: a probability is outside [0, 1]"),
              std::string::npos)
        << e.what();
  }
  bad = bytes;
  bad[size_t(s->data - r.blob->data()) + 20] ^= 1;
  testing::write_text(dir.file("flipped.xmr"), bad);
  EXPECT_THROW(Model::load(dir.file("flipped.xmr")), Error);
}

}  // namespace
}  // namespace xmr
