#include "analyzers/vectorizer.h"

#include <malloc.h>
#include <omp.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <memory>
#include <atomic>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "analyzers/analyzer_registry.h"
#include "analyzers/term_dictionary.h"
#include "analyzers/utf8.h"
#include "core/error.h"
#include "core/json_parse.h"

namespace xmr {

void TfidfConfig::validate() const {
  check_analyzer_name(analyzer);
  if (unit != "word" && unit != "char_wb") throw Error("vectorizer unit must be 'word' or 'char_wb', got '" + unit + "'");
  if (ngram_min < 1 || ngram_max < ngram_min || ngram_max > 16) {
    throw Error("vectorizer n-gram range must satisfy 1 <= min <= max <= 16, got " + std::to_string(ngram_min) + ".." +
                std::to_string(ngram_max));
  }
  if (!(min_df > 0) && min_df != kAutoMinDf) throw Error("vectorizer min_df must be > 0 (or auto)");
  if (!(max_df > 0)) throw Error("vectorizer max_df must be > 0");
  if (binary && sublinear_tf) throw Error("vectorizer: binary and sublinear_tf are exclusive");
}

void VectorizerConfig::validate() const {
  if (parts.empty()) throw Error("vectorizer needs at least one part");
  for (const auto& p : parts) p.validate();
  if (max_text_bytes < 16) throw Error("vectorizer max_text_bytes must be >= 16");
}

std::string VectorizerConfig::to_json() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("max_text_bytes"); w.Uint64(max_text_bytes);
  w.Key("parts");
  w.StartArray();
  for (const auto& p : parts) {
    w.StartObject();
    w.Key("analyzer"); w.String(p.analyzer.c_str());
    w.Key("unit"); w.String(p.unit.c_str());
    w.Key("ngram_min"); w.Int(p.ngram_min);
    w.Key("ngram_max"); w.Int(p.ngram_max);
    w.Key("min_df"); w.Double(p.min_df);
    w.Key("max_df"); w.Double(p.max_df);
    w.Key("max_features"); w.Uint64(p.max_features);
    w.Key("binary"); w.Bool(p.binary);
    w.Key("sublinear_tf"); w.Bool(p.sublinear_tf);
    w.Key("smooth_idf"); w.Bool(p.smooth_idf);
    w.Key("norm_l2"); w.Bool(p.norm_l2);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

VectorizerConfig VectorizerConfig::from_json(const std::string& json) {
  rapidjson::Document d;
  std::string error;
  if (!parse_json(json, d, error)) throw Error("vectorizer config: " + error);
  if (!d.IsObject()) throw Error("vectorizer config is not a JSON object");
  auto fail = [](const std::string& key) { return Error("vectorizer config: '" + key + "' missing or of the wrong type"); };
  VectorizerConfig c;
  c.parts.clear();
  if (!d.HasMember("max_text_bytes") || !d["max_text_bytes"].IsUint64()) throw fail("max_text_bytes");
  c.max_text_bytes = d["max_text_bytes"].GetUint64();
  if (!d.HasMember("parts") || !d["parts"].IsArray()) throw fail("parts");
  for (const auto& o : d["parts"].GetArray()) {
    if (!o.IsObject()) throw fail("parts");
    TfidfConfig p;
    auto str = [&](const char* k, std::string& v) {
      if (!o.HasMember(k) || !o[k].IsString()) throw fail(k);
      v = o[k].GetString();
    };
    auto integer = [&](const char* k, int& v) {
      if (!o.HasMember(k) || !o[k].IsInt()) throw fail(k);
      v = o[k].GetInt();
    };
    auto number = [&](const char* k, double& v) {
      if (!o.HasMember(k) || !o[k].IsNumber()) throw fail(k);
      v = o[k].GetDouble();
    };
    auto boolean = [&](const char* k, bool& v) {
      if (!o.HasMember(k) || !o[k].IsBool()) throw fail(k);
      v = o[k].GetBool();
    };
    str("analyzer", p.analyzer);
    str("unit", p.unit);
    integer("ngram_min", p.ngram_min);
    integer("ngram_max", p.ngram_max);
    number("min_df", p.min_df);
    number("max_df", p.max_df);
    if (!o.HasMember("max_features") || !o["max_features"].IsUint64()) throw fail("max_features");
    p.max_features = o["max_features"].GetUint64();
    boolean("binary", p.binary);
    boolean("sublinear_tf", p.sublinear_tf);
    boolean("smooth_idf", p.smooth_idf);
    boolean("norm_l2", p.norm_l2);
    c.parts.push_back(p);
  }
  c.validate();
  return c;
}

void extract_terms(const TfidfConfig& config, const std::vector<std::string>& tokens, std::vector<std::string>& terms) {
  terms.clear();
  const size_t lo = size_t(config.ngram_min), hi = size_t(config.ngram_max);
  if (config.unit == "word") {
    for (size_t n = lo; n <= hi; ++n) {
      for (size_t i = 0; i + n <= tokens.size(); ++i) {
        std::string t = tokens[i];
        for (size_t j = 1; j < n; ++j) (t += ' ') += tokens[i + j];
        terms.push_back(std::move(t));
      }
    }
    return;
  }
  // char_wb: n-grams of code points of " token ", never across tokens. A
  // padded token shorter than the smallest n counts once, whole.
  std::vector<size_t> starts;
  std::string padded;
  for (const std::string& tok : tokens) {
    padded = " " + tok + " ";
    starts.clear();
    for (size_t i = 0; i < padded.size(); ++i) {
      if ((static_cast<unsigned char>(padded[i]) & 0xC0) != 0x80) starts.push_back(i);
    }
    const size_t len = starts.size();
    starts.push_back(padded.size());
    if (len < lo) {
      terms.push_back(padded);
      continue;
    }
    for (size_t n = lo; n <= hi && n <= len; ++n) {
      for (size_t i = 0; i + n <= len; ++i) terms.push_back(padded.substr(starts[i], starts[i + n] - starts[i]));
    }
  }
}

struct TextVectorizer::Impl {
  struct Part {
    TfidfConfig config;
    TermDictionary terms;  // sorted; a term's local id is its position
    std::vector<float> idf;
    Index offset = 0;
    size_t analyzer_slot = 0;  // index into analyzers
  };
  VectorizerConfig config;
  std::vector<Part> parts;
  std::vector<TextAnalyzer> analyzers;  // distinct analyzers, shared by parts
  size_t num_features = 0;

  void link() {
    analyzers.clear();
    Index offset = 0;
    for (Part& p : parts) {
      p.offset = offset;
      offset += Index(p.terms.size());
      p.terms.index();
      size_t slot = 0;
      while (slot < analyzers.size() && analyzers[slot].name() != p.config.analyzer) ++slot;
      if (slot == analyzers.size()) analyzers.emplace_back(p.config.analyzer);
      p.analyzer_slot = slot;
    }
    num_features = offset;
  }

  std::string clip(const std::string& text) const {
    return text.substr(0, utf8_prefix_length(text, config.max_text_bytes));
  }

  // Per-thread buffers for vectorize().
  struct Scratch {
    std::vector<std::string> terms;
    std::vector<Index> local;
    // Set `dense` to group a long document's ids by counting them into an
    // array as large as the part's vocabulary (kept zero between documents)
    // and sorting only the distinct ones, instead of sorting every
    // occurrence; the result is the same. Training sets it; a query, short
    // and on a thread that may hold many scratches, does not.
    bool dense = false;
    std::vector<uint32_t> count;
    std::vector<Index> distinct;
  };

  // s.local's distinct ids in ascending order, each with its occurrences,
  // to `emit(id, occurrences)`.
  template <typename Emit>
  static void group_ids(Scratch& s, size_t vocabulary, const Emit& emit) {
    if (!s.dense) {
      std::sort(s.local.begin(), s.local.end());
      for (size_t k = 0; k < s.local.size();) {
        size_t e = k;
        while (e < s.local.size() && s.local[e] == s.local[k]) ++e;
        emit(s.local[k], e - k);
        k = e;
      }
      return;
    }
    if (s.count.size() < vocabulary) s.count.resize(vocabulary, 0);
    s.distinct.clear();
    for (Index id : s.local) {
      if (s.count[id]++ == 0) s.distinct.push_back(id);
    }
    std::sort(s.distinct.begin(), s.distinct.end());
    for (Index id : s.distinct) {
      emit(id, s.count[id]);
      s.count[id] = 0;
    }
  }

  // Builds the stacked vector from each analyzer's tokens.
  void vectorize(const std::vector<std::vector<std::string>>& tokens, Scratch& s, std::vector<Index>& indices,
                 std::vector<float>& values) const {
    vectorize_with(
        [&](size_t part, Scratch& sc) {
          const Part& p = parts[part];
          extract_terms(p.config, tokens[p.analyzer_slot], sc.terms);
          for (const std::string& t : sc.terms) {
            const int64_t id = p.terms.find(t);
            if (id >= 0) sc.local.push_back(Index(id));
          }
        },
        s, indices, values);
  }

  // The same from each part's term ids: `local_ids(part, s)` appends to
  // s.local the part's id of every kept term occurrence, in any order.
  template <typename LocalIds>
  void vectorize_with(const LocalIds& local_ids, Scratch& s, std::vector<Index>& indices,
                      std::vector<float>& values) const {
    indices.clear();
    values.clear();
    double total_sq = 0;
    for (size_t part = 0; part < parts.size(); ++part) {
      const Part& p = parts[part];
      s.local.clear();
      local_ids(part, s);
      const size_t begin = values.size();
      double sq = 0;
      group_ids(s, p.idf.size(), [&](Index id, size_t occurrences) {
        const double count = double(occurrences);
        const double tf = p.config.binary ? 1.0 : p.config.sublinear_tf ? 1.0 + std::log(count) : count;
        const float w = float(tf * p.idf[id]);
        indices.push_back(p.offset + id);
        values.push_back(w);
        sq += double(w) * w;
      });
      if (p.config.norm_l2 && sq > 0) {
        const float inv = float(1.0 / std::sqrt(sq));
        for (size_t k = begin; k < values.size(); ++k) values[k] *= inv;
        sq = 1.0;
      }
      total_sq += sq;
    }
    // Renormalise the stack when it has several parts.
    if (parts.size() > 1 && total_sq > 0) {
      const float inv = float(1.0 / std::sqrt(total_sq));
      for (float& v : values) v *= inv;
    }
  }
};

TextVectorizer::TextVectorizer() = default;
TextVectorizer::~TextVectorizer() = default;
TextVectorizer::TextVectorizer(TextVectorizer&&) noexcept = default;
TextVectorizer& TextVectorizer::operator=(TextVectorizer&&) noexcept = default;
TextVectorizer::TextVectorizer(const TextVectorizer&) = default;
TextVectorizer& TextVectorizer::operator=(const TextVectorizer&) = default;

size_t TextVectorizer::num_features() const { return impl_ ? impl_->num_features : 0; }
const VectorizerConfig& TextVectorizer::config() const {
  if (!impl_) throw Error("vectorizer not fitted");
  return impl_->config;
}

std::string TextVectorizer::feature_name(Index feature) const {
  for (const auto& p : impl_->parts) {
    if (feature < p.offset + p.terms.size()) return std::string(p.terms.term(feature - p.offset));
  }
  throw Error("feature id " + std::to_string(feature) + " out of range");
}

float TextVectorizer::idf(Index feature) const {
  for (const auto& p : impl_->parts) {
    if (feature < p.offset + p.terms.size()) return p.idf[feature - p.offset];
  }
  throw Error("feature id " + std::to_string(feature) + " out of range");
}

long long TextVectorizer::feature_id(size_t part, const std::string& term) const {
  const auto& p = impl_->parts.at(part);
  const int64_t id = p.terms.find(term);
  return id < 0 ? -1 : (long long)(p.offset + id);
}

std::pair<Index, Index> TextVectorizer::part_range(size_t part) const {
  if (!impl_) throw Error("vectorizer not fitted");
  if (part >= impl_->parts.size()) {
    throw Error("vectorizer part " + std::to_string(part) + " out of range (" + std::to_string(impl_->parts.size()) +
                " parts)");
  }
  const auto& p = impl_->parts[part];
  return {p.offset, Index(p.offset + p.terms.size())};
}

void TextVectorizer::transform(const std::string& text, std::vector<Index>& indices, std::vector<float>& values) const {
  if (!impl_) throw Error("vectorizer not fitted");
  thread_local std::vector<std::vector<std::string>> tokens;
  thread_local Impl::Scratch scratch;
  const std::string clipped = impl_->clip(text);
  tokens.resize(impl_->analyzers.size());
  for (size_t a = 0; a < impl_->analyzers.size(); ++a) impl_->analyzers[a].tokenize(clipped, tokens[a]);
  impl_->vectorize(tokens, scratch, indices, values);
}


namespace {

// Every document's tokens, per distinct analyzer, as ids into that analyzer's
// token dictionary: 4 bytes a token instead of a std::string (32 bytes and
// often a heap block), which is what made fitting take ~40x its input.
struct TokenStore {
  struct Analyzer {
    std::vector<std::string> dictionary;  // id -> token
    std::vector<uint32_t> ids;            // all documents' tokens, in document order
    std::vector<size_t> begin;            // document i: ids[begin[i], begin[i + 1])
  };
  std::vector<Analyzer> analyzers;

  // Document `doc`'s tokens of analyzer `a`, as strings, into `out`.
  void tokens_of(size_t a, size_t doc, std::vector<std::string>& out) const {
    const Analyzer& an = analyzers[a];
    out.resize(an.begin[doc + 1] - an.begin[doc]);
    for (size_t k = 0; k < out.size(); ++k) out[k] = an.dictionary[an.ids[an.begin[doc] + k]];
  }
};

// Tokenizes every text with every analyzer, in parallel: each thread interns
// into its own dictionary, then the dictionaries are merged in a fixed order
// (sorted tokens), so the result does not depend on the thread count.
TokenStore tokenize_all(const std::vector<std::string>& texts, const std::vector<TextAnalyzer>& analyzers,
                        const std::function<std::string(const std::string&)>& clip, int nt,
                        const ProgressFn& progress) {
  const size_t N = texts.size(), A = analyzers.size();
  struct Local {
    std::vector<std::unordered_map<std::string, uint32_t>> lookup;  // per analyzer
    std::vector<std::vector<std::string>> dictionary;
    std::vector<std::vector<uint32_t>> ids;
  };
  std::vector<Local> local(size_t(nt), Local{std::vector<std::unordered_map<std::string, uint32_t>>(A),
                                             std::vector<std::vector<std::string>>(A),
                                             std::vector<std::vector<uint32_t>>(A)});
  // Where each document's tokens went: the thread, and the start in its ids.
  std::vector<uint32_t> owner(N);
  std::vector<std::vector<size_t>> start(A, std::vector<size_t>(N)), length(A, std::vector<size_t>(N));
  std::atomic<size_t> done{0};
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    Local& L = local[size_t(t)];
    std::vector<std::string> tokens;
#pragma omp for schedule(dynamic, 64)
    for (size_t i = 0; i < N; ++i) {
      owner[i] = uint32_t(t);
      const std::string clipped = clip(texts[i]);
      for (size_t a = 0; a < A; ++a) {
        analyzers[a].tokenize(clipped, tokens);
        start[a][i] = L.ids[a].size();
        length[a][i] = tokens.size();
        for (std::string& tok : tokens) {
          const auto [it, added] = L.lookup[a].emplace(tok, uint32_t(L.dictionary[a].size()));
          if (added) L.dictionary[a].push_back(std::move(tok));
          L.ids[a].push_back(it->second);
        }
      }
      const size_t d = ++done;
      if (progress && t == 0 && d % 4096 < 64) progress("tokenizing", d, N);
    }
  }
  TokenStore store;
  store.analyzers.resize(A);
  for (size_t a = 0; a < A; ++a) {
    TokenStore::Analyzer& out = store.analyzers[a];
    for (Local& L : local) {
      L.lookup[a].clear();
      out.dictionary.insert(out.dictionary.end(), L.dictionary[a].begin(), L.dictionary[a].end());
    }
    std::sort(out.dictionary.begin(), out.dictionary.end());
    out.dictionary.erase(std::unique(out.dictionary.begin(), out.dictionary.end()), out.dictionary.end());
    // Thread-local id -> global id.
    std::vector<std::vector<uint32_t>> remap(static_cast<size_t>(nt));
    for (int t = 0; t < nt; ++t) {
      auto& dict = local[size_t(t)].dictionary[a];
      remap[size_t(t)].resize(dict.size());
      for (size_t k = 0; k < dict.size(); ++k) {
        remap[size_t(t)][k] = uint32_t(std::lower_bound(out.dictionary.begin(), out.dictionary.end(), dict[k]) -
                                       out.dictionary.begin());
      }
      std::vector<std::string>().swap(dict);
    }
    out.begin.resize(N + 1);
    out.begin[0] = 0;
    for (size_t i = 0; i < N; ++i) out.begin[i + 1] = out.begin[i] + length[a][i];
    out.ids.resize(out.begin[N]);
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t i = 0; i < N; ++i) {
      const auto& src = local[owner[i]].ids[a];
      const auto& map = remap[owner[i]];
      for (size_t k = 0; k < length[a][i]; ++k) out.ids[out.begin[i] + k] = map[src[start[a][i] + k]];
    }
    for (Local& L : local) std::vector<uint32_t>().swap(L.ids[a]);
  }
  return store;
}

// Appends `n` rows to `m`, made by `row(i, scratch, indices, values)` in
// parallel, a block at a time, so only one block's rows exist beside the
// matrix (per-row vectors for the whole set doubled the peak memory).
template <typename Scratch, typename RowFn>
void append_rows(CsrMatrix& m, size_t n, int nt, const RowFn& row, const ProgressFn& progress, const char* step) {
  // Small enough that the block's row vectors (kept at their largest
  // capacity) stay a few MiB even for long documents.
  constexpr size_t kBlock = 256;
  std::vector<std::vector<Index>> idx(kBlock);
  std::vector<std::vector<float>> val(kBlock);
  std::vector<Scratch> scratch(size_t(std::max(1, nt)));  // one per thread, kept across blocks
  for (size_t lo = 0; lo < n; lo += kBlock) {
    const size_t hi = std::min(n, lo + kBlock);
#pragma omp parallel num_threads(nt)
    {
      Scratch& s = scratch[size_t(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 64)
      for (size_t i = lo; i < hi; ++i) row(i, s, idx[i - lo], val[i - lo]);
    }
    for (size_t i = lo; i < hi; ++i) {
      m.indices.insert(m.indices.end(), idx[i - lo].begin(), idx[i - lo].end());
      m.values.insert(m.values.end(), val[i - lo].begin(), val[i - lo].end());
      m.indptr.push_back(m.indices.size());
    }
    if (progress) progress(step, hi, n);
  }
  m.rows += n;
}

// A character n-gram part's terms, per distinct token: every occurrence of
// a token has the same n-grams (they never cross tokens), so they are cut and
// interned once per token rather than once per occurrence. Counting and
// vectorizing then work on integer ids; the string path (extract_terms) made
// the character part most of the fitting time on long texts.
struct TokenGrams {
  std::vector<size_t> ptr{0};       // token t: gram ids [ptr[t], ptr[t + 1]), in extract_terms' order
  std::vector<uint32_t> ids;
  std::vector<std::string> grams;   // gram id -> term (freed once features are assigned)
  std::vector<Index> feature;       // gram id -> the part's term id, or kNoFeature
  static constexpr Index kNoFeature = Index(-1);
};

// How many of the N documents hold each key. `keys_of(i, scratch, out)` writes
// document i's keys to `out` (any order, repeats allowed), with a Scratch of
// its own per thread; counts are thread-local, then merged.
template <typename Key, typename Scratch, typename KeysOf, typename Report>
std::unordered_map<Key, uint32_t> count_documents(size_t N, int nt, const KeysOf& keys_of, const Report& report) {
  std::vector<std::unordered_map<Key, uint32_t>> local(static_cast<size_t>(nt));
#pragma omp parallel num_threads(nt)
  {
    auto& df = local[size_t(omp_get_thread_num())];
    Scratch scratch;
    std::vector<Key> keys;
#pragma omp for schedule(dynamic, 64)
    for (size_t i = 0; i < N; ++i) {
      keys_of(i, scratch, keys);
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      for (auto& k : keys) ++df[k];
      report();
    }
  }
  std::unordered_map<Key, uint32_t> df = std::move(local[0]);
  for (size_t t = 1; t < local.size(); ++t) {
    for (auto& [key, c] : local[t]) df[key] += c;
    local[t].clear();
  }
  return df;
}

// A word part of 1- and 2-grams, by token ids: an n-gram is one 64-bit key
// (a unigram its token id; a bigram (first + 1) << 32 | second), so counting
// and vectorizing hash integers instead of building "first second" strings.
struct WordKeys {
  static constexpr Index kNoFeature = Index(-1);
  std::vector<Index> unigram;          // token id -> the part's term id, or kNoFeature
  std::vector<uint64_t> bigram_keys;   // kept bigrams' keys, sorted (flat arrays: a hash map of
  std::vector<Index> bigram_feature;   // them was the peak of fitting on a large input)

  Index find(uint64_t key) const {
    if (key >> 32 == 0) return key < unigram.size() ? unigram[size_t(key)] : kNoFeature;
    const auto it = std::lower_bound(bigram_keys.begin(), bigram_keys.end(), key);
    return it != bigram_keys.end() && *it == key ? bigram_feature[size_t(it - bigram_keys.begin())] : kNoFeature;
  }
};

inline uint64_t bigram_key(uint32_t first, uint32_t second) { return (uint64_t(first) + 1) << 32 | second; }

// The part's n-gram keys of one document's token ids, in extract_terms' order.
void word_keys(const TfidfConfig& config, const uint32_t* ids, size_t n, std::vector<uint64_t>& out) {
  out.clear();
  if (config.ngram_min <= 1) out.insert(out.end(), ids, ids + n);
  if (config.ngram_max >= 2) {
    for (size_t i = 0; i + 1 < n; ++i) out.push_back(bigram_key(ids[i], ids[i + 1]));
  }
}

// Keys stand for terms one to one only if no token holds a space (a keyword
// analyzer's can): else the unigram "a b" and the bigram (a, b) are one term.
bool keys_are_unambiguous(const std::vector<std::string>& dictionary) {
  for (const std::string& t : dictionary) {
    if (t.find(' ') != std::string::npos) return false;
  }
  return true;
}

std::string word_key_term(uint64_t key, const std::vector<std::string>& dictionary) {
  if (key >> 32 == 0) return dictionary[size_t(key)];
  return dictionary[size_t((key >> 32) - 1)] + " " + dictionary[size_t(key & 0xffffffffu)];
}

TokenGrams intern_token_grams(const TfidfConfig& config, const std::vector<std::string>& dictionary, int nt) {
  TokenGrams tg;
  std::unordered_map<std::string, uint32_t> lookup;
  constexpr size_t kBlock = 4096;  // tokens cut in parallel, then interned in order (ids do not depend on threads)
  std::vector<std::vector<std::string>> cut(kBlock);
  for (size_t lo = 0; lo < dictionary.size(); lo += kBlock) {
    const size_t hi = std::min(dictionary.size(), lo + kBlock);
#pragma omp parallel num_threads(nt)
    {
      std::vector<std::string> one(1);
#pragma omp for schedule(dynamic, 64)
      for (size_t t = lo; t < hi; ++t) {
        one[0] = dictionary[t];
        extract_terms(config, one, cut[t - lo]);
      }
    }
    for (size_t t = lo; t < hi; ++t) {
      for (std::string& g : cut[t - lo]) {
        const auto [it, added] = lookup.emplace(g, uint32_t(tg.grams.size()));
        if (added) tg.grams.push_back(std::move(g));
        tg.ids.push_back(it->second);
      }
      tg.ptr.push_back(tg.ids.size());
    }
  }
  return tg;
}

}  // namespace

TextVectorizer TextVectorizer::fit(const std::vector<std::string>& texts, const VectorizerConfig& config,
                                   CsrMatrix* train_matrix, int threads, const ProgressFn& progress) {
  return fit_texts(texts, nullptr, config, train_matrix, threads, progress);
}

TextVectorizer TextVectorizer::fit(std::vector<std::string>&& texts, const VectorizerConfig& config,
                                   CsrMatrix* train_matrix, int threads, const ProgressFn& progress) {
  return fit_texts(texts, &texts, config, train_matrix, threads, progress);
}

TextVectorizer TextVectorizer::fit_shard(std::vector<std::string>&& texts, const VectorizerConfig& config,
                                         const ShardedFit& sharded, CsrMatrix* train_matrix, int threads,
                                         const ProgressFn& progress) {
  if (!sharded.merge_counts) throw Error("fit_shard: no merge_counts");
  return fit_texts(texts, &texts, config, train_matrix, threads, progress, &sharded);
}

TextVectorizer TextVectorizer::fit_texts(const std::vector<std::string>& texts, std::vector<std::string>* release,
                                         const VectorizerConfig& config, CsrMatrix* train_matrix, int threads,
                                         const ProgressFn& progress, const ShardedFit* sharded) {
  config.validate();
  auto impl = std::make_shared<Impl>();
  impl->config = config;
  for (const auto& pc : config.parts) {
    Impl::Part p;
    p.config = pc;
    impl->parts.push_back(std::move(p));
  }
  impl->link();  // sets up the distinct analyzers
  const size_t N = texts.size();
  // Documents min_df/max_df fractions and idf count: the whole corpus's.
  const size_t corpus_N = sharded ? sharded->corpus_documents : N;
  const int nt = threads > 0 ? threads : omp_get_max_threads();

  TokenStore store = tokenize_all(
      texts, impl->analyzers, [&](const std::string& t) { return impl->clip(t); }, nt, progress);
  if (release) std::vector<std::string>().swap(*release);  // `texts` is that vector: not read after this
  for (size_t part = 0; part < impl->parts.size(); ++part) {
    TfidfConfig& pc = impl->parts[part].config;
    if (pc.min_df != kAutoMinDf) continue;
    uint64_t tokens = store.analyzers[impl->parts[part].analyzer_slot].ids.size();
    if (sharded) {
      if (!sharded->corpus_sum) throw Error("fit_shard: min_df auto needs corpus_sum");
      tokens = sharded->corpus_sum(tokens);
    }
    const bool long_texts = corpus_N > 0 && double(tokens) >= kLongTextTokens * double(corpus_N);
    pc.min_df = pc.unit == "word" && long_texts ? 2 : 1;
    impl->config.parts[part].min_df = pc.min_df;
  }

  // Document frequencies per part: thread-local counts, merged.
  size_t matrix_nnz = 0;  // each kept term is in exactly df rows of the matrix
  std::vector<std::unique_ptr<TokenGrams>> token_grams(impl->parts.size());  // character parts
  std::vector<std::unique_ptr<WordKeys>> word_keys_of(impl->parts.size());   // word parts of 1- and 2-grams
  for (size_t part = 0; part < impl->parts.size(); ++part) {
    Impl::Part& p = impl->parts[part];
    const std::string step = "counting terms " + std::to_string(part + 1) + "/" + std::to_string(impl->parts.size());
    const double min_count = p.config.min_df >= 1 ? p.config.min_df : p.config.min_df * double(corpus_N);
    const double max_count = p.config.max_df <= 1 ? p.config.max_df * double(corpus_N) : p.config.max_df;
    std::vector<std::pair<std::string, uint32_t>> kept;
    // A shard keeps every term it counts; the corpus's counts decide below.
    auto counted = [&](uint32_t c) { return sharded ? c > 0 : double(c) >= min_count && double(c) <= max_count; };
    std::atomic<size_t> done{0};
    auto report = [&] {
      const size_t d = ++done;
      if (progress && omp_get_thread_num() == 0 && d % 4096 < 64) progress(step, d, N);
    };
    if (p.config.unit != "word") {
      token_grams[part] = std::make_unique<TokenGrams>(
          intern_token_grams(p.config, store.analyzers[p.analyzer_slot].dictionary, nt));
      const TokenGrams& tg = *token_grams[part];
      const TokenStore::Analyzer& an = store.analyzers[p.analyzer_slot];
      std::vector<std::vector<uint32_t>> local(size_t(nt), std::vector<uint32_t>(tg.grams.size(), 0));
#pragma omp parallel num_threads(nt)
      {
        auto& df = local[size_t(omp_get_thread_num())];
        // The last document (+ 1) that counted each n-gram, and each token:
        // a document counts an n-gram once without sorting its occurrences,
        // and skips a token's n-grams when the token was already seen.
        std::vector<uint32_t> last_doc(tg.grams.size(), 0), last_token_doc(tg.ptr.size() - 1, 0);
#pragma omp for schedule(dynamic, 64)
        for (size_t i = 0; i < N; ++i) {
          const uint32_t mark = uint32_t(i + 1);
          for (size_t k = an.begin[i]; k < an.begin[i + 1]; ++k) {
            const uint32_t t = an.ids[k];
            if (last_token_doc[t] == mark) continue;
            last_token_doc[t] = mark;
            for (size_t j = tg.ptr[t]; j < tg.ptr[t + 1]; ++j) {
              const uint32_t g = tg.ids[j];
              if (last_doc[g] != mark) {
                last_doc[g] = mark;
                ++df[g];
              }
            }
          }
          report();
        }
      }
      for (size_t g = 0; g < tg.grams.size(); ++g) {
        uint32_t c = 0;
        for (const auto& df : local) c += df[g];
        if (counted(c)) kept.emplace_back(tg.grams[g], c);
      }
    } else if (p.config.ngram_max <= 2 && keys_are_unambiguous(store.analyzers[p.analyzer_slot].dictionary)) {
      word_keys_of[part] = std::make_unique<WordKeys>();
      const TokenStore::Analyzer& an = store.analyzers[p.analyzer_slot];
      struct NoScratch {};
      const auto df = count_documents<uint64_t, NoScratch>(
          N, nt,
          [&](size_t i, NoScratch&, std::vector<uint64_t>& keys) {
            word_keys(p.config, an.ids.data() + an.begin[i], an.begin[i + 1] - an.begin[i], keys);
          },
          report);
      for (const auto& [key, c] : df) {
        if (counted(c)) kept.emplace_back(word_key_term(key, an.dictionary), c);
      }
    } else {
      const auto df = count_documents<std::string, std::vector<std::string>>(
          N, nt,
          [&](size_t i, std::vector<std::string>& tokens, std::vector<std::string>& terms) {
            store.tokens_of(p.analyzer_slot, i, tokens);
            extract_terms(p.config, tokens, terms);
          },
          report);
      for (const auto& [term, c] : df) {
        if (counted(c)) kept.emplace_back(term, c);
      }
    }
    if (sharded) kept = sharded->merge_counts(std::move(kept), min_count, max_count);
    if (p.config.max_features > 0 && kept.size() > p.config.max_features) {
      std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
      });
      kept.resize(p.config.max_features);
    }
    std::sort(kept.begin(), kept.end());
    for (auto& [term, c] : kept) {
      const double idf = p.config.smooth_idf ? std::log((1.0 + double(corpus_N)) / (1.0 + double(c))) + 1.0
                                             : std::log(double(corpus_N) / double(c)) + 1.0;
      p.terms.add(term);
      p.idf.push_back(float(idf));
      if (!sharded) matrix_nnz += c;  // a corpus count would over-reserve a shard's matrix
    }
  }
  impl->link();
  for (size_t part = 0; part < impl->parts.size(); ++part) {
    if (word_keys_of[part]) {
      // Each kept term's key, from the term itself: "first second" splits at
      // its one space, and both halves are tokens of the dictionary.
      const Impl::Part& p = impl->parts[part];
      const std::vector<std::string>& dict = store.analyzers[p.analyzer_slot].dictionary;
      // A shard's dictionary may lack a kept term's token (another shard has
      // it): the term then never occurs here and needs no key.
      constexpr uint32_t kAbsent = uint32_t(-1);
      auto token_id = [&](std::string_view t) {
        const auto it = std::lower_bound(dict.begin(), dict.end(), t);
        return it != dict.end() && *it == t ? uint32_t(it - dict.begin()) : kAbsent;
      };
      WordKeys& wk = *word_keys_of[part];
      wk.unigram.assign(dict.size(), WordKeys::kNoFeature);
      std::vector<std::pair<uint64_t, Index>> bigrams;
      for (size_t id = 0; id < p.terms.size(); ++id) {
        const std::string_view term = p.terms.term(id);
        const size_t space = term.find(' ');
        if (space == std::string_view::npos) {
          const uint32_t t = token_id(term);
          if (t != kAbsent) wk.unigram[t] = Index(id);
        } else {
          const uint32_t first = token_id(term.substr(0, space)), second = token_id(term.substr(space + 1));
          if (first != kAbsent && second != kAbsent) bigrams.emplace_back(bigram_key(first, second), Index(id));
        }
      }
      std::sort(bigrams.begin(), bigrams.end());
      wk.bigram_keys.reserve(bigrams.size());
      wk.bigram_feature.reserve(bigrams.size());
      for (const auto& [key, id] : bigrams) {
        wk.bigram_keys.push_back(key);
        wk.bigram_feature.push_back(id);
      }
    }
    if (!token_grams[part]) continue;
    TokenGrams& tg = *token_grams[part];
    tg.feature.resize(tg.grams.size());
    for (size_t g = 0; g < tg.grams.size(); ++g) {
      const int64_t id = impl->parts[part].terms.find(tg.grams[g]);
      tg.feature[g] = id < 0 ? TokenGrams::kNoFeature : Index(id);
    }
    std::vector<std::string>().swap(tg.grams);
  }
  // An analyzer whose parts all vectorize by id no longer needs its tokens as strings.
  for (size_t a = 0; a < store.analyzers.size(); ++a) {
    bool strings_needed = false;
    for (size_t part = 0; part < impl->parts.size(); ++part) {
      if (impl->parts[part].analyzer_slot == a && !token_grams[part] && !word_keys_of[part]) strings_needed = true;
    }
    if (!strings_needed) std::vector<std::string>().swap(store.analyzers[a].dictionary);
  }
  // The term counts were many small blocks spread over every thread's heap;
  // give their pages back before the matrix takes its memory.
  ::malloc_trim(0);

  if (train_matrix) {
    CsrMatrix& m = *train_matrix;
    m = CsrMatrix{};
    m.cols = impl->num_features;
    m.indptr.reserve(N + 1);
    m.indices.reserve(matrix_nnz);
    m.values.reserve(matrix_nnz);
    struct Scratch {
      Scratch() { vec.dense = true; }  // training documents are long
      Impl::Scratch vec;
      std::vector<std::string> tokens;
      std::vector<uint64_t> keys;
    };
    const Impl& im = *impl;
    append_rows<Scratch>(
        m, N, nt,
        [&](size_t i, Scratch& s, std::vector<Index>& idx, std::vector<float>& val) {
          im.vectorize_with(
              [&](size_t part, Impl::Scratch& sc) {
                const Impl::Part& p = im.parts[part];
                const TokenStore::Analyzer& an = store.analyzers[p.analyzer_slot];
                if (token_grams[part]) {
                  const TokenGrams& tg = *token_grams[part];
                  for (size_t k = an.begin[i]; k < an.begin[i + 1]; ++k) {
                    const uint32_t t = an.ids[k];
                    for (size_t j = tg.ptr[t]; j < tg.ptr[t + 1]; ++j) {
                      const Index f = tg.feature[tg.ids[j]];
                      if (f != TokenGrams::kNoFeature) sc.local.push_back(f);
                    }
                  }
                  return;
                }
                if (word_keys_of[part]) {
                  const WordKeys& wk = *word_keys_of[part];
                  word_keys(p.config, an.ids.data() + an.begin[i], an.begin[i + 1] - an.begin[i], s.keys);
                  for (uint64_t key : s.keys) {
                    const Index f = wk.find(key);
                    if (f != WordKeys::kNoFeature) sc.local.push_back(f);
                  }
                  return;
                }
                store.tokens_of(p.analyzer_slot, i, s.tokens);
                extract_terms(p.config, s.tokens, sc.terms);
                for (const std::string& term : sc.terms) {
                  const int64_t id = p.terms.find(term);
                  if (id >= 0) sc.local.push_back(Index(id));
                }
              },
              s.vec, idx, val);
        },
        progress, "vectorizing");
  }
  ::malloc_trim(0);  // and the token ids' and row blocks' pages
  TextVectorizer v;
  v.impl_ = std::move(impl);
  return v;
}

