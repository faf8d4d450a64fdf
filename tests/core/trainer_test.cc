#include "core/trainer.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/file_util.h"
#include "core/metrics.h"
#include "tests/core/synthetic.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

TrainParams small_params() {
  TrainParams tp;
  tp.clustering.branching = 4;
  tp.clustering.max_leaf_size = 10;
  return tp;
}

double precision_at_1(const Model& m, const testing::SyntheticData& d) {
  PredictParams p;
  p.top_k = 1;
  return evaluate_ranking(m.predict_batch(d.X, p), d.Y, 1).precision[0];
}

TEST(Trainer, LearnsTheSyntheticStructure) {
  const auto train = testing::make_synthetic(3000, 100, 200, 31);
  const auto test = testing::make_synthetic(500, 100, 200, 32);
  const Model m = train_model(train.X, train.Y, small_params());
  EXPECT_GT(precision_at_1(m, test), 0.9);  // each instance's labels own its prototype features
}

TEST(Trainer, DeterministicAcrossThreadCounts) {
  const auto d = testing::make_synthetic(1500, 90, 100, 33);
  TrainParams tp = small_params();
  tp.negatives = NegativeSampling::kBoth;
  tp.threads = 1;
  testing::TempDir dir;
  train_model(d.X, d.Y, tp).save(dir.file("a.xmr"));
  tp.threads = 2;
  train_model(d.X, d.Y, tp).save(dir.file("b.xmr"));
  EXPECT_EQ(read_file_bytes(dir.file("a.xmr")), read_file_bytes(dir.file("b.xmr")));
}

TEST(Trainer, AllNegativeSamplingModesAndSolversTrain) {
  const auto d = testing::make_synthetic(1500, 60, 100, 34);
  for (auto neg : {NegativeSampling::kTeacherForced, NegativeSampling::kMatcherAware, NegativeSampling::kBoth}) {
    for (auto solver : {SolverKind::kL2SvmDual, SolverKind::kLogisticDual}) {
      TrainParams tp = small_params();
      tp.negatives = neg;
      tp.solver.kind = solver;
      EXPECT_GT(precision_at_1(train_model(d.X, d.Y, tp), d), 0.85)
          << negative_sampling_name(neg) << " " << solver_name(solver);
    }
  }
}

TEST(Trainer, ThresholdPrunesWeights) {
  const auto d = testing::make_synthetic(800, 40, 80, 35);
  TrainParams tp = small_params();
  tp.weight_threshold = 0.0f;
  const Model dense = train_model(d.X, d.Y, tp);
  tp.weight_threshold = 0.3f;
  const Model sparse = train_model(d.X, d.Y, tp);
  size_t nd = 0, ns = 0;
  for (size_t t = 0; t < dense.depth(); ++t) {
    nd += dense.tree().layers[t].nnz;
    ns += sparse.tree().layers[t].nnz;
    const LayerView& L = sparse.tree().layers[t];
    for (size_t e = 0; e < L.nnz; ++e) EXPECT_GE(std::fabs(L.entry_value[e]), 0.3f);
  }
  EXPECT_LT(ns, nd);
}

TEST(Trainer, UserTreeIsUsedAsGiven) {
  const auto d = testing::make_synthetic(600, 12, 60, 36);
  LabelTree tree;  // root -> 3 leaves of 4 labels, in label order
  tree.num_labels = 12;
  tree.child_ptr = {{0, 3}, {0, 4, 8, 12}};
  for (Index l = 0; l < 12; ++l) tree.slot_label.push_back(l);
  TrainInputs in;
  in.tree = &tree;
  const Model m = train_model(d.X, d.Y, small_params(), in);
  ASSERT_EQ(m.depth(), 2u);
  for (Index s = 0; s < 12; ++s) EXPECT_EQ(m.tree().slot_label[s], s);
  EXPECT_GT(precision_at_1(m, d), 0.8);
}

TEST(Trainer, LabelFeaturesAreConcatenated) {
  const auto d = testing::make_synthetic(600, 30, 60, 37);
  CsrMatrix lf;
  lf.cols = 2;
  for (size_t l = 0; l < 30; ++l) lf.append_row({{Index(l % 2), 1.0f}});
  TrainInputs in;
  in.label_features = &lf;
  EXPECT_GT(precision_at_1(train_model(d.X, d.Y, small_params(), in), d), 0.8);
  CsrMatrix wrong;
  wrong.cols = 2;
  wrong.append_row({{0, 1.0f}});
  in.label_features = &wrong;
  EXPECT_THROW(train_model(d.X, d.Y, small_params(), in), Error);
}

TEST(Trainer, BadShapesAndParamsAreErrors) {
  const auto d = testing::make_synthetic(100, 10, 20, 38);
  CsrMatrix fewer = d.Y.select_rows({0, 1});
  EXPECT_THROW(train_model(d.X, fewer, small_params()), Error);
  TrainParams tp = small_params();
  tp.solver.Cp = 0;
  EXPECT_THROW(train_model(d.X, d.Y, tp), Error);
  tp = small_params();
  tp.solver.max_iter = 0;
  EXPECT_THROW(train_model(d.X, d.Y, tp), Error);
  EXPECT_THROW(parse_negative_sampling("random"), Error);
  EXPECT_THROW(parse_solver("l1-svm"), Error);
}

}  // namespace
}  // namespace xmr
