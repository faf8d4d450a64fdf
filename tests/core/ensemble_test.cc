// Ensembles of label trees (core/ensemble.h, ModelParts::more_trees): the
// file round trip, the combination rule, and members that do not fit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "core/error.h"
#include "core/file_util.h"
#include "core/model.h"
#include "core/trainer.h"
#include "tests/core/synthetic.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

TrainParams small_tree_params(int trees) {
  TrainParams tp;
  tp.clustering.branching = 4;
  tp.clustering.max_leaf_size = 10;
  tp.trees = trees;
  return tp;
}

uint32_t format_version_of(const std::string& bytes) {
  uint32_t v = 0;
  std::memcpy(&v, bytes.data() + 8, sizeof v);
  return v;
}

std::string load_error(const std::string& path) {
  try {
    Model::load(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class Ensemble : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = testing::make_synthetic(600, 80, 60, 5);
    parts_ = train_model_parts(data_.X, data_.Y, small_tree_params(2));
  }
  testing::SyntheticData data_;
  ModelParts parts_;
  testing::TempDir dir_;
};

TEST_F(Ensemble, TreesDifferBySeedAndLeafSize) {
  ASSERT_EQ(parts_.more_trees.size(), 1u);
  // Tree 2 has leaves of at most 5 labels, so more slots under more leaves.
  EXPECT_NE(parts_.more_trees[0].layers.back().child_ptr.size(), parts_.layers.back().child_ptr.size());
  EXPECT_NE(parts_.more_trees[0].train_params_json.find("\"seed\":1"), std::string::npos);
  EXPECT_NE(parts_.more_trees[0].train_params_json.find("\"max_leaf_size\":5"), std::string::npos);
}

TEST_F(Ensemble, TwoTreeModelSavesLoadsAndScoresIdentically) {
  const Model model = Model::from_parts(parts_);
  ASSERT_EQ(model.num_trees(), 2u);
  const std::string path = dir_.file("two.xmr");
  model.save(path);
  const std::string bytes = read_file_bytes(path);
  EXPECT_EQ(format_version_of(bytes), 3u);  // narrow levels; 2 when they are wide
  const Model loaded = Model::load(path);
  ASSERT_EQ(loaded.num_trees(), 2u);
  PredictParams p;
  p.top_k = 7;
  const auto by_chunk = model.predict_batch(data_.X, p, 0, Model::BatchOrder::kByChunk);
  EXPECT_EQ(loaded.predict_batch(data_.X, p, 0, Model::BatchOrder::kByChunk), by_chunk);
  EXPECT_EQ(loaded.predict_batch(data_.X, p, 1, Model::BatchOrder::kByQuery), by_chunk);
  InferenceWorkspace ws;
  std::vector<ScoredLabel> one;
  std::vector<Index> labels;
  std::vector<float> scores;
  for (size_t i = 0; i < data_.X.rows; i += 37) {
    loaded.predict(data_.X.row(i), p, ws, one);
    EXPECT_EQ(one, by_chunk[i]) << "row " << i;
    // score_labels takes every tree's score, search 0 for a tree that
    // missed the label: never lower.
    labels.clear();
    for (const ScoredLabel& s : one) labels.push_back(s.label);
    scores.resize(labels.size());
    loaded.score_labels(data_.X.row(i), labels.data(), labels.size(), p, ws, scores.data());
    for (size_t k = 0; k < one.size(); ++k) EXPECT_GE(scores[k] * 1.000001f, one[k].score) << "row " << i << " rank " << k;
  }
  loaded.save(dir_.file("again.xmr"));
  EXPECT_EQ(read_file_bytes(dir_.file("again.xmr")), bytes);
}

TEST_F(Ensemble, ScoreIsTheMeanOfTheTreesScores) {
  ModelParts first = parts_;
  first.more_trees.clear();
  ModelParts second = parts_;
  second.layers = parts_.more_trees[0].layers;
  second.slot_label = parts_.more_trees[0].slot_label;
  second.more_trees.clear();
  const Model both = Model::from_parts(parts_), a = Model::from_parts(first), b = Model::from_parts(second);
  PredictParams p;
  InferenceWorkspace ws;
  std::vector<Index> labels(80);
  for (Index l = 0; l < 80; ++l) labels[l] = l;
  std::vector<float> sa(80), sb(80), s(80);
  for (size_t i = 0; i < 50; ++i) {
    a.score_labels(data_.X.row(i), labels.data(), 80, p, ws, sa.data());
    b.score_labels(data_.X.row(i), labels.data(), 80, p, ws, sb.data());
    both.score_labels(data_.X.row(i), labels.data(), 80, p, ws, s.data());
    for (size_t l = 0; l < 80; ++l) EXPECT_FLOAT_EQ(s[l], float((double(sa[l]) + sb[l]) / 2)) << "row " << i;
  }
  // Search: the mean over the trees of their top-10 (beam size) scores, 0
  // where a tree did not list the label; the best of the union first.
  p.top_k = 3;
  PredictParams tree_p = p;
  tree_p.top_k = p.beam_size;
  std::vector<ScoredLabel> top, ta, tb, top10;
  for (size_t i = 0; i < 50; ++i) {
    both.predict(data_.X.row(i), p, ws, top);
    a.predict(data_.X.row(i), tree_p, ws, ta);
    b.predict(data_.X.row(i), tree_p, ws, tb);
    // The first 3 of the top 10 are the top 3.
    both.predict(data_.X.row(i), tree_p, ws, top10);
    ASSERT_GE(top10.size(), top.size());
    EXPECT_TRUE(std::equal(top.begin(), top.end(), top10.begin())) << "row " << i;
    std::map<Index, double> mean;
    for (const auto* list : {&ta, &tb}) {
      for (const ScoredLabel& c : *list) mean[c.label] += c.score / 2.0;
    }
    std::vector<ScoredLabel> expected;
    for (const auto& [label, score] : mean) expected.push_back({label, float(score)});
    std::sort(expected.begin(), expected.end(), [](const ScoredLabel& x, const ScoredLabel& y) {
      return x.score > y.score || (x.score == y.score && x.label < y.label);
    });
    expected.resize(std::min<size_t>(3, expected.size()));
    ASSERT_EQ(top.size(), expected.size()) << "row " << i;
    for (size_t k = 0; k < top.size(); ++k) {
      EXPECT_EQ(top[k].label, expected[k].label) << "row " << i << " rank " << k;
      EXPECT_FLOAT_EQ(top[k].score, expected[k].score) << "row " << i << " rank " << k;
    }
  }
}

TEST_F(Ensemble, SingleTreeModelsWithNarrowLevelsAreFormatVersion3) {
  // Versions 1 and 2 (wide levels) are read from tests/data/legacy_models.
  const Model one = train_model(data_.X, data_.Y, small_tree_params(1));
  one.save(dir_.file("one.xmr"));
  EXPECT_EQ(format_version_of(read_file_bytes(dir_.file("one.xmr"))), 3u);
  EXPECT_EQ(one.num_trees(), 1u);
}

TEST_F(Ensemble, TreeWithOtherLabelsOrFeaturesIsRefused) {
  // A tree trained on fewer labels leaves some label in no leaf.
  const testing::SyntheticData fewer_labels = testing::make_synthetic(600, 70, 60, 6);
  const ModelParts other = train_model_parts(fewer_labels.X, fewer_labels.Y, small_tree_params(1));
  ModelParts bad = parts_;
  bad.more_trees[0] = TreeParts{other.layers, other.slot_label, "{}"};
  try {
    Model::from_parts(bad);
    FAIL() << "a tree over 70 labels was accepted in an 80-label model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tree 2: corrupt model: 80 labels for 70 leaf slots"), std::string::npos) << e.what();
  }
  // A tree trained on more labels has slots for labels the model does not have.
  const testing::SyntheticData more_labels = testing::make_synthetic(600, 90, 60, 7);
  const ModelParts wider = train_model_parts(more_labels.X, more_labels.Y, small_tree_params(1));
  bad.more_trees[0] = TreeParts{wider.layers, wider.slot_label, "{}"};
  try {
    Model::from_parts(bad);
    FAIL() << "a tree over 90 labels was accepted in an 80-label model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tree 2: corrupt model:"), std::string::npos) << e.what();
  }
  // A tree trained on more features reads features the model does not have.
  const testing::SyntheticData more_features = testing::make_synthetic(600, 80, 90, 5);
  const ModelParts broader = train_model_parts(more_features.X, more_features.Y, small_tree_params(1));
  bad.more_trees[0] = TreeParts{broader.layers, broader.slot_label, "{}"};
  try {
    Model::from_parts(bad);
    FAIL() << "a tree over 90 features was accepted in a 60-feature model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tree 2: corrupt model: level"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("feature id out of range"), std::string::npos) << e.what();
  }
}