CsrMatrix TextVectorizer::transform_batch(const std::vector<std::string>& texts, int threads) const {
  if (!impl_) throw Error("vectorizer not fitted");
  CsrMatrix m;
  m.cols = num_features();
  struct NoScratch {};
  append_rows<NoScratch>(
      m, texts.size(), threads > 0 ? threads : omp_get_max_threads(),
      [&](size_t i, NoScratch&, std::vector<Index>& idx, std::vector<float>& val) { transform(texts[i], idx, val); },
      ProgressFn{}, "");
  return m;
}

namespace {
constexpr char kVocabMagic[8] = {'X', 'M', 'R', 'V', 'O', 'C', 'A', '1'};

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
}  // namespace

std::string TextVectorizer::serialize_vocabulary() const {
  size_t bytes = sizeof kVocabMagic + sizeof(uint64_t);  // reserved exactly: growth by doubling held up to twice
  for (const auto& p : impl_->parts) {
    bytes += sizeof(uint64_t) + p.idf.size() * sizeof(float);
    for (size_t id = 0; id < p.terms.size(); ++id) bytes += sizeof(uint32_t) + p.terms.term(id).size();
  }
  std::string out;
  out.reserve(bytes);
  out.append(kVocabMagic, sizeof kVocabMagic);
  put<uint64_t>(out, impl_->parts.size());
  for (const auto& p : impl_->parts) {
    put<uint64_t>(out, p.terms.size());
    for (size_t id = 0; id < p.terms.size(); ++id) {
      const std::string_view t = p.terms.term(id);
      put<uint32_t>(out, uint32_t(t.size()));
      out += t;
    }
    out.append(reinterpret_cast<const char*>(p.idf.data()), p.idf.size() * sizeof(float));
  }
  return out;
}

