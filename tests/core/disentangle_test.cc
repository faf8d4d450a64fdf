#include "core/disentangle.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "core/file_util.h"
#include "core/trainer.h"
#include "tests/core/synthetic.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

// Nine labels in two clusters: A = {0..3, 8}, B = {4..7}. Label 8 ("apple")
// has two kinds of instances: some with features of its own, some that look
// exactly like label 5's instances (cluster B). The matcher cannot send the
// second kind to A, so disentanglement must copy label 8 into B.
struct SplitLabelCase {
  CsrMatrix X, Y;
  LabelTree tree;

  Model train(const TrainParams& p, TrainStats* st = nullptr) const {
    TrainInputs in;
    in.tree = &tree;
    return train_model(X, Y, p, in, st);
  }
};

SplitLabelCase split_label_case() {
  SplitLabelCase c;
  c.X.cols = 100;
  c.Y.cols = 9;
  auto add = [&](std::vector<Index> feats, Index label) {
    std::vector<std::pair<Index, float>> f, l{{label, 1.0f}};
    for (Index x : feats) f.emplace_back(x, 1.0f);
    c.X.append_row(f);
    c.Y.append_row(l);
  };
  for (int rep = 0; rep < 30; ++rep) {
    for (Index a = 0; a < 4; ++a) add({Index(10 * a), Index(10 * a + 1), Index(10 * a + 2)}, a);
    for (Index b = 4; b < 8; ++b) add({Index(10 * b + 10), Index(10 * b + 11), Index(10 * b + 12)}, b);
    if (rep % 3 == 0) add({60, 61, 62}, 8);   // looks like label 5 (features 60..62)
    if (rep % 3 == 1) add({95, 96, 2}, 8);    // apple's own features, near cluster A
  }
  c.X.normalize_rows_l2();
  c.tree.num_labels = 9;
  c.tree.child_ptr = {{0, 2}, {0, 5, 9}};
  c.tree.slot_label = {0, 1, 2, 3, 8, 4, 5, 6, 7};
  return c;
}

bool leaf_has(const TreeView& t, size_t depth, Index leaf, Index label) {
  const LayerView& last = t.layers[depth - 1];
  for (Index s = last.child_ptr[leaf]; s < last.child_ptr[leaf + 1]; ++s) {
    if (t.slot_label[s] == label) return true;
  }
  return false;
}

class DisentangleSplit : public ::testing::TestWithParam<bool> {};  // parameter: route positives

TEST_P(DisentangleSplit, LabelSplitBetweenTwoClustersGetsBoth) {
  const SplitLabelCase c = split_label_case();
  TrainParams p;
  const Model plain = c.train(p);
  p.disentangle.max_copies = 2;
  p.disentangle.route_positives = GetParam();
  TrainStats st;
  const Model dis = c.train(p, &st);

  ASSERT_EQ(plain.num_slots(), 9u);
  ASSERT_EQ(dis.num_slots(), 10u);  // exactly one copy added: label 8 into B
  EXPECT_TRUE(leaf_has(dis.tree(), dis.depth(), 0, 8));
  EXPECT_TRUE(leaf_has(dis.tree(), dis.depth(), 1, 8));
  ASSERT_EQ(st.disentangle_rounds.size(), 1u);
  EXPECT_EQ(st.disentangle_rounds[0].copies_added, 1u);

  // With a beam of one cluster, an apple that looks like cluster B is found
  // only by the disentangled model.
  PredictParams pp;
  pp.beam_size = 1;
  pp.top_k = 5;
  InferenceWorkspace ws;
  std::vector<ScoredLabel> out;
  const std::vector<Index> idx{60, 61, 62};
  const std::vector<float> val(3, 1.0f / std::sqrt(3.0f));
  const SparseVectorView q{idx.data(), val.data(), 3};
  auto has8 = [&](const std::vector<ScoredLabel>& o) {
    for (const auto& s : o) if (s.label == 8) return true;
    return false;
  };
  plain.predict(q, pp, ws, out);
  EXPECT_FALSE(has8(out));
  dis.predict(q, pp, ws, out);
  EXPECT_TRUE(has8(out));
}

INSTANTIATE_TEST_SUITE_P(Disentangle, DisentangleSplit, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "Routed" : "Unrouted"; });

