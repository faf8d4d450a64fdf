// The k-nearest-neighbour vote (core/knn_vote.h): votes against a brute-force
// count, fused scores against the rule, the file round trip, and corrupt
// sections refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include "core/error.h"
#include "core/file_util.h"
#include "core/knn_weight.h"
#include "core/model.h"
#include "core/trainer.h"
#include "tests/core/synthetic.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

using testing::error_of;

// label -> vote, by the definition: every training row's dot product with q
// (in float, features ascending, as the vote adds them, so ties and the k-th
// row come out the same), the k largest positive ones (ties: lower row),
// each voting sim^power.
std::map<Index, double> brute_force_votes(const CsrMatrix& X, const CsrMatrix& Y, const SparseVectorView& q,
                                          const KnnVoteParams& p) {
  std::vector<std::pair<double, Index>> sims;
  for (size_t r = 0; r < X.rows; ++r) {
    float s = 0;
    const SparseVectorView row = X.row(r);
    for (size_t i = 0, j = 0; i < q.nnz && j < row.nnz;) {
      if (q.indices[i] < row.indices[j]) ++i;
      else if (q.indices[i] > row.indices[j]) ++j;
      else s += q.values[i++] * row.values[j++];
    }
    if (s > 0) sims.emplace_back(-double(s), Index(r));
  }
  std::sort(sims.begin(), sims.end());
  sims.resize(std::min(sims.size(), size_t(p.k)));
  std::map<Index, double> votes;
  double total = 0;
  for (const auto& [neg, r] : sims) {
    const double w = std::pow(-neg, double(p.power));
    total += w;
    const SparseVectorView labels = Y.row(r);
    for (size_t e = 0; e < labels.nnz; ++e) votes[labels.indices[e]] += w;
  }
  for (auto& [l, v] : votes) v /= total;
  return votes;
}

KnnVoteParams knn_params(int k) {
  KnnVoteParams p;
  p.k = k;
  return p;
}

TrainParams small_knn_params(int k, int trees = 1) {
  TrainParams tp;
  tp.clustering.branching = 4;
  tp.clustering.max_leaf_size = 10;
  tp.trees = trees;
  tp.knn = knn_params(k);
  return tp;
}

class KnnVoteTest : public ::testing::Test {
 protected:
  void SetUp() override { data_ = testing::make_synthetic(500, 60, 50, 3); }
  testing::SyntheticData data_;
  testing::TempDir dir_;
};

// The synthetic rows spread over 20 x as many features, so each feature is
// held by few rows (no dense column) and a short query reaches few rows.
CsrMatrix spread_features(const CsrMatrix& X) {
  CsrMatrix out;
  out.cols = X.cols * 20;
  for (size_t r = 0; r < X.rows; ++r) {
    std::vector<std::pair<Index, float>> e;
    const SparseVectorView row = X.row(r);
    for (size_t j = 0; j < row.nnz; ++j) e.emplace_back(Index(row.indices[j] + X.cols * (r % 20)), row.values[j]);
    out.append_row(e);
  }
  return out;
}

TEST_F(KnnVoteTest, VotesAreTheNearestRowsLabelSharesByBruteForce) {
  // Common features (dense columns, every row scanned) and rare ones (rows
  // tracked as they are touched), short queries and whole rows.
  const CsrMatrix spread = spread_features(data_.X);
  for (const CsrMatrix* X : std::vector<const CsrMatrix*>{&data_.X, &spread}) {
    for (int k : {1, 5, 25, 500}) {
      const auto vote = KnnVote::build(*X, data_.Y, knn_params(k));
      KnnWorkspace ws;
      for (size_t i = 0; i < X->rows; i += 13) {
        for (size_t nnz : {size_t(1), X->row_nnz(i)}) {
          SparseVectorView q = X->row(i);
          q.nnz = std::min(q.nnz, nnz);
          vote->vote(q, ws);
          const auto expected = brute_force_votes(*X, data_.Y, q, knn_params(k));
          ASSERT_EQ(ws.votes.size(), expected.size()) << "k " << k << " row " << i;
          double sum = 0;
          for (const auto& [label, v] : ws.votes) {
            ASSERT_TRUE(expected.count(label)) << "label " << label;
            EXPECT_NEAR(v, expected.at(label), 1e-5) << "k " << k << " row " << i << " label " << label;
            sum += v;
          }
          // The votes sum to the neighbours' weighted mean label count: at
          // least 1, as every synthetic row has a label.
          if (!ws.votes.empty()) {
            EXPECT_GE(sum, 1.0 - 1e-5);
          }
          EXPECT_TRUE(std::is_sorted(ws.votes.begin(), ws.votes.end()));
        }
      }
    }
  }
}