TextVectorizer TextVectorizer::deserialize(const std::string& config_json, const std::string& vocab) {
  auto impl = std::make_shared<Impl>();
  impl->config = VectorizerConfig::from_json(config_json);
  size_t pos = 0;
  auto fail = [](const std::string& what) { return Error("corrupt vectorizer vocabulary: " + what); };
  auto take = [&](void* dst, size_t n) {
    if (n > vocab.size() - pos) throw fail("ends early");
    if (n == 0) return;  // dst may be an empty vector's null data()
    std::memcpy(dst, vocab.data() + pos, n);
    pos += n;
  };
  char magic[8];
  take(magic, 8);
  if (std::memcmp(magic, kVocabMagic, 8) != 0) throw fail("bad magic");
  uint64_t num_parts;
  take(&num_parts, 8);
  if (num_parts != impl->config.parts.size()) throw fail("part count differs from the config");
  for (const TfidfConfig& pc : impl->config.parts) {
    if (pc.min_df == kAutoMinDf) throw fail("the config's min_df was never chosen (auto)");
  }
  for (uint64_t k = 0; k < num_parts; ++k) {
    Impl::Part p;
    p.config = impl->config.parts[k];
    uint64_t count;
    take(&count, 8);
    if (count > (vocab.size() - pos) / 4) throw fail("term count larger than the data");  // >= 4 bytes a term
    for (uint64_t i = 0; i < count; ++i) {
      uint32_t len;
      take(&len, 4);
      if (len > vocab.size() - pos) throw fail("ends early");
      const std::string_view t(vocab.data() + pos, len);
      if (i > 0 && !(p.terms.term(size_t(i - 1)) < t)) throw fail("terms not sorted and unique");
      p.terms.add(t);
      pos += len;
    }
    p.idf.resize(count);
    take(p.idf.data(), count * sizeof(float));
    for (float f : p.idf) {
      if (!std::isfinite(f)) throw fail("non-finite idf");
    }
    impl->parts.push_back(std::move(p));
  }
  if (pos != vocab.size()) throw fail("trailing bytes");
  impl->link();
  TextVectorizer v;
  v.impl_ = std::move(impl);
  return v;
}

}  // namespace xmr
