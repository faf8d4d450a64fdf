// The fast inference path (chunk lookups, chunk-ordered batches) must give
// exactly what the simple path gives: the chunk searched feature by feature,
// one query at a time. Also: single-query search allocates nothing once warm.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>

#include "core/model.h"
#include "core/trainer.h"
#include "examples/synthetic_xc.h"

// Counts heap allocations made by this test binary while enabled.
namespace {
std::atomic<bool> g_counting{false};
std::atomic<size_t> g_allocations{0};
}  // namespace

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // malloc/free behind new/delete is the point here
#endif
// Every replaceable (unaligned) form, so that allocation and release always
// pair malloc with free (sanitizers check the pairing).
namespace {
void* counted_alloc(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
}  // namespace

void* operator new(size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace xmr {
namespace {

// A trained model over a synthetic set big enough that its upper chunks hold
// thousands of features (so they get lookups) and its lower ones a handful.
// The trees every model of these tests is trained with: small, on 2 threads.
TrainParams small_tree_params() {
  TrainParams tp;
  tp.clustering.branching = 4;
  tp.clustering.max_leaf_size = 20;
  tp.threads = 2;
  return tp;
}

struct Trained {
  XcDataset data;
  Model model;
};

const Trained& trained() {
  static const Trained t = [] {
    SyntheticXcParams sp;
    sp.rows = 4000;
    sp.features = 30000;
    sp.labels = 800;
    sp.seed = 7;
    XcDataset d = generate_synthetic_xc(sp);
    d.features.normalize_rows_l2();
    TrainParams tp = small_tree_params();
    Model m = train_model(d.features, d.labels, tp);
    return Trained{std::move(d), std::move(m)};
  }();
  return t;
}

// The model's tree with every lookup removed: the simple path.
TreeView without_lookups(const TreeView& tree) {
  TreeView simple = tree;
  for (LayerView& L : simple.layers) L.lookup = nullptr;
  return simple;
}

TEST(ChunkLookup, TrainedModelHasIndexedAndPlainChunks) {
  const TreeView& tree = trained().model.tree();
  ASSERT_GE(tree.layers.size(), 3u);
  size_t indexed = 0, plain = 0;
  for (const LayerView& L : tree.layers) {
    ASSERT_NE(L.lookup, nullptr);
    for (const ChunkBuckets& c : L.lookup->chunks) (c.count > 0 ? indexed : plain)++;
  }
  EXPECT_GT(indexed, 0u);
  EXPECT_GT(plain, 0u);
}

TEST(ChunkLookup, EveryChunkScoresBitIdenticalToTheSearch) {
  const Trained& t = trained();
  const TreeView& tree = t.model.tree();
  std::vector<float> fast, simple;
  for (size_t i = 0; i < 200; ++i) {
    const SparseVectorView q = t.data.features.row(i);
    for (const LayerView& L : tree.layers) {
      for (size_t p = 0; p < L.num_parents; ++p) {
        const size_t w = L.num_children_of(p);
        fast.assign(w, -1.0f);
        simple.assign(w, -2.0f);
        L.score_chunk(p, q, fast.data());
        L.score_chunk_search(p, q, simple.data());
        ASSERT_EQ(0, std::memcmp(fast.data(), simple.data(), w * sizeof(float))) << "row " << i << " parent " << p;
      }
    }
  }
}

// Hand-made chunks around the edges of the bucket arithmetic: feature 0, the
// largest id, dense runs, big gaps, and query features before, between and
// after a chunk's features.
TEST(ChunkLookup, EdgeFeatureIdsMatchTheSearch) {
  const std::vector<std::vector<Index>> chunk_features = {
      {0, 1, 2, 3, 4, 5, 6, 7},                                      // dense from 0
      {5, 9, 1000, 1001, 70000, 70001, 70002, 4000000000u, 4294967294u},  // gaps up to the top
      {100, 200, 300},                                              // too small to index
      {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180},
  };
  LayerData data;
  data.child_ptr = {0};
  std::mt19937 rng(3);
  for (const auto& feats : chunk_features) {
    data.child_ptr.push_back(data.child_ptr.back() + 3);
    for (Index f : feats) {
      data.feat_ids.push_back(f);
      for (ChildSlot c = 0; c < 3; ++c) {
        data.entry_child.push_back(c);
        data.entry_value.push_back(float(rng() % 1000) / 100.0f - 5.0f);
      }
      data.feat_ptr.push_back(data.entry_value.size());
    }
    data.chunk_ptr.push_back(data.feat_ids.size());
    for (int c = 0; c < 3; ++c) data.bias.push_back(0.25f);
  }
  LayerView L = data.view();
  const LayerLookup lookup = build_lookup(L);
  EXPECT_GT(lookup.chunks[0].count, 0u);
  EXPECT_EQ(lookup.chunks[2].count, 0u);
  L.lookup = &lookup;

  std::vector<Index> candidates = {0, 1, 4, 7, 8, 9, 10, 15, 99, 100, 101, 180, 181, 999, 1000, 1001, 1002,
                                   70000, 70002, 70003, 3999999999u, 4000000000u, 4294967294u, 4294967295u};
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<Index> idx;
    for (Index f : candidates) {
      if (rng() % 3 == 0) idx.push_back(f);
    }
    std::vector<float> val(idx.size());
    for (float& v : val) v = float(rng() % 100) / 10.0f;
    const SparseVectorView q{idx.data(), val.data(), idx.size()};
    for (size_t p = 0; p < L.num_parents; ++p) {
      float fast[3], simple[3];
      L.score_chunk(p, q, fast);
      L.score_chunk_search(p, q, simple);
      ASSERT_EQ(0, std::memcmp(fast, simple, sizeof fast)) << "trial " << trial << " chunk " << p;
    }
  }
}

// The whole fast path (lookups + chunk-ordered batches) against the simple
// path (plain search, one query at a time): same labels, same scores.
TEST(FastPath, BatchByChunkWithLookupsEqualsSimplePath) {
  const Trained& t = trained();
  const TreeView simple = without_lookups(t.model.tree());
  // At beam 64 the one-pass search is the faster.
  ASSERT_NE(t.model.flat_index(), nullptr);
  ASSERT_TRUE(t.model.flat_index()->faster(64, 35));
  for (int beam : {1, 5, 10, 64}) {
    PredictParams p = t.model.default_predict_params();
    p.beam_size = beam;
    p.top_k = 10;
    const auto by_chunk = t.model.predict_batch(t.data.features, p, 2, Model::BatchOrder::kByChunk);
    const auto by_query = t.model.predict_batch(t.data.features, p, 2, Model::BatchOrder::kByQuery);
    InferenceWorkspace ws;
    std::vector<ScoredLabel> expected;
    for (size_t i = 0; i < t.data.features.rows; ++i) {
      beam_search(simple, t.data.features.row(i), p, ws, expected);
      ASSERT_EQ(by_chunk[i].size(), expected.size()) << "row " << i;
      for (size_t j = 0; j < expected.size(); ++j) {
        ASSERT_EQ(by_chunk[i][j].label, expected[j].label) << "row " << i << " rank " << j << " beam " << beam;
        ASSERT_NEAR(by_chunk[i][j].score, expected[j].score, 1e-6f) << "row " << i << " rank " << j;
      }
      ASSERT_EQ(by_query[i], expected) << "row " << i;
    }
  }
}

TEST(FastPath, SingleQuerySearchDoesNotAllocateOnceWarm) {
  const Trained& t = trained();
  PredictParams p = t.model.default_predict_params();
  InferenceWorkspace ws;
  std::vector<ScoredLabel> out;
  out.reserve(size_t(p.top_k));
  const size_t half = t.data.features.rows / 2;
  for (size_t i = 0; i < half; ++i) t.model.predict(t.data.features.row(i), p, ws, out);  // warm-up
  g_allocations = 0;
  g_counting = true;
  for (size_t i = half; i < t.data.features.rows; ++i) t.model.predict(t.data.features.row(i), p, ws, out);
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0u);
  // The counter itself works: a fresh workspace must allocate.
  InferenceWorkspace fresh;
  g_counting = true;
  t.model.predict(t.data.features.row(0), p, fresh, out);
  g_counting = false;
  EXPECT_GT(g_allocations.load(), 0u);
}

// Searches and scores four labels for the first half of X's rows (warm-up),
// then expects no allocation over the second half.
void expect_search_and_scoring_do_not_allocate_once_warm(const Model& model, const CsrMatrix& X, int beam = 10) {
  PredictParams p = model.default_predict_params();
  p.beam_size = beam;
  InferenceWorkspace ws;
  std::vector<ScoredLabel> out;
  std::vector<float> scores(4);
  const Index labels[4] = {0, 5, 77, 301};
  const size_t half = X.rows / 2;
  for (size_t i = 0; i < half; ++i) {
    model.predict(X.row(i), p, ws, out);
    model.score_labels(X.row(i), labels, 4, p, ws, scores.data());
  }
  g_allocations = 0;
  g_counting = true;
  for (size_t i = half; i < X.rows; ++i) {
    model.predict(X.row(i), p, ws, out);
    model.score_labels(X.row(i), labels, 4, p, ws, scores.data());
  }
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0u);
}

TEST(FastPath, EnsembleSearchAndScoringDoNotAllocateOnceWarm) {
  const Trained& t = trained();
  TrainParams tp = small_tree_params();
  tp.trees = 3;
  const Model ensemble = train_model(t.data.features, t.data.labels, tp);
  ASSERT_EQ(ensemble.num_trees(), 3u);
  expect_search_and_scoring_do_not_allocate_once_warm(ensemble, t.data.features);
  // A beam where the one-pass search is the faster.
  ASSERT_NE(ensemble.flat_index(), nullptr);
  ASSERT_TRUE(ensemble.flat_index()->faster(64, 35));
  expect_search_and_scoring_do_not_allocate_once_warm(ensemble, t.data.features, 64);
}

TEST(FastPath, DeepMatcherSearchAndScoringDoNotAllocateOnceWarm) {
  const Trained& t = trained();
  TrainParams tp = small_tree_params();
  tp.deep.enabled = true;
  tp.deep.encoder.dim = 16;
  tp.deep.encoder.epochs = 1;
  const Model deep = train_model(t.data.features, t.data.labels, tp);
  ASSERT_NE(deep.encoder(), nullptr);
  expect_search_and_scoring_do_not_allocate_once_warm(deep, t.data.features);
}

TEST(FastPath, KnnVoteSearchAndScoringDoNotAllocateOnceWarm) {
  const Trained& t = trained();
  TrainParams tp = small_tree_params();
  tp.knn.k = 25;
  const Model m = train_model(t.data.features, t.data.labels, tp);
  ASSERT_NE(m.knn(), nullptr);
  expect_search_and_scoring_do_not_allocate_once_warm(m, t.data.features);
}

}  // namespace
}  // namespace xmr