TEST_F(KnnVoteTest, AQueryTouchingNoRowGetsNoVotesAndTheTreesOrder) {
  // One more feature, which no training row has: no row is similar.
  CsrMatrix X = data_.X;
  X.cols += 1;
  const ModelParts parts = train_model_parts(X, data_.Y, small_knn_params(5));
  const Model m = Model::from_parts(parts);
  ModelParts trees_parts = parts;
  trees_parts.knn.reset();
  const Model trees = Model::from_parts(trees_parts);
  const Index f = Index(X.cols - 1);
  const float one = 1.0f;
  SparseVectorView q{&f, &one, 1};
  InferenceWorkspace ws;
  std::vector<ScoredLabel> fused, plain;
  PredictParams pp = m.default_predict_params();
  m.predict(q, pp, ws, fused);
  trees.predict(q, pp, ws, plain);
  ASSERT_EQ(fused.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(fused[i].label, plain[i].label);
    EXPECT_FLOAT_EQ(fused[i].score, 0.7f * plain[i].score);
  }
}

TEST_F(KnnVoteTest, FusedScoresFollowTheRuleAndServeAlikeEveryWay) {
  for (int trees : {1, 2}) {
    const ModelParts parts = train_model_parts(data_.X, data_.Y, small_knn_params(10, trees));
    ASSERT_NE(parts.knn, nullptr);
    const std::string path = dir_.file("knn" + std::to_string(trees) + ".xmr");
    Model::from_parts(parts).save(path);
    const Model m = Model::load(path);
    ASSERT_NE(m.knn(), nullptr);
    EXPECT_EQ(m.knn()->params().k, 10);
    const std::string bytes = read_file_bytes(path);
    uint32_t version = 0;
    std::memcpy(&version, bytes.data() + 8, sizeof version);
    EXPECT_EQ(version, 5u);
    ModelParts trees_parts = parts;
    trees_parts.knn.reset();
    const Model trees_only = Model::from_parts(trees_parts);

    PredictParams pp = m.default_predict_params();
    pp.top_k = 5;
    const auto batch = m.predict_batch(data_.X, pp, 2);
    EXPECT_EQ(batch, Model::from_parts(parts).predict_batch(data_.X, pp, 1));
    EXPECT_EQ(batch, m.predict_batch(data_.X, pp, 1, Model::BatchOrder::kByChunk));
    PredictParams wide = pp;
    wide.top_k = pp.beam_size;  // the trees' list that is fused
    InferenceWorkspace ws;
    std::vector<ScoredLabel> one, listed;
    size_t changed = 0;
    for (size_t i = 0; i < data_.X.rows; i += 7) {
      const SparseVectorView q = data_.X.row(i);
      m.predict(q, pp, ws, one);
      ASSERT_EQ(one, batch[i]) << "row " << i;
      trees_only.predict(q, wide, ws, listed);
      const auto votes = brute_force_votes(data_.X, data_.Y, q, m.knn()->params());
      // Every fused score is 0.7 x the trees' listed score (0 if unlisted) + 0.3 x the vote.
      std::map<Index, float> fused;
      for (const ScoredLabel& s : listed) fused[s.label] = 0.7f * s.score;
      for (const auto& [l, v] : votes) fused[l] += 0.3f * float(v);
      std::vector<std::pair<float, Index>> best;
      for (const auto& [l, s] : fused) best.emplace_back(-s, l);
      std::sort(best.begin(), best.end());
      ASSERT_EQ(one.size(), std::min<size_t>(5, best.size()));
      for (size_t r = 0; r < one.size(); ++r) {
        EXPECT_NEAR(one[r].score, -best[r].first, 1e-5f) << "row " << i << " rank " << r;
      }
      changed += one.front().label != listed.front().label;
      // score_labels gives a label the trees listed its fused score (one
      // tree: an ensemble's list counts 0 for a tree that did not list it).
      if (trees > 1) continue;
      std::vector<Index> labels;
      std::vector<float> expected;
      for (const ScoredLabel& s : one) {
        if (std::any_of(listed.begin(), listed.end(), [&](const ScoredLabel& t) { return t.label == s.label; })) {
          labels.push_back(s.label);
          expected.push_back(s.score);
        }
      }
      std::vector<float> scores(labels.size());
      m.score_labels(q, labels.data(), labels.size(), pp, ws, scores.data());
      for (size_t r = 0; r < labels.size(); ++r) EXPECT_NEAR(scores[r], expected[r], 1e-5f) << "row " << i;
    }
    // On its own training rows the vote of the row itself moves some tops.
    EXPECT_GT(changed, 0u) << trees << " trees";
  }
}

