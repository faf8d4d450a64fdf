#include "core/flat_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/ensemble.h"
#include "core/model.h"
#include "core/trainer.h"
#include "tests/core/synthetic.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

std::vector<TreeView> trees_of(const Model& m) {
  std::vector<TreeView> trees;
  for (size_t i = 0; i < m.num_trees(); ++i) trees.push_back(m.member_tree(i));
  return trees;
}

// Searched chunk by chunk: what the one-pass search must equal.
void chunk_search(const std::vector<TreeView>& trees, const SparseVectorView& q, const PredictParams& p,
                  InferenceWorkspace& ws, std::vector<ScoredLabel>& out) {
  if (trees.size() == 1) {
    beam_search(trees.front(), q, p, ws, out);
  } else {
    ensemble_search(trees, q, p, ws, out);
  }
}

// Same labels and bit-identical scores as beam search, at any beam (the
// index scores every node; the beam still decides which are expanded).
TEST(FlatSearch, EqualsChunkByChunkSearchBitForBit) {
  // 60 features, each on most nodes (all dense rows); 200, some on most
  // nodes, most on few (rows and entries); 2,000, each on few (all entries).
  bool rows_seen = false, entries_seen = false, both_seen = false;
  for (size_t dim : {60, 200, 2000}) {
    const testing::SyntheticData d = testing::make_synthetic(600, 80, dim, 5);
    for (int num_trees : {1, 3}) {
      TrainParams tp;
      tp.clustering.branching = 4;
      tp.clustering.max_leaf_size = 10;
      tp.trees = num_trees;
      const Model model = train_model(d.X, d.Y, tp);
      const std::vector<TreeView> trees = trees_of(model);
      const auto index = build_flat_index(trees, model.num_features(), model.num_features());
      ASSERT_NE(index, nullptr);
      EXPECT_NE(model.flat_index(), nullptr);
      rows_seen |= !index->row_features.empty();
      entries_seen |= !index->merged.entry_value.empty();
      both_seen |= !index->row_features.empty() && !index->merged.entry_value.empty();
      for (int beam : {1, 3, 10, 40}) {
        PredictParams p = model.default_predict_params();
        p.beam_size = beam;
        p.top_k = 7;
        InferenceWorkspace ws_flat, ws_chunk;
        std::vector<ScoredLabel> flat, expected;
        for (size_t i = 0; i < d.X.rows; ++i) {
          flat_search(*index, trees, d.X.row(i), p, ws_flat, flat);
          chunk_search(trees, d.X.row(i), p, ws_chunk, expected);
          ASSERT_EQ(flat, expected) << dim << " features, " << num_trees << " trees, beam " << beam << ", row " << i;
        }
      }
    }
  }
  EXPECT_TRUE(rows_seen);
  EXPECT_TRUE(entries_seen);
  EXPECT_TRUE(both_seen);
}

// A two-level tree: `width` nodes under the root, each the parent of one
// label; feature f (ids 0, stride, 2 * stride, ...; f < features) has a
// weight in bottom chunk c where has.weight(c, f): in every bottom chunk when
// `dense`, none anywhere otherwise.
struct Has {
  std::function<bool(size_t chunk, size_t feature)> weight;
};
struct HandTree {
  LayerData top, bottom;
  std::vector<Index> slot_label;
  TreeView view;
  HandTree(size_t width, size_t features, bool dense, Index stride = 1)
      : HandTree(width, features, Has{[dense](size_t, size_t) { return dense; }}, stride) {}
  HandTree(size_t width, size_t features, const Has& has, Index stride = 1) {
    top.child_ptr = {0, Index(width)};
    top.chunk_ptr = {0, 0};
    top.bias.assign(width, 0.5f);
    for (size_t c = 0; c < width; ++c) {
      bottom.child_ptr.push_back(Index(c + 1));
      for (size_t f = 0; f < features; ++f) {
        if (!has.weight(c, f)) continue;
        bottom.feat_ids.push_back(Index(f) * stride);
        bottom.entry_child.push_back(0);
        bottom.entry_value.push_back(0.01f * float(f % 7) + float(c % 5) / 3000.0f);  // sums that round by order
        bottom.feat_ptr.push_back(bottom.entry_value.size());
      }
      bottom.chunk_ptr.push_back(bottom.feat_ids.size());
      bottom.bias.push_back(-float(c) / float(width));  // below the hinge, so the scores differ
      slot_label.push_back(Index(c));
    }
    view.layers = {top.view(), bottom.view()};
    view.slot_label = slot_label.data();
    view.num_labels = width;
  }
};

// The one pass over `tree` alone against its beam search, top 5, at each beam.
void expect_one_pass_equals_beam_search(const FlatIndex& index, const TreeView& tree, const SparseVectorView& q,
                                        std::initializer_list<int> beams) {
  for (int beam : beams) {
    PredictParams p;
    p.beam_size = beam;
    p.top_k = 5;
    InferenceWorkspace ws;
    std::vector<ScoredLabel> flat, expected;
    flat_search(index, {tree}, q, p, ws, flat);
    beam_search(tree, q, p, ws, expected);
    EXPECT_EQ(flat, expected) << "beam " << beam;
  }
}