TEST(Disentangle, EachPositiveTrainsTheCopyItsInstanceReaches) {
  const SplitLabelCase c = split_label_case();
  const TrainParams p;
  const Model plain = c.train(p);
  DisentangleParams dp;
  dp.max_copies = 2;
  dp.route_positives = true;
  const DisentangledTree d =
      disentangle_tree(c.tree, plain.tree(), c.X, c.Y, dp, max_leaf_size(c.tree), 1, p.postprocessor);
  ASSERT_EQ(d.tree.slot_label.size(), 10u);
  ASSERT_EQ(d.tree.slot_label[4], 8u);  // label 8 in A, as clustered
  ASSERT_EQ(d.tree.slot_label[9], 8u);  // its copy in B
  ASSERT_EQ(d.slot_positives.rows, c.Y.rows);
  ASSERT_EQ(d.slot_positives.cols, 10u);
  size_t b_like = 0, a_like = 0;
  for (size_t i = 0; i < c.Y.rows; ++i) {
    const Index label = c.Y.row(i).indices[0];
    const SparseVectorView slots = d.slot_positives.row(i);
    ASSERT_EQ(slots.nnz, 1u) << "row " << i;
    EXPECT_EQ(d.tree.slot_label[slots.indices[0]], label) << "row " << i;
    if (label != 8) continue;
    if (c.X.row(i).indices[0] == 60) {
      EXPECT_EQ(slots.indices[0], 9u) << "row " << i << " looks like cluster B";
      ++b_like;
    } else {
      EXPECT_EQ(slots.indices[0], 4u) << "row " << i << " has apple's own features";
      ++a_like;
    }
  }
  EXPECT_EQ(b_like, 10u);
  EXPECT_EQ(a_like, 10u);

  dp.route_positives = false;
  const DisentangledTree unrouted =
      disentangle_tree(c.tree, plain.tree(), c.X, c.Y, dp, max_leaf_size(c.tree), 1, p.postprocessor);
  EXPECT_EQ(unrouted.tree.slot_label, d.tree.slot_label);
  EXPECT_EQ(unrouted.slot_positives.rows, 0u);

  CsrMatrix wrong_shape = d.slot_positives;
  wrong_shape.cols = 9;
  EXPECT_THROW(train_on_tree(c.X, c.Y, d.tree, p, {}, &wrong_shape), Error);
}

TEST(Disentangle, OutputsNeverListALabelTwice) {
  const auto d = testing::make_synthetic(3000, 150, 120, 41);
  TrainParams p;
  p.clustering.branching = 4;
  p.clustering.max_leaf_size = 10;
  p.disentangle.max_copies = 4;
  p.disentangle.min_votes = 1;
  p.disentangle.leaf_growth = 1.0;
  p.disentangle.rounds = 2;
  TrainStats st;
  const Model m = train_model(d.X, d.Y, p, {}, &st);
  ASSERT_GT(m.num_slots(), m.num_labels()) << "the test needs a model with repeated labels";
  for (RepeatedLabelScore rep : {RepeatedLabelScore::kMax, RepeatedLabelScore::kMean}) {
    PredictParams pp;
    pp.top_k = 30;
    pp.beam_size = 8;
    pp.repeated = rep;
    const auto pred = m.predict_batch(d.X, pp, 2);
    // The max shortcut (merging only the best top_k * max_label_slots slots)
    // must equal merging every slot.
    TreeView full_merge = m.tree();
    ASSERT_GT(full_merge.max_label_slots, 1u);
    full_merge.max_label_slots = 0;
    InferenceWorkspace ws;
    std::vector<ScoredLabel> expected;
    for (size_t i = 0; i < pred.size(); ++i) {
      std::set<Index> seen;
      for (const auto& s : pred[i]) ASSERT_TRUE(seen.insert(s.label).second) << "row " << i << " label " << s.label;
      beam_search(full_merge, d.X.row(i), pp, ws, expected);
      ASSERT_EQ(pred[i], expected) << "row " << i;
    }
  }
  // Leaves stay within the growth bound of the original tree's largest leaf.
  const LayerView& last = m.tree().layers.back();
  for (size_t c = 0; c < last.num_parents; ++c) EXPECT_LE(last.num_children_of(c), size_t(std::ceil(2.0 * 10)));
  // No label has more than K leaves.
  for (size_t l = 0; l < m.num_labels(); ++l) {
    EXPECT_LE(m.tree().label_slot_ptr[l + 1] - m.tree().label_slot_ptr[l], 4u);
  }
}