TEST_F(KnnVoteTest, ParamsOutOfRangeAreRefused) {
  KnnVoteParams p = knn_params(-1);
  EXPECT_NE(error_of([&] { p.validate(); }).find("knn: k must be in 0.."), std::string::npos);
  p = knn_params(5);
  p.weight = 0;
  EXPECT_NE(error_of([&] { p.validate(); }).find("knn: weight must be in (0, 1]"), std::string::npos);
  p.weight = 0.3f;
  p.power = NAN;
  EXPECT_NE(error_of([&] { p.validate(); }).find("knn: power"), std::string::npos);
  CsrMatrix fewer = data_.Y.select_rows({0, 1});
  EXPECT_NE(error_of([&] { KnnVote::build(data_.X, fewer, knn_params(3)); }).find("feature rows but 2 label rows"),
            std::string::npos);
}

TEST_F(KnnVoteTest, CorruptOrTruncatedSectionsAreRefusedNamingTheFile) {
  Model::from_parts(train_model_parts(data_.X, data_.Y, small_knn_params(5))).save(dir_.file("good.xmr"));
  const std::string bytes = read_file_bytes(dir_.file("good.xmr"));
  const ModelFileReader r = ModelFileReader::open(ModelBlob::copy_of(bytes), "t", true);
  auto offset_of = [&](const std::string& name) {
    const auto* s = r.find(name);
    EXPECT_NE(s, nullptr) << name;
    return size_t(s->data - r.blob->data());
  };
  LoadOptions unchecked;
  unchecked.verify_checksums = false;  // past the checksums, to the checks of the arrays
  auto load_error = [&](const std::string& file, const std::string& content, const LoadOptions& o) {
    testing::write_text(dir_.file(file), content);
    return error_of([&] { Model::load(dir_.file(file), o); });
  };
  std::string flipped = bytes;
  flipped[offset_of("knn/rows") + 4] ^= 0x40;
  EXPECT_NE(load_error("flipped.xmr", flipped, {}).find("flipped.xmr: corrupt model: checksum mismatch in section 'knn/rows'"),
            std::string::npos);
  std::string bad_label = bytes;
  const uint32_t huge = 1000000;
  std::memcpy(&bad_label[offset_of("knn/labels")], &huge, sizeof huge);
  EXPECT_NE(load_error("label.xmr", bad_label, unchecked).find("label.xmr: corrupt knn vote: a label out of range"),
            std::string::npos);
  std::string bad_row = bytes;
  std::memcpy(&bad_row[offset_of("knn/rows")], &huge, sizeof huge);
  EXPECT_NE(load_error("row.xmr", bad_row, unchecked).find("row.xmr: corrupt knn vote: feature"), std::string::npos);
  std::string bad_ptr = bytes;
  const uint64_t far = uint64_t(1) << 50;
  std::memcpy(&bad_ptr[offset_of("knn/feature_ptr") + 8 * data_.X.cols], &far, sizeof far);
  EXPECT_NE(load_error("ptr.xmr", bad_ptr, unchecked).find("ptr.xmr: corrupt model: knn entry counts out of range"),
            std::string::npos);
  // Cut short: the file's size check names it.
  EXPECT_NE(load_error("short.xmr", bytes.substr(0, offset_of("knn/labels")), {}).find("short.xmr"), std::string::npos);
}