TEST(FlatSearch, TooManyNodesGetNoIndex) {
  const HandTree small(64, 10, false), large(kFlatMaxNodes, 10, false);
  EXPECT_NE(build_flat_index({small.view}, 10, 10), nullptr);
  EXPECT_EQ(build_flat_index({large.view}, 10, 10), nullptr);
  EXPECT_EQ(build_flat_index({small.view, large.view}, 10, 10), nullptr);
  // No weights: every label scores by its bias, label 0's the highest.
  const auto index = build_flat_index({small.view}, 10, 10);
  PredictParams p;
  p.top_k = 2;
  InferenceWorkspace ws;
  std::vector<ScoredLabel> flat, expected;
  flat_search(*index, {small.view}, SparseVectorView{}, p, ws, flat);
  beam_search(small.view, SparseVectorView{}, p, ws, expected);
  ASSERT_EQ(flat.size(), 2u);
  EXPECT_EQ(flat[0].label, 0u);
  EXPECT_EQ(flat[1].label, 1u);
  EXPECT_EQ(flat, expected);
}

TEST(FlatSearch, FasterWhereItSavesLookupsNotWhereItAddsWeights) {
  // Sparse chunks: finding features costs more than the weights found, at any beam.
  const HandTree sparse(64, 10, false);
  const auto sparse_index = build_flat_index({sparse.view}, 10, 10);
  EXPECT_TRUE(sparse_index->faster(1, 3));
  // Every feature in every chunk: with beam 1 the one pass would add 64
  // chunks' weights to save one lookup; with a beam over every chunk it adds
  // none and saves 64.
  const HandTree dense(64, 10, true);
  const auto dense_index = build_flat_index({dense.view}, 10, 10);
  EXPECT_FALSE(dense_index->faster(1, 3));
  EXPECT_TRUE(dense_index->faster(64, 3));
  // And it searches right either way.
  const Index ids[3] = {1, 4, 9};
  const float values[3] = {0.5f, 1.0f, 0.25f};
  const SparseVectorView q{ids, values, 3};
  expect_one_pass_equals_beam_search(*dense_index, dense.view, q, {1, 64});
}

TEST(FlatSearch, EmbeddingFeaturesSearchLikeTheOthers) {
  // Features 5..9 of the dense tree taken as an embedding's. They fill half
  // the block (no weights on the top level's nodes), so they are kept as one,
  // zeros included, and score as the entries did.
  const HandTree tree(64, 10, true);
  const auto index = build_flat_index({tree.view}, 10, 5);
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->dense_dim, 5u);
  EXPECT_EQ(index->dense.size(), 5u * 128u);  // every bottom node has them: a dense block over 64 + 64 nodes
  EXPECT_TRUE(index->faster(64, 7));
  const Index ids[7] = {1, 3, 5, 6, 7, 8, 9};
  const float values[7] = {0.5f, -1.0f, 0.25f, -0.75f, 0.125f, 1.5f, -0.5f};
  for (size_t nnz : {7, 5, 2}) {  // with the whole embedding, part of it, none
    const SparseVectorView q{ids, values, nnz};
    SCOPED_TRACE(std::to_string(nnz) + " features");
    expect_one_pass_equals_beam_search(*index, tree.view, q, {1, 16});
  }
}

