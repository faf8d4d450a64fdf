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

// Beam search as written before expansion learnt to skip children that
// cannot place: every child of every beam node is scored and sorted.
std::vector<ScoredLabel> search_expanding_everything(const TreeView& tree, const SparseVectorView& q,
                                                     const PredictParams& p, size_t stop_layer) {
  using Node = InferenceWorkspace::Node;
  auto better = [](const Node& a, const Node& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); };
  const size_t depth = tree.layers.size(), last = std::min(stop_layer, depth - 1);
  std::vector<Node> beam{{0, postprocess_initial(p.postprocessor)}}, next;
  std::vector<float> raw;
  for (size_t t = 0; t <= last; ++t) {
    next.clear();
    for (const Node& parent : beam) {
      const LayerView& layer = tree.layers[t];
      raw.resize(layer.num_children_of(parent.id));
      layer.score_chunk(parent.id, q, raw.data());
      for (size_t j = 0; j < raw.size(); ++j) {
        next.push_back({Index(layer.child_ptr[parent.id] + j), postprocess_combine(p.postprocessor, parent.score, raw[j])});
      }
    }
    beam = next;
    if (t < last || stop_layer < depth) {
      std::sort(beam.begin(), beam.end(), better);
      beam.resize(std::min(beam.size(), size_t(p.beam_size)));
    }
  }
  std::vector<ScoredLabel> out;
  if (stop_layer < depth) {
    for (const Node& n : beam) out.push_back({n.id, n.score});
    return out;
  }
  // A label's slots in arrival order: max, or the mean in double.
  std::vector<Node> labels;
  std::vector<double> sum;
  std::vector<int> count;
  for (const Node& n : beam) {
    const Index label = tree.slot_label[n.id];
    size_t k = 0;
    while (k < labels.size() && labels[k].id != label) ++k;
    if (k == labels.size()) {
      labels.push_back({label, n.score});
      sum.push_back(0);
      count.push_back(0);
    }
    labels[k].score = std::max(labels[k].score, n.score);
    sum[k] += n.score;
    ++count[k];
  }
  if (p.repeated == RepeatedLabelScore::kMean) {
    for (size_t k = 0; k < labels.size(); ++k) labels[k].score = float(sum[k] / double(count[k]));
  }
  std::sort(labels.begin(), labels.end(), better);
  labels.resize(std::min(labels.size(), size_t(p.top_k)));
  for (const Node& n : labels) out.push_back({n.id, n.score});
  return out;
}

// Expansion skips parents and children that cannot reach the best beam (or
// top_k) candidates; that must not change a label, a score or an order, for
// any post-processor, beam, top_k or repeated-label rule, nor the nodes a
// stopped search returns. Queries scaled by 8 push many raw scores past 1,
// where l3-hinge gives ties of exactly 1.
TEST(BeamSearch, SkippingWhatCannotPlaceChangesNothing) {
  const auto d = testing::make_synthetic(1500, 90, 100, 47);
  TrainParams tp;
  tp.clustering.branching = 3;
  tp.clustering.max_leaf_size = 6;
  const Model plain = train_model(d.X, d.Y, tp);
  tp.disentangle.max_copies = 3;
  tp.disentangle.min_votes = 1;
  tp.disentangle.leaf_growth = 1.0;
  const Model repeated = train_model(d.X, d.Y, tp);
  ASSERT_GE(plain.depth(), 3u);
  ASSERT_TRUE(repeated.tree().repeated_labels) << "the test needs a model with repeated labels";
  // The first 40 rows, the odd ones scaled by 8.
  std::vector<Index> first_rows(40);
  std::iota(first_rows.begin(), first_rows.end(), 0);
  CsrMatrix Q = d.X.select_rows(first_rows);
  for (size_t i = 1; i < Q.rows; i += 2) {
    for (Offset k = Q.indptr[i]; k < Q.indptr[i + 1]; ++k) Q.values[k] *= 8.0f;
  }
  InferenceWorkspace ws;
  BatchWorkspace bws;
  std::vector<ScoredLabel> out;
  std::vector<std::vector<ScoredLabel>> batch(Q.rows);
  size_t compared = 0;
  for (const Model* model : {&plain, &repeated}) {
    const TreeView& tree = model->tree();
    for (PostProcessor post : {PostProcessor::kL3Hinge, PostProcessor::kLogL3Hinge, PostProcessor::kSigmoid,
                               PostProcessor::kLogSigmoid, PostProcessor::kNoop}) {
      for (RepeatedLabelScore rep : {RepeatedLabelScore::kMax, RepeatedLabelScore::kMean}) {
        for (int beam : {1, 3, 12}) {
          for (int top_k : {1, 5, 40}) {
            PredictParams p;
            p.postprocessor = post;
            p.repeated = rep;
            p.beam_size = beam;
            p.top_k = top_k;
            beam_search_batch(tree, Q, 0, Q.rows, p, bws, batch.data());
            for (size_t i = 0; i < Q.rows; ++i) {
              const SparseVectorView q = Q.row(i);
              for (size_t stop : {size_t(1), SIZE_MAX}) {
                beam_search(tree, q, p, ws, out, stop);
                const auto expected = search_expanding_everything(tree, q, p, stop);
                ASSERT_EQ(out, expected) << "row " << i << " post " << postprocessor_name(post) << " beam " << beam
                                         << " top_k " << top_k << " stop " << stop
                                         << (tree.repeated_labels ? " repeated labels" : "");
                if (stop == SIZE_MAX) {
                  ASSERT_EQ(batch[i], expected) << "batch, row " << i;
                }
                ++compared;
              }
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(compared, 2u * 5 * 2 * 3 * 3 * 40 * 2);
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
