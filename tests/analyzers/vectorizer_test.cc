#include "analyzers/vectorizer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace xmr {
namespace {

using V = std::vector<std::string>;

TEST(Terms, WordNgrams) {
  TfidfConfig c;
  c.ngram_min = 1;
  c.ngram_max = 2;
  V terms;
  extract_terms(c, {"red", "wine", "glass"}, terms);
  EXPECT_EQ(terms, (V{"red", "wine", "glass", "red wine", "wine glass"}));
}

TEST(Terms, CharNgramsStayInsideWords) {
  TfidfConfig c;
  c.unit = "char_wb";
  c.ngram_min = 2;
  c.ngram_max = 3;
  V terms;
  extract_terms(c, {"ab", "é"}, terms);
  // " ab " -> " a", "ab", "b ", " ab", "ab "; " é " -> " é", "é ", " é ".
  EXPECT_EQ(terms, (V{" a", "ab", "b ", " ab", "ab ", " é", "é ", " é "}));
  c.ngram_min = c.ngram_max = 4;
  extract_terms(c, {"a"}, terms);  // " a " is shorter than 4: counted whole, once
  EXPECT_EQ(terms, (V{" a "}));
}

VectorizerConfig words_only() {
  VectorizerConfig c;
  c.parts[0].analyzer = "whitespace";
  return c;
}

// Three documents; hand-computed smoothed idf: ln((1+3)/(1+df)) + 1.
TEST(Vectorizer, IdfTfAndL2NormAreExact) {
  const std::vector<std::string> docs = {"a b", "a c", "a b b"};
  CsrMatrix X;
  const TextVectorizer v = TextVectorizer::fit(docs, words_only(), &X);
  ASSERT_EQ(v.num_features(), 3u);  // a, b, c (sorted)
  EXPECT_EQ(v.feature_name(0), "a");
  const double idf_a = std::log(4.0 / 4.0) + 1, idf_b = std::log(4.0 / 3.0) + 1, idf_c = std::log(4.0 / 2.0) + 1;
  EXPECT_NEAR(v.idf(0), idf_a, 1e-6);
  EXPECT_NEAR(v.idf(1), idf_b, 1e-6);
  EXPECT_NEAR(v.idf(2), idf_c, 1e-6);
  // Row 2: tf(a) = 1, tf(b) = 2.
  const double wa = idf_a, wb = 2 * idf_b, norm = std::sqrt(wa * wa + wb * wb);
  ASSERT_EQ(X.row_nnz(2), 2u);
  EXPECT_NEAR(X.values[X.indptr[2]], wa / norm, 1e-6);
  EXPECT_NEAR(X.values[X.indptr[2] + 1], wb / norm, 1e-6);
  // transform() of the same text gives the same row.
  std::vector<Index> idx;
  std::vector<float> val;
  v.transform("a b b", idx, val);
  EXPECT_EQ(idx, (std::vector<Index>{0, 1}));
  EXPECT_NEAR(val[1], wb / norm, 1e-6);
}

TEST(Vectorizer, SublinearBinaryAndUnsmoothedIdf) {
  const std::vector<std::string> docs = {"a b", "a c", "a b b"};
  VectorizerConfig c = words_only();
  c.parts[0].sublinear_tf = true;
  c.parts[0].smooth_idf = false;
  c.parts[0].norm_l2 = false;
  const TextVectorizer v = TextVectorizer::fit(docs, c);
  std::vector<Index> idx;
  std::vector<float> val;
  v.transform("b b b", idx, val);
  ASSERT_EQ(idx.size(), 1u);
  EXPECT_NEAR(val[0], (1 + std::log(3.0)) * (std::log(3.0 / 2.0) + 1), 1e-5);
  c.parts[0].sublinear_tf = false;
  c.parts[0].binary = true;
  v.transform("b b b", idx, val);  // the fitted v is unchanged by c
  const TextVectorizer vb = TextVectorizer::fit(docs, c);
  vb.transform("b b b", idx, val);
  EXPECT_NEAR(val[0], std::log(3.0 / 2.0) + 1, 1e-5);
}

TEST(Vectorizer, DocumentFrequencyLimitsAndMaxFeatures) {
  const std::vector<std::string> docs = {"a b x", "a c y", "a b z", "a b w"};
  VectorizerConfig c = words_only();
  c.parts[0].min_df = 2;  // drops c, x, y, z, w
  EXPECT_EQ(TextVectorizer::fit(docs, c).num_features(), 2u);
  c.parts[0].max_df = 0.9;  // also drops a (in 100% of docs)
  const TextVectorizer v = TextVectorizer::fit(docs, c);
  ASSERT_EQ(v.num_features(), 1u);
  EXPECT_EQ(v.feature_name(0), "b");
  c = words_only();
  c.parts[0].max_features = 2;  // the two most frequent: a (4), b (3)
  const TextVectorizer m = TextVectorizer::fit(docs, c);
  ASSERT_EQ(m.num_features(), 2u);
  EXPECT_EQ(m.feature_name(1), "b");
}

TEST(Vectorizer, StackIsRenormalisedAndOffset) {
  VectorizerConfig c = words_only();
  TfidfConfig chars = c.parts[0];
  chars.unit = "char_wb";
  chars.ngram_min = chars.ngram_max = 2;
  c.parts.push_back(chars);
  const TextVectorizer v = TextVectorizer::fit({"ab cd", "ab"}, c);
  std::vector<Index> idx;
  std::vector<float> val;
  v.transform("ab", idx, val);
  double sq = 0;
  for (float x : val) sq += x * x;
  EXPECT_NEAR(sq, 1.0, 1e-6);
  EXPECT_EQ(v.feature_id(1, " a"), (long long)(2 + 0));  // words: ab, cd; chars start at 2, sorted: " a" first
  EXPECT_EQ(v.feature_id(0, "zz"), -1);
  for (size_t k = 1; k < idx.size(); ++k) EXPECT_LT(idx[k - 1], idx[k]);
  EXPECT_EQ(v.part_range(0), std::make_pair(Index(0), Index(2)));
  EXPECT_EQ(v.part_range(1), std::make_pair(Index(2), Index(v.num_features())));
  EXPECT_THROW(v.part_range(2), Error);
  EXPECT_THROW(TextVectorizer().part_range(0), Error);
}

TEST(Vectorizer, EmptyInvalidAndHugeText) {
  VectorizerConfig c = words_only();
  c.max_text_bytes = 32;
  const TextVectorizer v = TextVectorizer::fit({"alpha beta", "gamma"}, c);
  std::vector<Index> idx;
  std::vector<float> val;
  v.transform("", idx, val);
  EXPECT_TRUE(idx.empty());
  v.transform("alpha \xff\xfe beta", idx, val);  // invalid bytes are their own token
  EXPECT_EQ(idx.size(), 2u);
  std::string huge = "alpha ";
  while (huge.size() < 1000000) huge += "zzzz ";
  huge += "gamma";
  v.transform(huge, idx, val);  // cut at 32 bytes: gamma is never seen
  ASSERT_EQ(idx.size(), 1u);
  EXPECT_EQ(v.feature_name(idx[0]), "alpha");
}

TEST(Vectorizer, FitIsDeterministicAcrossThreads) {
  std::vector<std::string> docs;
  for (int i = 0; i < 500; ++i) docs.push_back("doc " + std::to_string(i % 37) + " word" + std::to_string(i % 11) + " common");
  CsrMatrix a, b;
  const TextVectorizer v1 = TextVectorizer::fit(docs, VectorizerConfig{}, &a, 1);
  const TextVectorizer v2 = TextVectorizer::fit(docs, VectorizerConfig{}, &b, 2);
  EXPECT_EQ(v1.serialize_vocabulary(), v2.serialize_vocabulary());
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(a.values, b.values);
}

// Fitting cuts character n-grams once per distinct token and vectorizes by
// ids; transform() cuts them per text. Both must give the same rows, for
// every kind of character part (pruned by df and max_features, binary,
// sublinear, tokens shorter than the smallest n, multi-byte characters).
TEST(Vectorizer, TrainingMatrixEqualsTransformOfTheSameTexts) {
  std::vector<std::string> docs;
  const V words = {"é", "ab", "café", "naïve", "x", "running", "shoes", "sneakers", "日本語", "a"};
  for (int i = 0; i < 300; ++i) {
    std::string d;
    for (int k = 0; k < 1 + i % 7; ++k) d += words[size_t((i * 7 + k * 3) % 10)] + " ";
    docs.push_back(d);
  }
  docs.push_back("");
  VectorizerConfig c = words_only();
  TfidfConfig chars = c.parts[0];
  chars.unit = "char_wb";
  chars.ngram_min = 3;
  chars.ngram_max = 5;
  chars.min_df = 2;
  chars.max_features = 40;
  chars.sublinear_tf = true;
  c.parts.push_back(chars);
  TfidfConfig binary_chars = chars;
  binary_chars.ngram_min = binary_chars.ngram_max = 2;
  binary_chars.max_features = 0;
  binary_chars.sublinear_tf = false;
  binary_chars.binary = true;
  binary_chars.max_df = 0.5;
  c.parts.push_back(binary_chars);
  CsrMatrix fitted;
  const TextVectorizer v = TextVectorizer::fit(docs, c, &fitted, 2);
  const CsrMatrix transformed = v.transform_batch(docs, 2);
  EXPECT_EQ(fitted.indptr, transformed.indptr);
  EXPECT_EQ(fitted.indices, transformed.indices);
  EXPECT_EQ(fitted.values, transformed.values);
  EXPECT_GT(fitted.nnz(), docs.size());
}

// Word 1- and 2-grams are counted by token-id keys, except when a token
// holds a space (the keyword analyzer's whole-text tokens), where the key
// "a b" and the bigram (a, b) would be one term: both must match transform.
TEST(Vectorizer, WordTrainingMatrixEqualsTransformForEveryAnalyzer) {
  const std::vector<std::string> docs = {"red shoes", "red shoes sale", "shoes", "a b", "a b a b", "", "b a"};
  for (const char* analyzer : {"standard", "keyword", "whitespace"}) {
    VectorizerConfig c = words_only();
    c.parts[0].analyzer = analyzer;
    c.parts[0].ngram_min = 1;
    c.parts[0].ngram_max = 2;
    CsrMatrix fitted;
    const TextVectorizer v = TextVectorizer::fit(docs, c, &fitted, 2);
    const CsrMatrix transformed = v.transform_batch(docs, 2);
    EXPECT_EQ(fitted.indptr, transformed.indptr) << analyzer;
    EXPECT_EQ(fitted.indices, transformed.indices) << analyzer;
    EXPECT_EQ(fitted.values, transformed.values) << analyzer;
  }
}

TEST(Vectorizer, SerializeRoundTripAndCorruption) {
  const VectorizerConfig c{};
  const TextVectorizer v = TextVectorizer::fit({"red wine", "white wine glass"}, c);
  const std::string vocab = v.serialize_vocabulary();
  const TextVectorizer back = TextVectorizer::deserialize(c.to_json(), vocab);
  std::vector<Index> i1, i2;
  std::vector<float> v1, v2;
  v.transform("red wine glass", i1, v1);
  back.transform("red wine glass", i2, v2);
  EXPECT_EQ(i1, i2);
  EXPECT_EQ(v1, v2);
  EXPECT_THROW(TextVectorizer::deserialize(c.to_json(), vocab.substr(0, vocab.size() - 3)), Error);
  EXPECT_THROW(TextVectorizer::deserialize("{\"parts\": 3}", vocab), Error);
  VectorizerConfig bad;
  bad.parts[0].analyzer = "nope";
  EXPECT_THROW(bad.validate(), Error);
  bad = VectorizerConfig{};
  bad.parts[0].ngram_min = 3;
  bad.parts[0].ngram_max = 2;
  EXPECT_THROW(bad.validate(), Error);
}

// min_df auto: a word part of long texts drops the n-grams of one text, one
// of short texts (and a character part) keeps them; the fitted config says
// which, and a stored config that never chose is refused.
TEST(Vectorizer, AutoMinDfDropsSingleTextWordsOfLongTextsOnly) {
  VectorizerConfig c = words_only();
  c.parts[0].min_df = kAutoMinDf;
  TfidfConfig chars = c.parts[0];
  chars.unit = "char_wb";
  chars.ngram_min = chars.ngram_max = 3;
  c.parts.push_back(chars);
  std::string common;
  for (int i = 0; i < int(kLongTextTokens); ++i) common += " w" + std::to_string(i);
  const std::vector<std::string> long_texts = {"alpha" + common, "beta" + common};
  const TextVectorizer lv = TextVectorizer::fit(long_texts, c);
  EXPECT_EQ(lv.config().parts[0].min_df, 2);
  EXPECT_EQ(lv.config().parts[1].min_df, 1);
  EXPECT_EQ(lv.feature_id(0, "alpha"), -1);  // in one text
  EXPECT_GE(lv.feature_id(0, "w0"), 0);
  EXPECT_GE(lv.feature_id(1, "alp"), 0);  // character n-grams are all kept
  const TextVectorizer sv = TextVectorizer::fit({"alpha w0", "beta w0"}, c);
  EXPECT_EQ(sv.config().parts[0].min_df, 1);
  EXPECT_GE(sv.feature_id(0, "alpha"), 0);
  // The stored config holds the choice; one still at auto does not load.
  const TextVectorizer back = TextVectorizer::deserialize(lv.config().to_json(), lv.serialize_vocabulary());
  EXPECT_EQ(back.config().parts[0].min_df, 2);
  EXPECT_THROW(TextVectorizer::deserialize(c.to_json(), lv.serialize_vocabulary()), Error);
}

// Found by fuzz_vectorizer: a part with no terms made deserialize memcpy into
// an empty vector's null data() (undefined behaviour under UBSan).
TEST(Vectorizer, PartWithNoTermsDeserializes) {
  VectorizerConfig c;  // one word part
  std::string vocab("XMRVOCA1", 8);
  const uint64_t parts = 1, terms = 0;
  vocab.append(reinterpret_cast<const char*>(&parts), 8);
  vocab.append(reinterpret_cast<const char*>(&terms), 8);
  const TextVectorizer v = TextVectorizer::deserialize(c.to_json(), vocab);
  EXPECT_EQ(v.num_features(), 0u);
  std::vector<Index> idx;
  std::vector<float> val;
  v.transform("anything at all", idx, val);
  EXPECT_TRUE(idx.empty());
  // A term count the remaining bytes cannot hold is refused before allocating.
  const uint64_t huge = uint64_t(1) << 40;
  std::string bad("XMRVOCA1", 8);
  bad.append(reinterpret_cast<const char*>(&parts), 8);
  bad.append(reinterpret_cast<const char*>(&huge), 8);
  EXPECT_THROW(TextVectorizer::deserialize(c.to_json(), bad), Error);
}

}  // namespace
}  // namespace xmr
