#include "analyzers/text_model.h"

#include <gtest/gtest.h>

#include <lucene++/LuceneHeaders.h>

#include "analyzers/lucene_analyzers.h"
#include "analyzers/lucene_index.h"
#include "analyzers/utf8.h"
#include "core/error.h"
#include "core/metrics.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

const char kJsonl[] =
    "{\"text\": \"Red wine glass, crystal\", \"labels\": [\"kitchen\", \"glassware\"]}\n"
    "{\"text\": \"Stainless steel wine opener\", \"labels\": [\"kitchen\"]}\n"
    "{\"text\": \"Running shoes for men\", \"labels\": [\"shoes\", \"sport\"]}\n"
    "{\"text\": \"Trail running shoe, waterproof\", \"labels\": [\"shoes\"]}\n"
    "{\"text\": \"Yoga mat, non-slip\", \"labels\": [\"sport\"]}\n"
    "{\"text\": \"Crystal champagne glasses set\", \"labels\": [\"glassware\"]}\n";

std::string jsonl_error(const std::string& text) {
  try {
    parse_jsonl_dataset(text, "in.jsonl");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Jsonl, ParsesAndNamesEveryBadLine) {
  const TextDataset d = parse_jsonl_dataset(kJsonl, "x");
  ASSERT_EQ(d.size(), 6u);
  EXPECT_EQ(d.labels[0], (std::vector<std::string>{"glassware", "kitchen"}));
  EXPECT_NE(jsonl_error("{\"text\": \"a\"}\n{\"text\": 3}\n").find("in.jsonl:2: missing string field \"text\""), std::string::npos);
  EXPECT_NE(jsonl_error("{\"text\": \"a\"\n").find("in.jsonl:1: invalid JSON: Missing a comma or '}' after an object member at byte 13"), std::string::npos);
  EXPECT_NE(jsonl_error("[1]\n").find("in.jsonl:1: expected a JSON object"), std::string::npos);
  EXPECT_NE(jsonl_error("{\"text\": \"a\", \"labels\": 3}\n").find("in.jsonl:1: \"labels\" must be a string or an array of strings"), std::string::npos);
  EXPECT_EQ(parse_jsonl_dataset("{\"text\": \"a\", \"labels\": \"x\"}\n", "x").labels[0], (std::vector<std::string>{"x"}));
  EXPECT_NE(jsonl_error("{\"text\": \"a\"}\n\n{\"text\": \"b\"}\n").find("in.jsonl:2: blank line"), std::string::npos);
  EXPECT_NE(jsonl_error("{\"text\": \"a\xff\"}\n").find("in.jsonl:1: invalid UTF-8 at byte 12"), std::string::npos);
  EXPECT_EQ(jsonl_error("{\"text\": \"a\"}\n\n\n"), "");  // trailing blank lines are fine
}

TEST(Jsonl, DeepNestingAndNulBytesAreRefusedByPlaceNotByCrashing) {
  // 100,000 levels overflowed the stack of RapidJSON's recursive parser.
  const std::string deep = "{\"text\": \"a\", \"labels\": " + std::string(100000, '[') + std::string(100000, ']') + "}\n";
  EXPECT_NE(jsonl_error("{\"text\": \"a\"}\n" + deep).find("in.jsonl:2: invalid JSON: nested deeper than 128 levels at byte 152"),
            std::string::npos);
  // A NUL inside a string used to read as "missing a closing quotation mark".
  EXPECT_NE(jsonl_error(std::string("{\"text\": \"a\0b\"}\n", 17)).find("in.jsonl:1: invalid JSON: a NUL byte at byte 12"),
            std::string::npos);
  // Brackets inside strings do not count; 128 levels are fine.
  const std::string ok = "{\"text\": \"[[[[\\\"{{{\", \"x\": " + std::string(127, '[') + std::string(127, ']') + "}\n";
  EXPECT_EQ(jsonl_error(ok), "");
}

TEST(Jsonl, OtherFieldNamesCanHoldTheTextAndLabels) {
  const TextDataset d = parse_jsonl_dataset("{\"title\": \"red shoes\", \"categories\": [\"b\", \"a\", \"b\"], \"text\": 1}\n",
                                            "p.jsonl", JsonlFields{"title", "categories"});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.texts[0], "red shoes");
  EXPECT_EQ(d.labels[0], (std::vector<std::string>{"a", "b"}));
  EXPECT_NE(jsonl_error("{\"title\": \"x\"}\n").find("in.jsonl:1: missing string field \"text\""), std::string::npos);
}

TEST(LabelVocabulary, UnknownLabelsGetExtraColumns) {
  const TextDataset train = parse_jsonl_dataset(kJsonl, "x");
  const LabelVocabulary v = LabelVocabulary::from_dataset(train);
  EXPECT_EQ(v.names(), (std::vector<std::string>{"glassware", "kitchen", "shoes", "sport"}));
  const TextDataset test = parse_jsonl_dataset("{\"text\": \"t\", \"labels\": [\"sport\", \"toys\"]}\n", "t");
  const CsrMatrix kept = v.label_matrix(test, true);
  EXPECT_EQ(kept.cols, 5u);
  EXPECT_EQ(kept.indices, (std::vector<Index>{3, 4}));
  EXPECT_EQ(v.label_matrix(test, false).indices, (std::vector<Index>{3}));
}

