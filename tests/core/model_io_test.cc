#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/file_util.h"
#include "core/model.h"
#include "core/trainer.h"
#include "tests/core/synthetic.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

class ModelIo : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = testing::make_synthetic(500, 80, 60, 21);
    TrainParams tp;
    tp.clustering.branching = 4;
    tp.clustering.max_leaf_size = 10;
    TrainInputs in;
    for (size_t l = 0; l < 80; ++l) in.label_names.push_back("label " + std::to_string(l) + " ünïcode");
    model_ = std::make_unique<Model>(train_model(data_.X, data_.Y, tp, in));
    path_ = dir_.file("model.xmr");
    model_->save(path_);
    bytes_ = read_file_bytes(path_);
  }

  // The error loading `bytes` gives, or "" if it loads.
  std::string load_error(const std::string& bytes) {
    const std::string p = dir_.file("bad.xmr");
    testing::write_text(p, bytes);
    try {
      Model::load(p);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  testing::SyntheticData data_;
  std::unique_ptr<Model> model_;
  testing::TempDir dir_;
  std::string path_, bytes_;
};

TEST_F(ModelIo, SaveLoadGivesIdenticalPredictions) {
  const Model loaded = Model::load(path_);
  EXPECT_EQ(loaded.num_labels(), model_->num_labels());
  EXPECT_EQ(loaded.num_features(), model_->num_features());
  EXPECT_EQ(loaded.label_name(7), "label 7 ünïcode");
  PredictParams p;
  p.top_k = 10;
  EXPECT_EQ(loaded.predict_batch(data_.X, p), model_->predict_batch(data_.X, p));
  // Saving the loaded model writes the same bytes.
  loaded.save(dir_.file("again.xmr"));
  EXPECT_EQ(read_file_bytes(dir_.file("again.xmr")), bytes_);
}

TEST_F(ModelIo, LevelsAreStoredNarrowAndScoreAsTheTrainedArrays) {
  TrainParams tp;
  tp.clustering.branching = 4;
  tp.clustering.max_leaf_size = 10;
  const ModelParts parts = train_model_parts(data_.X, data_.Y, tp, TrainInputs{});
  const Model m = Model::from_parts(parts);
  ASSERT_EQ(m.tree().layers.size(), parts.layers.size());
  std::vector<float> narrow_scores(kMaxChildrenPerNode), wide_scores(kMaxChildrenPerNode);
  for (size_t t = 0; t < parts.layers.size(); ++t) {
    const LayerView& narrow = m.tree().layers[t];
    const LayerView wide = parts.layers[t].view();
    // Every level has under 2^32 weights and at most 256 children per node.
    EXPECT_NE(narrow.feat_ptr32, nullptr);
    EXPECT_EQ(narrow.feat_ptr, nullptr);
    EXPECT_NE(narrow.entry_child8, nullptr);
    EXPECT_EQ(narrow.entry_child, nullptr);
    for (size_t i = 0; i < 50; ++i) {
      for (size_t p = 0; p < narrow.num_parents; ++p) {
        narrow.score_chunk(p, data_.X.row(i), narrow_scores.data());
        wide.score_chunk(p, data_.X.row(i), wide_scores.data());
        for (size_t j = 0; j < narrow.num_children_of(p); ++j) ASSERT_EQ(narrow_scores[j], wide_scores[j]);
      }
    }
  }
}

TEST(NarrowWidths, ANodeOfMoreThan256ChildrenKeepsTwoByteSlots) {
  LayerData L;
  L.child_ptr = {0, 256, 256 + 257};
  L.chunk_ptr = {0, 0, 0};
  L.bias.assign(L.child_ptr.back(), 0.0f);
  EXPECT_FALSE(narrow_fits(L.view()).entry_child8);
  EXPECT_TRUE(narrow_fits(L.view()).feat_ptr32);
  L.child_ptr = {0, 256, 512};
  EXPECT_TRUE(narrow_fits(L.view()).entry_child8);
}

TEST_F(ModelIo, SaveReplacesAtomicallyAndLeavesNoTempFiles) {
  model_->save(path_);  // overwrite in place
  EXPECT_EQ(read_file_bytes(path_), bytes_);
  EXPECT_THROW(model_->save(dir_.file("no/such/dir/model.xmr")), Error);
  const int entries = std::system(("test $(ls -A '" + dir_.path() + "' | wc -l) -eq 1").c_str());
  EXPECT_EQ(entries, 0) << "temporary files left behind";
}

TEST_F(ModelIo, MissingEmptyAndForeignFilesAreRefused) {
  try {
    Model::load(dir_.file("absent.xmr"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent.xmr: cannot open model file"), std::string::npos);
  }
  EXPECT_NE(load_error("").find("not an xmr model"), std::string::npos);
  EXPECT_NE(load_error(std::string(4096, 'x')).find("not an xmr model (bad magic"), std::string::npos);
  EXPECT_NE(load_error(dir_.path()).find("not an xmr model"), std::string::npos);
}

TEST_F(ModelIo, TruncatedModelIsRefusedAtEveryLength) {
  for (size_t len : {size_t(10), size_t(127), size_t(128), bytes_.size() / 3, bytes_.size() - 1}) {
    const std::string err = load_error(bytes_.substr(0, len));
    EXPECT_FALSE(err.empty()) << "length " << len;
  }
  EXPECT_NE(load_error(bytes_.substr(0, bytes_.size() - 1)).find("truncated"), std::string::npos);
}

TEST_F(ModelIo, WrongVersionIsRefusedByName) {
  std::string b = bytes_;
  const uint32_t v = 99;
  std::memcpy(&b[8], &v, 4);
  EXPECT_NE(load_error(b).find("model format version 99 is not supported"), std::string::npos);
}

TEST_F(ModelIo, AnyFlippedByteIsDetected) {
  // Flip one byte at many positions across the file: every one must be caught.
  size_t caught = 0, tried = 0;
  for (size_t pos = 0; pos < bytes_.size(); pos += std::max<size_t>(1, bytes_.size() / 500)) {
    std::string b = bytes_;
    b[pos] = char(b[pos] ^ 0x5a);
    ++tried;
    if (!load_error(b).empty()) ++caught;
  }
  EXPECT_EQ(caught, tried);
}

TEST_F(ModelIo, StructuralCorruptionIsCaughtWithoutChecksums) {
  // Corrupt a feature id in place; with checksums off the structure check must still refuse it.
  const Model m = Model::load(path_);
  const LayerView& L = m.tree().layers[0];
  ASSERT_GT(L.num_chunk_feats, 0u);
  std::string b = bytes_;
  // The loaded model's level-1 feature ids are found in the file by their bytes.
  const std::string needle(reinterpret_cast<const char*>(L.feat_ids), L.num_chunk_feats * sizeof(Index));
  const size_t at = b.find(needle);
  ASSERT_NE(at, std::string::npos);
  const Index huge = 1u << 30;
  std::memcpy(&b[at], &huge, sizeof huge);
  LoadOptions no_sums;
  no_sums.verify_checksums = false;
  try {
    Model::from_bytes(b, "corrupt.xmr", no_sums);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt.xmr: corrupt model: level 1: feature id out of range"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace xmr