TEST(Disentangle, KOfOneReproducesThePlainModelExactly) {
  const auto d = testing::make_synthetic(1500, 90, 100, 43);
  TrainParams p;
  p.clustering.branching = 4;
  p.clustering.max_leaf_size = 8;
  const Model plain = train_model(d.X, d.Y, p);
  p.disentangle.max_copies = 1;
  p.disentangle.rounds = 3;  // ignored when K = 1
  p.disentangle.min_votes = 1;
  TrainStats st;
  const Model k1 = train_model(d.X, d.Y, p, {}, &st);
  EXPECT_TRUE(st.disentangle_rounds.empty());
  // A directory of this test's own: ctest runs tests as parallel processes.
  const testing::TempDir dir;
  plain.save(dir.file("plain.xmr"));
  k1.save(dir.file("k1.xmr"));
  EXPECT_EQ(read_file_bytes(dir.file("plain.xmr")), read_file_bytes(dir.file("k1.xmr")));
}

TEST(Disentangle, ThePlainModelBeforeTheRoundsIsTheUndisentangledOne) {
  const auto d = testing::make_synthetic(1500, 90, 100, 46);
  TrainParams p;
  p.clustering.branching = 4;
  p.clustering.max_leaf_size = 8;
  const Model expected = train_model(d.X, d.Y, p);
  p.disentangle.max_copies = 2;
  p.disentangle.min_votes = 1;
  ModelParts plain;
  const Model dis = Model::from_parts(train_model_parts(d.X, d.Y, p, {}, nullptr, &plain));
  ASSERT_GT(dis.num_slots(), dis.num_labels()) << "the test needs copies";
  const testing::TempDir dir;
  expected.save(dir.file("expected.xmr"));
  Model::from_parts(plain).save(dir.file("plain.xmr"));
  EXPECT_EQ(read_file_bytes(dir.file("expected.xmr")), read_file_bytes(dir.file("plain.xmr")));
}

TEST(Disentangle, NothingQualifyingLeavesTheTreeAndPredictionsAlone) {
  const auto d = testing::make_synthetic(1500, 90, 100, 44);
  TrainParams p;
  p.clustering.branching = 4;
  p.clustering.max_leaf_size = 8;
  const Model plain = train_model(d.X, d.Y, p);
  p.disentangle.max_copies = 3;
  p.disentangle.min_votes = 1000000;
  TrainStats st;
  const Model m = train_model(d.X, d.Y, p, {}, &st);
  ASSERT_EQ(st.disentangle_rounds.size(), 1u);
  EXPECT_EQ(st.disentangle_rounds[0].copies_added, 0u);
  EXPECT_EQ(m.num_slots(), plain.num_slots());
  PredictParams pp;
  EXPECT_EQ(m.predict_batch(d.X, pp), plain.predict_batch(d.X, pp));
}

TEST(Disentangle, SavedModelKeepsTheOverlappingAssignment) {
  const auto d = testing::make_synthetic(2000, 120, 100, 45);
  TrainParams p;
  p.clustering.branching = 4;
  p.clustering.max_leaf_size = 10;
  p.disentangle.max_copies = 3;
  p.disentangle.min_votes = 1;
  const Model m = train_model(d.X, d.Y, p);
  ASSERT_GT(m.num_slots(), m.num_labels());
  const testing::TempDir dir;
  const std::string path = dir.file("dis.xmr");
  m.save(path);
  const Model back = Model::load(path);
  EXPECT_EQ(back.num_slots(), m.num_slots());
  PredictParams pp;
  pp.repeated = RepeatedLabelScore::kMean;
  EXPECT_EQ(back.predict_batch(d.X, pp), m.predict_batch(d.X, pp));
}

TEST(Disentangle, RejectsBadParameters) {
  DisentangleParams p;
  p.max_copies = 7;
  EXPECT_THROW(p.validate(), Error);
  p.max_copies = 0;
  EXPECT_THROW(p.validate(), Error);
  p = {};
  p.reach = 11;  // beyond the matcher beam of 10
  EXPECT_THROW(p.validate(), Error);
  p = {};
  p.leaf_growth = -0.5;
  EXPECT_THROW(p.validate(), Error);
  p = {};
  p.rounds = 0;
  EXPECT_THROW(p.validate(), Error);
  EXPECT_THROW(parse_repeated_label_score("median"), Error);
}

}  // namespace
}  // namespace xmr