TEST(TextModel, TrainPredictSaveLoad) {
  const TextDataset data = parse_jsonl_dataset(kJsonl, "x");
  TrainParams p = default_text_train_params();
  p.clustering.max_leaf_size = 2;
  const TextModel tm = TextModel::train(data, default_vectorizer_config(), p);
  testing::TempDir dir;
  tm.save(dir.file("m.xmr"));
  const TextModel loaded = TextModel::load(dir.file("m.xmr"));
  PredictParams pp;
  pp.top_k = 2;
  InferenceWorkspace ws;
  std::vector<ScoredLabel> a, b;
  tm.predict("trail running shoes", pp, ws, a);
  loaded.predict("trail running shoes", pp, ws, b);
  EXPECT_EQ(a, b);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(loaded.model().label_name(a[0].label), "shoes");
  // A plain (XC) model is not a text model.
  ModelParts plain;
  plain.num_features = 1;
  plain.num_labels = 1;
  LayerData L;
  L.child_ptr = {0, 1};
  L.chunk_ptr = {0, 0};
  L.bias = {0};
  plain.layers = {L};
  plain.slot_label = {0};
  Model::from_parts(plain).save(dir.file("plain.xmr"));
  try {
    TextModel::load(dir.file("plain.xmr"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("plain.xmr: not a text model"), std::string::npos);
  }
}

// A real Lucene++ index on disk gives the same features and model as the
// same text fitted from JSONL; its unigram document frequencies are the index's.
TEST(LuceneIndex, SameFeaturesAsJsonlAndIndexDocFreqs) {
  testing::TempDir dir;
  testing::write_text(dir.file("in.jsonl"), kJsonl);
  IndexSpec spec;
  spec.analyzer = "standard";
  EXPECT_EQ(build_lucene_index(dir.file("in.jsonl"), dir.file("idx"), spec), 6u);
  const TextDataset from_index = read_lucene_index(dir.file("idx"), "text", "labels");
  const TextDataset from_jsonl = read_jsonl_dataset(dir.file("in.jsonl"));
  EXPECT_EQ(from_index.texts, from_jsonl.texts);
  EXPECT_EQ(from_index.labels, from_jsonl.labels);

  VectorizerConfig c;  // standard analyzer, word unigrams: the index's own terms
  CsrMatrix xi, xj;
  const TextVectorizer vi = TextVectorizer::fit(from_index.texts, c, &xi);
  const TextVectorizer vj = TextVectorizer::fit(from_jsonl.texts, c, &xj);
  EXPECT_EQ(vi.serialize_vocabulary(), vj.serialize_vocabulary());
  EXPECT_EQ(xi.indices, xj.indices);
  EXPECT_EQ(xi.values, xj.values);

  Lucene::IndexReaderPtr reader = Lucene::IndexReader::open(Lucene::FSDirectory::open(utf8_to_wide(dir.file("idx"))), true);
  for (const char* term : {"wine", "crystal", "running", "mat"}) {
    const long long f = vi.feature_id(0, term);
    ASSERT_GE(f, 0) << term;
    const int df = reader->docFreq(Lucene::newLucene<Lucene::Term>(L"text", utf8_to_wide(term)));
    EXPECT_NEAR(vi.idf(Index(f)), std::log(7.0 / (1.0 + df)) + 1.0, 1e-6) << term;
  }
  reader->close();
}

TEST(LuceneIndex, ErrorsNameTheProblem) {
  testing::TempDir dir;
  testing::write_text(dir.file("bad.jsonl"), "{\"text\": \"ok\", \"labels\": [\"a\"]}\n{\"text\": 5}\n");
  IndexSpec spec;
  try {
    build_lucene_index(dir.file("bad.jsonl"), dir.file("idx"), spec);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2: text field \"text\" must be a string"), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::system(("test ! -e '" + dir.file("idx") + "'").c_str()), 0) << "partial index left behind";
  testing::write_text(dir.file("ok.jsonl"), kJsonl);
  build_lucene_index(dir.file("ok.jsonl"), dir.file("idx"), spec);
  EXPECT_THROW(build_lucene_index(dir.file("ok.jsonl"), dir.file("idx"), spec), Error);  // exists
  EXPECT_THROW(read_lucene_index(dir.file("idx"), "title", "labels"), Error);               // no such field
  EXPECT_THROW(read_lucene_index(dir.file("idx"), "text", "category"), Error);
  EXPECT_THROW(read_lucene_index(dir.file("nope"), "text", "labels"), Error);
  spec.overwrite = true;
  EXPECT_EQ(build_lucene_index(dir.file("ok.jsonl"), dir.file("idx"), spec), 6u);
}

}  // namespace
}  // namespace xmr
