// TF-IDF features from Lucene++ analyzer output.
//
// A TextVectorizer is a stack of TF-IDF sub-vectorizers laid side by side;
// each part analyzes the text with a named Lucene++ analyzer, counts terms
// (word n-grams, or character n-grams inside word boundaries), weights them by
// tf * idf, and L2-normalises; the stacked vector is renormalised. Fitted once,
// it is immutable and thread-safe; transform() of a short query costs a
// tokenization plus one hash lookup per term.
//
// Text handling (the same at fit and query time): invalid UTF-8 sequences are
// read as U+FFFD; text longer than max_text_bytes is cut at the last whole
// character within the limit; empty text gives an empty vector.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/progress_fn.h"
#include "core/sparse.h"

namespace xmr {

struct TfidfConfig {
  std::string analyzer = "standard";
  std::string unit = "word";  // "word": word n-grams; "char_wb": char n-grams within words (padded by spaces)
  int ngram_min = 1;
  int ngram_max = 1;
  double min_df = 1;          // >= 1: at least this many documents; < 1: at least this fraction; kAutoMinDf: see below
  double max_df = 1.0;        // <= 1: at most this fraction of documents; > 1: at most this many
  size_t max_features = 0;    // 0: no limit; else keep the terms in most documents
  bool binary = false;        // tf = 1 for present terms
  bool sublinear_tf = false;  // tf = 1 + ln(count)
  bool smooth_idf = true;     // idf = ln((1 + N) / (1 + df)) + 1, else ln(N / df) + 1
  bool norm_l2 = true;

  void validate() const;  // throws xmr::Error naming the bad setting
};

// min_df chosen by fit from the texts: a word part of texts that average at
// least kLongTextTokens of its analyzer's tokens (documents, not queries or
// titles) keeps the n-grams of at least 2 training texts; other word parts,
// and character parts, keep every n-gram. In long texts the n-grams of one
// text are most of the vocabulary (reuters: 65%) yet rarely recur: dropping
// them made reuters' training 0.70x as long and its model file 0.36x as
// large at the same precision, whereas on short texts (cooking) they carry
// signal. The fitted config records the value chosen.
constexpr double kAutoMinDf = -1;
constexpr double kLongTextTokens = 32;

struct VectorizerConfig {
  std::vector<TfidfConfig> parts{TfidfConfig{}};
  size_t max_text_bytes = 1 << 20;

  void validate() const;
  std::string to_json() const;
  static VectorizerConfig from_json(const std::string& json);  // throws xmr::Error
};

// Fitting on one shard of a corpus split over processes (distributed
// training): document frequencies are the whole corpus's, so every shard
// fits the same vectorizer, the one fit() would make on the whole corpus.
struct ShardedFit {
  using TermCounts = std::vector<std::pair<std::string, uint32_t>>;
  size_t corpus_documents = 0;  // over all shards: min_df/max_df fractions and idf use it
  // Called once per part, in part order, on every shard alike: `shard` holds
  // each term of this shard with the number of its documents that hold it;
  // returns the corpus's (term, documents) pairs of the terms whose corpus
  // count is in [min_count, max_count], the same list on every shard.
  std::function<TermCounts(TermCounts shard, double min_count, double max_count)> merge_counts;
  // Called on every shard alike, once per part whose min_df is kAutoMinDf, in
  // part order: the sum of `shard_value` over the shards (their tokens).
  std::function<uint64_t(uint64_t shard_value)> corpus_sum;
};

class TextVectorizer {
 public:
  // Fits on `texts` (document frequencies, vocabularies) and returns the
  // training matrix as well. Multithreaded; the result does not depend on the
  // thread count. Memory beside the texts and the matrix: the tokens as 4-byte
  // ids, the term counts, each distinct token's character n-gram ids, and one
  // block of rows. The matrix equals transform_batch(texts) exactly. `progress`, if set, is called
  // from one thread per step ("tokenizing", "counting terms k/n",
  // "vectorizing") with documents done and the total.
  static TextVectorizer fit(const std::vector<std::string>& texts, const VectorizerConfig& config,
                            CsrMatrix* train_matrix = nullptr, int threads = 0, const ProgressFn& progress = {});
  // The same, freeing `texts` once they are tokenized (before the matrix is
  // built), for a caller that no longer needs them.
  static TextVectorizer fit(std::vector<std::string>&& texts, const VectorizerConfig& config,
                            CsrMatrix* train_matrix = nullptr, int threads = 0, const ProgressFn& progress = {});

  // The same on a shard of the corpus (see ShardedFit): the matrix holds this
  // shard's rows.
  static TextVectorizer fit_shard(std::vector<std::string>&& texts, const VectorizerConfig& config,
                                  const ShardedFit& sharded, CsrMatrix* train_matrix = nullptr, int threads = 0,
                                  const ProgressFn& progress = {});

  size_t num_features() const;
  const VectorizerConfig& config() const;
  // The term of a feature id, and its idf (for explanations and tests).
  std::string feature_name(Index feature) const;
  float idf(Index feature) const;
  // Feature id of `term` in sub-vectorizer `part`, or -1.
  long long feature_id(size_t part, const std::string& term) const;
  // The feature ids of sub-vectorizer `part`: [first, second). Throws
  // xmr::Error if not fitted or part >= config().parts.size().
  std::pair<Index, Index> part_range(size_t part) const;

  // Sparse TF-IDF vector of `text`: sorted feature ids and their weights.
  void transform(const std::string& text, std::vector<Index>& indices, std::vector<float>& values) const;
  CsrMatrix transform_batch(const std::vector<std::string>& texts, int threads = 0) const;

  // Persistence inside a model file: the config as JSON, the vocabularies and
  // idf values as one binary blob. deserialize throws xmr::Error on corrupt input.
  std::string serialize_vocabulary() const;
  static TextVectorizer deserialize(const std::string& config_json, const std::string& vocabulary);

  TextVectorizer();
  ~TextVectorizer();
  TextVectorizer(TextVectorizer&&) noexcept;
  TextVectorizer& operator=(TextVectorizer&&) noexcept;
  TextVectorizer(const TextVectorizer&);
  TextVectorizer& operator=(const TextVectorizer&);

 private:
  struct Impl;
  static TextVectorizer fit_texts(const std::vector<std::string>& texts, std::vector<std::string>* release,
                                  const VectorizerConfig& config, CsrMatrix* train_matrix, int threads,
                                  const ProgressFn& progress, const ShardedFit* sharded = nullptr);
  std::shared_ptr<const Impl> impl_;
};

// The terms a sub-vectorizer counts in `tokens` (exposed for tests).
void extract_terms(const TfidfConfig& config, const std::vector<std::string>& tokens, std::vector<std::string>& terms);

}  // namespace xmr
