#include "core/inference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/model.h"
#include "core/trainer.h"
#include "tests/core/synthetic.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

// root -> {A, B}; A -> labels {2, 0}; B -> label {1}. Features: 0, 1.
// Level 1: A = 2*x0 + 0.5, B = 1*x1 - 0.5.  Level 2: slot0 (label 2) = x1,
// slot1 (label 0) = 3*x0, slot2 (label 1) = bias 0.25.
ModelParts hand_model() {
  ModelParts m;
  m.num_features = 2;
  m.num_labels = 3;
  LayerData l1;
  l1.child_ptr = {0, 2};
  l1.chunk_ptr = {0, 2};
  l1.feat_ids = {0, 1};
  l1.feat_ptr = {0, 1, 2};
  l1.entry_child = {0, 1};
  l1.entry_value = {2.0f, 1.0f};
  l1.bias = {0.5f, -0.5f};
  LayerData l2;
  l2.child_ptr = {0, 2, 3};
  l2.chunk_ptr = {0, 2, 2};
  l2.feat_ids = {0, 1};
  l2.feat_ptr = {0, 1, 2};
  l2.entry_child = {1, 0};
  l2.entry_value = {3.0f, 1.0f};
  l2.bias = {0.0f, 0.0f, 0.25f};
  m.layers = {l1, l2};
  m.slot_label = {2, 0, 1};
  return m;
}

float l3(float s) {
  const float h = std::max(0.0f, 1 - s);
  return std::exp(-h * h * h);
}

TEST(BeamSearch, HandModelScoresAreExact) {
  const Model model = Model::from_parts(hand_model());
  const Index idx[] = {0, 1};
  const float val[] = {0.6f, 0.8f};
  const SparseVectorView q{idx, val, 2};
  PredictParams p;
  p.top_k = 3;
  InferenceWorkspace ws;
  std::vector<ScoredLabel> out;
  model.predict(q, p, ws, out);
  const float a = l3(2 * 0.6f + 0.5f), b = l3(0.8f - 0.5f);
  const float s0 = a * l3(3 * 0.6f), s2 = a * l3(0.8f), s1 = b * l3(0.25f);
  std::vector<ScoredLabel> expected = {{0, s0}, {2, s2}, {1, s1}};
  std::sort(expected.begin(), expected.end(), [](auto& x, auto& y) { return x.score > y.score; });
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].label, expected[i].label);
    EXPECT_NEAR(out[i].score, expected[i].score, 1e-6);
  }
  // A beam of 1 keeps only cluster A (a > b): label 1 cannot be reached.
  p.beam_size = 1;
  model.predict(q, p, ws, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].label != 1 && out[1].label != 1);
}

TEST(BeamSearch, PostProcessorsCombineAsDocumented) {
  const Model model = Model::from_parts(hand_model());
  const Index idx[] = {0};
  const float val[] = {1.0f};
  const SparseVectorView q{idx, val, 1};
  InferenceWorkspace ws;
  const Index label0 = 0;
  float s = 0;
  PredictParams p;
  const float sa = 2.5f, s0 = 3.0f;  // raw scores on label 0's path
  auto score = [&](PostProcessor post) {
    p.postprocessor = post;
    model.score_labels(q, &label0, 1, p, ws, &s);
    return s;
  };
  auto sig = [](float x) { return 1 / (1 + std::exp(-x)); };
  EXPECT_NEAR(score(PostProcessor::kL3Hinge), l3(sa) * l3(s0), 1e-6);
  EXPECT_NEAR(score(PostProcessor::kLogL3Hinge), 0.0f, 1e-6);  // both raw scores >= 1
  EXPECT_NEAR(score(PostProcessor::kSigmoid), sig(sa) * sig(s0), 1e-6);
  EXPECT_NEAR(score(PostProcessor::kLogSigmoid), std::log(sig(sa)) + std::log(sig(s0)), 1e-5);
  EXPECT_NEAR(score(PostProcessor::kNoop), s0, 1e-6);
  EXPECT_THROW(parse_postprocessor("cubic"), Error);
  EXPECT_EQ(parse_postprocessor("log-sigmoid"), PostProcessor::kLogSigmoid);
}