// Features on most nodes are added as dense rows, the others as entries, in
// the query's feature order: the same sums as chunk by chunk, whether the
// query's features alternate between the two kinds, come in runs of one
// kind, or are all of one kind.
TEST(FlatSearch, FeaturesOnMostNodesAreDenseRowsAndScoreAsEntries) {
  // Even features in every bottom chunk (64 of 128 nodes: rows), odd ones in
  // two (entries).
  const HandTree tree(64, 12, Has{[](size_t c, size_t f) { return f % 2 == 0 || c % 32 == f; }});
  const auto index = build_flat_index({tree.view}, 12, 12);
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->row_features, (std::vector<Index>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(index->rows.size(), 6u * 128u);
  EXPECT_EQ(index->merged.entry_value.size(), 6u * 2u);
  const Index mixed[8] = {0, 1, 3, 4, 5, 6, 9, 11};
  const Index evens[3] = {2, 8, 10};
  const Index odds[3] = {1, 7, 11};
  const float values[8] = {0.3f, -1.7f, 0.11f, -0.73f, 0.129f, 1.57f, -0.51f, 2.03f};
  for (const SparseVectorView& q : {SparseVectorView{mixed, values, 8}, SparseVectorView{mixed + 1, values, 2},
                                    SparseVectorView{evens, values, 3}, SparseVectorView{odds, values, 3},
                                    SparseVectorView{mixed, values, 1}}) {
    SCOPED_TRACE("query of " + std::to_string(q.nnz) + " features from " + std::to_string(q.indices[0]));
    expect_one_pass_equals_beam_search(*index, tree.view, q, {1, 4, 64});
  }
}

// A model loaded without the index searches chunk by chunk: the same results,
// plain, as an ensemble, as a deep matcher (its embedding in the dense block,
// added to a parent's children as the beam expands it), and as both.
TEST(FlatSearch, ModelsLoadedWithAndWithoutTheIndexPredictAlike) {
  const testing::SyntheticData d = testing::make_synthetic(600, 80, 60, 5);
  testing::TempDir dir;
  for (int variant = 0; variant < 4; ++variant) {
    const bool deep = variant >= 2;
    TrainParams tp;
    tp.clustering.branching = 4;
    tp.clustering.max_leaf_size = 10;
    tp.trees = variant % 2 == 1 ? 3 : 1;
    if (deep) {
      tp.deep.enabled = true;
      tp.deep.encoder.dim = 8;
      tp.deep.encoder.epochs = 1;
      tp.deep.weight = 1.0f;  // embedding weights above the threshold on most nodes: a dense block
    }
    const std::string path = dir.file("m" + std::to_string(variant) + ".xmr");
    train_model(d.X, d.Y, tp).save(path);
    LoadOptions off;
    off.one_pass_index = false;
    const Model with = Model::load(path), without = Model::load(path, off);
    ASSERT_NE(with.flat_index(), nullptr);
    EXPECT_EQ(without.flat_index(), nullptr);
    EXPECT_EQ(with.flat_index()->dense_dim, deep ? 8u : 0u);
    EXPECT_EQ(with.flat_index()->dense.empty(), !deep) << "variant " << variant;
    for (int beam : {1, 4, 40}) {
      PredictParams p = with.default_predict_params();
      p.beam_size = beam;
      EXPECT_EQ(with.predict_batch(d.X, p, 1), without.predict_batch(d.X, p, 1)) << "variant " << variant << ", beam " << beam;
    }
    EXPECT_TRUE(with.flat_index()->faster(40, 10));
  }
}

TEST(FlatSearch, EntriesWrittenBlockByBlockKeepEachFeaturesEntriesInChunkOrder) {
  // 102,400 entries (each of 400 features on a quarter of 1,024 chunks): more
  // than one block of the scatter, so chunks resume mid-chunk in the second.
  const HandTree tree(1024, 400, Has{[](size_t c, size_t f) { return (c + f) % 4 == 0; }});
  const auto index = build_flat_index({tree.view}, 400, 400);
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(index->row_features.empty());
  ASSERT_EQ(index->merged.entry_value.size(), 102400u);
  // Feature f's entries: chunks f % 4, f % 4 + 4, ... in order (the children
  // of the root come first, 1,024 nodes).
  const LayerView& M = index->view;
  for (Index f : {Index(0), Index(1), Index(211), Index(399)}) {
    const size_t slot = size_t(std::lower_bound(M.feat_ids, M.feat_ids + M.num_chunk_feats, f) - M.feat_ids);
    ASSERT_EQ(M.feat_ids[slot], f);
    ASSERT_EQ(M.entry_begin(slot + 1) - M.entry_begin(slot), 256u);
    for (Offset e = M.entry_begin(slot), c = (4 - f % 4) % 4; e < M.entry_begin(slot + 1); ++e, c += 4)
      ASSERT_EQ(M.child_of(e), 1024 + c) << "feature " << f;
  }
  std::vector<Index> ids;
  std::vector<float> values;
  for (Index f = 3; f < 400; f += 9) {
    ids.push_back(f);
    values.push_back(0.1f + 0.01f * float(f % 13));
  }
  const SparseVectorView q{ids.data(), values.data(), ids.size()};
  expect_one_pass_equals_beam_search(*index, tree.view, q, {1, 8, 1024});
}

TEST(FlatSearch, FeatureIdsFarApartAreIndexedWithoutARangeSizedTable) {
  // Ids up to 900,000,000 over 80 weights: a table indexed by id would take
  // gigabytes; the index ranks the ids used instead. (Each feature on 8 of
  // the 128 nodes: entries, not rows.)
  const Index stride = 100000000;
  const HandTree far(64, 10, Has{[](size_t c, size_t) { return c < 8; }}, stride);
  const auto index = build_flat_index({far.view}, size_t(9) * stride + 1, size_t(9) * stride + 1);
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(index->row_features.empty());
  EXPECT_LT(index->heap_bytes(), size_t(1) << 20);
  const Index ids[3] = {stride, 4 * stride, 4 * stride + 1};
  const float values[3] = {0.5f, 1.0f, 0.25f};
  const SparseVectorView q{ids, values, 3};
  expect_one_pass_equals_beam_search(*index, far.view, q, {1, 8});
}

}  // namespace
}  // namespace xmr
