// Accuracy on the shared Extreme Classification sets against the reference
// XR-Linear figures (../shared/datasets/README.md). Skips when the data is absent.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>
#include <sys/stat.h>

#include "core/metrics.h"
#include "core/trainer.h"
#include "core/xc_format.h"

namespace xmr {
namespace {

struct Reference {
  const char* name;
  double p1, p3, p5;
  double reference_train_seconds;
};

// Reads the set's train and test files (rows L2-normalised); false when absent.
bool load_dataset(const char* name, XcDataset* train, XcDataset* test) {
  const std::string dir = std::string(XMR_DATASETS_DIR) + "/" + name;
  struct stat st;
  if (::stat((dir + "/train.txt").c_str(), &st) != 0) return false;
  *train = read_xc_file(dir + "/train.txt");
  *test = read_xc_file(dir + "/test.txt");
  train->features.normalize_rows_l2();
  test->features.normalize_rows_l2();
  return true;
}

#define LOAD_OR_SKIP(name, train, test)                                                                  \
  if (!load_dataset(name, &train, &test)) {                                                              \
    GTEST_SKIP() << "shared dataset absent: " << XMR_DATASETS_DIR << "/" << name                         \
                 << "/train.txt (run from a checkout with ../shared/datasets)";                           \
  }

RankingMetrics evaluate(const Model& model, const XcDataset& test) {
  PredictParams p = model.default_predict_params();  // beam 10
  p.top_k = 5;
  return evaluate_ranking(model.predict_batch(test.features, p), test.labels, 5);
}

void check_dataset(const Reference& ref) {
  XcDataset train, test;
  LOAD_OR_SKIP(ref.name, train, test);
  TrainParams params;  // defaults: PIFA, B = 16, leaf 100, L2-SVM, C = 1, threshold 0.1, seed 0
  const auto t0 = std::chrono::steady_clock::now();
  const Model model = train_model(train.features, train.labels, params);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const RankingMetrics m = evaluate(model, test);
  std::printf("[%s] P@1/3/5 = %.2f / %.2f / %.2f (reference %.2f / %.2f / %.2f); train %.2f s (reference %.2f s)\n",
              ref.name, 100 * m.precision[0], 100 * m.precision[2], 100 * m.precision[4], ref.p1, ref.p3, ref.p5, secs,
              ref.reference_train_seconds);
  // The reference is printed to two decimals: equal within its rounding counts as reached.
  EXPECT_GE(100 * m.precision[0], ref.p1 - 0.005) << ref.name << " P@1 below the reference XR-Linear figure";
}

TEST(DatasetAccuracy, Bibtex) { check_dataset({"bibtex", 63.38, 38.65, 28.05, 0.27}); }
TEST(DatasetAccuracy, Delicious) { check_dataset({"delicious", 65.90, 59.96, 55.30, 2.02}); }

// Label disentanglement (K = 2, defaults otherwise) must not cost more than
// 0.2 points of P@5 against the plain model, and must add copies.
void check_disentangled(const char* name, bool route) {
  XcDataset train, test;
  LOAD_OR_SKIP(name, train, test);
  TrainParams params;
  params.disentangle.max_copies = 2;
  params.disentangle.route_positives = route;
  ModelParts plain_parts;  // the model before disentanglement: the plain one
  const Model model =
      Model::from_parts(train_model_parts(train.features, train.labels, params, {}, nullptr, &plain_parts));
  const RankingMetrics plain = evaluate(Model::from_parts(plain_parts), test);
  const RankingMetrics dis = evaluate(model, test);
  std::printf("[%s, disentangled%s] %zu copies; P@5 %.2f -> %.2f\n", name, route ? ", routed" : "",
              model.num_slots() - model.num_labels(), 100 * plain.precision[4], 100 * dis.precision[4]);
  EXPECT_GT(model.num_slots(), model.num_labels());
  EXPECT_GE(100 * dis.precision[4], 100 * plain.precision[4] - 0.2) << name;
}

TEST(DatasetAccuracy, DisentangledBibtex) { check_disentangled("bibtex", false); }
TEST(DatasetAccuracy, DisentangledBibtexRouted) { check_disentangled("bibtex", true); }
TEST(DatasetAccuracy, DisentangledDelicious) { check_disentangled("delicious", false); }

// P@k of the model `parts` makes, and of the one left when `strip` removes
// what it adds (more trees, a vote): {without, with}.
template <typename Strip>
std::pair<RankingMetrics, RankingMetrics> without_and_with(ModelParts parts, const XcDataset& test, Strip strip) {
  const RankingMetrics with = evaluate(Model::from_parts(parts), test);
  strip(parts);
  return {evaluate(Model::from_parts(parts), test), with};
}

// Three trees (seeds 0-2, leaves 100/50/100) against the first alone:
// measured +0.50 P@1 and +0.57 P@5 on delicious, +0.32 / +0.15 on bibtex
// (top 5 of top 10 per tree); asserted with 0.3 points of margin.
void check_ensemble(const char* name, double min_gain_p1, double min_gain_p5) {
  XcDataset train, test;
  LOAD_OR_SKIP(name, train, test);
  TrainParams params;
  params.trees = 3;
  const auto [one, three] = without_and_with(train_model_parts(train.features, train.labels, params), test,
                                             [](ModelParts& p) { p.more_trees.clear(); });
  std::printf("[%s, 3 trees] P@1 %.2f -> %.2f, P@5 %.2f -> %.2f\n", name, 100 * one.precision[0],
              100 * three.precision[0], 100 * one.precision[4], 100 * three.precision[4]);
  EXPECT_GE(100 * (three.precision[0] - one.precision[0]), min_gain_p1) << name;
  EXPECT_GE(100 * (three.precision[4] - one.precision[4]), min_gain_p5) << name;
}

// The k-nearest-neighbour vote (--knn 25, power 3) against the same trees
// alone. Weight 0.3: measured +1.67 P@1 and +1.05 P@5 on delicious' test
// split (66.12 -> 67.79, 55.39 -> 56.44), asserted with about 0.6 points of
// margin. Weight auto: on a held-out fifth of the training rows the vote
// gained more than twice its standard error on delicious (weight 0.5: test
// P@1 66.12 -> 68.48) and not on bibtex (left out: the trees alone).
void check_knn(const char* name, float weight, double min_gain_p1, std::optional<double> min_gain_p5) {
  XcDataset train, test;
  LOAD_OR_SKIP(name, train, test);
  TrainParams params;
  params.knn.k = 25;
  params.knn.weight = weight;
  TrainStats st;
  const auto [trees, with] = without_and_with(train_model_parts(train.features, train.labels, params, {}, &st), test,
                                              [](ModelParts& p) { p.knn.reset(); });
  char weight_text[16] = "auto";
  if (weight != kKnnAutoWeight) std::snprintf(weight_text, sizeof weight_text, "%g", double(weight));
  std::printf("[%s, knn 25, weight %s] %s%sP@1 %.2f -> %.2f, P@5 %.2f -> %.2f\n", name, weight_text,
              st.knn_choice.c_str(), st.knn_choice.empty() ? "" : "; ", 100 * trees.precision[0], 100 * with.precision[0], 100 * trees.precision[4],
              100 * with.precision[4]);
  EXPECT_GE(100 * (with.precision[0] - trees.precision[0]), min_gain_p1) << name;
  if (min_gain_p5) {
    EXPECT_GE(100 * (with.precision[4] - trees.precision[4]), *min_gain_p5) << name;
  }
}

TEST(DatasetAccuracy, KnnVoteDelicious) { check_knn("delicious", 0.3f, 1.0, 0.5); }
TEST(DatasetAccuracy, KnnAutoDelicious) { check_knn("delicious", kKnnAutoWeight, 1.0, std::nullopt); }
TEST(DatasetAccuracy, KnnAutoBibtex) { check_knn("bibtex", kKnnAutoWeight, -0.3, std::nullopt); }

TEST(DatasetAccuracy, EnsembleDelicious) { check_ensemble("delicious", 0.2, 0.27); }
TEST(DatasetAccuracy, EnsembleBibtex) { check_ensemble("bibtex", 0.02, -0.15); }

}  // namespace
}  // namespace xmr