TEST_F(Ensemble, CorruptOrMissingTreeSectionIsRefused) {
  const std::string path = dir_.file("two.xmr");
  Model::from_parts(parts_).save(path);
  const std::string bytes = read_file_bytes(path);
  // Find the second tree's slot_label section through the table.
  const ModelFileReader r = ModelFileReader::open(ModelBlob::copy_of(bytes), "t", true);
  const auto* s = r.find("tree/1/tree/slot_label");
  ASSERT_NE(s, nullptr);
  const size_t offset = size_t(s->data - r.blob->data());
  std::string flipped = bytes;
  flipped[offset] ^= 0x40;
  testing::write_text(dir_.file("flipped.xmr"), flipped);
  EXPECT_NE(load_error(dir_.file("flipped.xmr")).find("flipped.xmr: corrupt model: checksum mismatch in section 'tree/1/tree/slot_label'"),
            std::string::npos)
      << load_error(dir_.file("flipped.xmr"));
  // Without checksums, the structure check still refuses an out-of-range label.
  std::string bad_label = bytes;
  const Index huge = 1000000;
  std::memcpy(&bad_label[offset], &huge, sizeof huge);
  LoadOptions fast;
  fast.verify_checksums = false;
  try {
    Model::from_bytes(bad_label, "unchecked.xmr", fast);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unchecked.xmr: tree 2: corrupt model: slot label 1000000 out of range"), std::string::npos)
        << e.what();
  }
  testing::write_text(dir_.file("truncated.xmr"), bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(load_error(dir_.file("truncated.xmr")).find("truncated"), std::string::npos);
}

TEST_F(Ensemble, TreeCountIsChecked) {
  TrainParams tp = small_tree_params(0);
  EXPECT_THROW(tp.validate(), Error);
  tp.trees = int(kMaxTrees) + 1;
  EXPECT_THROW(tp.validate(), Error);
  TrainInputs given;
  LabelTree tree;
  given.tree = &tree;
  EXPECT_THROW(train_model_parts(data_.X, data_.Y, small_tree_params(2), given), Error);
}

}  // namespace
}  // namespace xmr