// With a beam as wide as the tree, beam search scores every label: its top-k
// must equal sorting the pair scores of all labels.
TEST(BeamSearch, WideBeamEqualsExhaustiveScoring) {
  const auto data = testing::make_synthetic(600, 120, 80, 11);
  TrainParams tp;
  tp.clustering.branching = 4;
  tp.clustering.max_leaf_size = 8;
  const Model model = train_model(data.X, data.Y, tp);
  ASSERT_GE(model.depth(), 3u);
  for (PostProcessor post : {PostProcessor::kL3Hinge, PostProcessor::kLogSigmoid, PostProcessor::kNoop}) {
    PredictParams p;
    p.postprocessor = post;
    p.beam_size = int(model.num_slots());
    p.top_k = 20;
    InferenceWorkspace ws;
    std::vector<Index> all(model.num_labels());
    std::iota(all.begin(), all.end(), 0);
    std::vector<float> scores(all.size());
    std::vector<ScoredLabel> out;
    for (size_t i = 0; i < 50; ++i) {
      model.predict(data.X.row(i), p, ws, out);
      model.score_labels(data.X.row(i), all.data(), all.size(), p, ws, scores.data());
      std::vector<ScoredLabel> exhaustive;
      for (Index l : all) exhaustive.push_back({l, scores[l]});
      std::sort(exhaustive.begin(), exhaustive.end(),
                [](auto& a, auto& b) { return a.score > b.score || (a.score == b.score && a.label < b.label); });
      exhaustive.resize(20);
      ASSERT_EQ(out, exhaustive) << "query " << i << " post " << postprocessor_name(post);
    }
  }
}

TEST(BeamSearch, OutputSortedUniqueAndBatchMatchesSingle) {
  const auto data = testing::make_synthetic(400, 60, 50, 12);
  TrainParams tp;
  tp.clustering.branching = 3;
  tp.clustering.max_leaf_size = 10;
  const Model model = train_model(data.X, data.Y, tp);
  PredictParams p;
  p.top_k = 7;
  const auto batch = model.predict_batch(data.X, p, 2);
  InferenceWorkspace ws;
  std::vector<ScoredLabel> out;
  for (size_t i = 0; i < data.X.rows; ++i) {
    model.predict(data.X.row(i), p, ws, out);
    ASSERT_EQ(out, batch[i]);
    ASSERT_LE(out.size(), 7u);
    for (size_t j = 1; j < out.size(); ++j) {
      EXPECT_GE(out[j - 1].score, out[j].score);
      EXPECT_NE(out[j - 1].label, out[j].label);
    }
  }
  p.beam_size = 0;
  EXPECT_THROW(model.predict_batch(data.X, p), Error);
}

// A label placed in two leaves is listed once, with the max of its scores.
TEST(BeamSearch, RepeatedLabelIsListedOnceWithMaxScore) {
  ModelParts parts = hand_model();
  // B gets a second child: another slot of label 0 (bias 0.9).
  LayerData& l2 = parts.layers[1];
  l2.child_ptr = {0, 2, 4};
  l2.bias = {0.0f, 0.0f, 0.25f, 0.9f};
  parts.slot_label = {2, 0, 1, 0};
  const Model model = Model::from_parts(parts);
  ASSERT_TRUE(model.tree().repeated_labels);
  const Index idx[] = {0, 1};
  const float val[] = {0.6f, 0.8f};
  const SparseVectorView q{idx, val, 2};
  PredictParams p;
  p.top_k = 5;
  InferenceWorkspace ws;
  std::vector<ScoredLabel> out;
  model.predict(q, p, ws, out);
  ASSERT_EQ(out.size(), 3u);
  const float a = l3(2 * 0.6f + 0.5f), b = l3(0.8f - 0.5f);
  float score0 = -1;
  for (auto& s : out) {
    if (s.label == 0) score0 = s.score;
  }
  EXPECT_NEAR(score0, std::max(a * l3(1.8f), b * l3(0.9f)), 1e-6);
  const Index zero = 0;
  float pair = 0;
  model.score_labels(q, &zero, 1, p, ws, &pair);
  EXPECT_NEAR(pair, score0, 1e-6);
}

}  // namespace
}  // namespace xmr