// Labels a linear model cannot learn and neighbours can: the label is the
// XOR of which of two "a" features and which of two "b" features a row has.
testing::SyntheticData xor_data(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  testing::SyntheticData d;
  d.X.cols = 10;
  d.Y.cols = 2;
  for (size_t i = 0; i < n; ++i) {
    const Index a = Index(rng() % 2), b = Index(rng() % 2);
    d.X.append_row({{a, 1.0f}, {Index(2 + b), 1.0f}, {Index(4 + rng() % 6), 0.3f}});
    d.Y.append_row({{Index(a ^ b), 1.0f}});
  }
  d.X.normalize_rows_l2();
  return d;
}

TEST_F(KnnVoteTest, AnAutoWeightIsChosenWhereTheVoteHelpsAndLeftOutWhereItDoesNot) {
  TrainParams p = small_knn_params(10);
  p.knn.weight = kKnnAutoWeight;
  // XOR labels: the trees are at chance, the neighbours right.
  const testing::SyntheticData x = xor_data(600, 5);
  const KnnWeightChoice helps = choose_knn_weight(x.X, x.Y, p);
  EXPECT_GT(helps.weight, 0.0f);
  EXPECT_GT(helps.p1_fused, helps.p1_trees + 0.2);
  EXPECT_EQ(choose_knn_weight(x.X, x.Y, p).to_json(), helps.to_json());  // deterministic
  TrainStats st;
  const ModelParts on = train_model_parts(x.X, x.Y, p, {}, &st);
  ASSERT_NE(on.knn, nullptr);
  EXPECT_EQ(on.knn->params().weight, helps.weight);
  EXPECT_NE(on.train_params_json.find("\"knn_auto\":{\"chosen\":"), std::string::npos);
  EXPECT_NE(st.knn_choice.find("knn weight "), std::string::npos);
  // The prototype data: the trees are (nearly) always right, nothing to gain.
  const KnnWeightChoice none = choose_knn_weight(data_.X, data_.Y, p);
  EXPECT_EQ(none.weight, 0.0f) << none.to_json();
  const ModelParts off = train_model_parts(data_.X, data_.Y, p);
  EXPECT_EQ(off.knn, nullptr);
  TrainParams plain = p;
  plain.knn = KnnVoteParams{};
  PredictParams pp;
  EXPECT_EQ(Model::from_parts(off).predict_batch(data_.X, pp, 1),
            Model::from_parts(train_model_parts(data_.X, data_.Y, plain)).predict_batch(data_.X, pp, 1));
  // A vote is never built with the weight still auto.
  EXPECT_NE(error_of([&] { KnnVote::build(data_.X, data_.Y, p.knn); }).find("still auto"), std::string::npos);
}

TEST_F(KnnVoteTest, AVoteOverOtherShapesIsRefused) {
  ModelParts parts = train_model_parts(data_.X, data_.Y, small_knn_params(5));
  const testing::SyntheticData other = testing::make_synthetic(100, 70, 50, 4);
  parts.knn = KnnVote::build(other.X, other.Y, knn_params(5));
  EXPECT_NE(error_of([&] { Model::from_parts(parts); }).find("the knn vote's rows have"), std::string::npos);
}

}  // namespace
}  // namespace xmr
