#include "index_tools/vectorizer_options.h"

#include <cmath>
#include <optional>

#include "analyzers/text_model.h"
#include "core/error.h"

namespace xmr::cli {

namespace {

// "1-2" -> {1, 2}; "3" -> {3, 3}; throws on anything else.
std::pair<int, int> parse_numbers(const std::string& s, const char* option) {
  try {
    size_t used = 0;
    const int lo = std::stoi(s, &used);
    if (used == s.size()) return {lo, lo};
    if (s[used] != '-') throw std::invalid_argument(s);
    const std::string rest = s.substr(used + 1);
    size_t used2 = 0;
    const int hi = std::stoi(rest, &used2);
    if (used2 != rest.size()) throw std::invalid_argument(s);
    return {lo, hi};
  } catch (const std::exception&) {
    throw Error(std::string("--") + option + " must be N, N-M or none, got '" + s + "'");
  }
}

// "1-2" -> {1, 2}; "3" -> {3, 3}; "none" -> {0, 0}. Anything else, a 0 or a
// reversed range included, is refused: "none" is the one way to turn a part off.
std::pair<int, int> parse_range(const std::string& s, const char* option) {
  if (s == "none") return {0, 0};
  const std::pair<int, int> range = parse_numbers(s, option);
  if (range.first < 1 || range.second < range.first || range.second > 16) {
    throw Error(std::string("--") + option + " '" + s + "': n-gram sizes must satisfy 1 <= N <= M <= 16 (or none)");
  }
  return range;
}

// "auto" or a number > 0.
double parse_min_df(const std::string& s) {
  if (s == "auto") return kAutoMinDf;
  const std::optional<double> v = whole_double(s);
  if (!v || !(*v > 0) || !std::isfinite(*v)) {
    throw Error("--min-df '" + s + "': expected a number > 0 (a count, or a fraction if < 1) or auto");
  }
  return *v;
}

}  // namespace

void add_vectorizer_options(po::options_description& o) {
  const VectorizerConfig d = default_vectorizer_config();
  o.add_options()
      ("analyzer", po::value<std::string>()->default_value(d.parts[0].analyzer), "Lucene++ analyzer (jsonl)")
      ("word-ngrams", po::value<std::string>()->default_value("1-2"), "word n-gram range, or none (jsonl)")
      ("char-ngrams", po::value<std::string>()->default_value("2-4"), "char n-grams within words, or none (jsonl)")
      ("min-df", po::value<std::string>()->default_value("auto"),
       "min document frequency: count, or fraction if < 1, or auto (2 for word n-grams of texts averaging 32+ "
       "words, else 1) (jsonl)")
      ("max-df", po::value<double>()->default_value(1.0), "max document frequency: fraction if <= 1, else count (jsonl)")
      ("max-features", po::value<size_t>()->default_value(0), "keep the most frequent terms per part, 0 = all (jsonl)")
      ("sublinear-tf", po::bool_switch(), "tf = 1 + ln(count) (jsonl)")
      ("binary-tf", po::bool_switch(), "tf = 1 for present terms (jsonl)")
      ("max-text-bytes", po::value<size_t>()->default_value(d.max_text_bytes), "longer texts are cut (jsonl)");
}

VectorizerConfig vectorizer_config_from(const po::variables_map& vm) {
  VectorizerConfig c;
  c.parts.clear();
  c.max_text_bytes = vm["max-text-bytes"].as<size_t>();
  TfidfConfig base;
  base.analyzer = vm["analyzer"].as<std::string>();
  base.min_df = parse_min_df(vm["min-df"].as<std::string>());
  base.max_df = vm["max-df"].as<double>();
  base.max_features = vm["max-features"].as<size_t>();
  base.sublinear_tf = vm["sublinear-tf"].as<bool>();
  base.binary = vm["binary-tf"].as<bool>();
  const auto words = parse_range(vm["word-ngrams"].as<std::string>(), "word-ngrams");
  const auto chars = parse_range(vm["char-ngrams"].as<std::string>(), "char-ngrams");
  if (words.first > 0) {
    TfidfConfig w = base;
    w.ngram_min = words.first;
    w.ngram_max = words.second;
    c.parts.push_back(w);
  }
  if (chars.first > 0) {
    TfidfConfig ch = base;
    ch.unit = "char_wb";
    ch.ngram_min = chars.first;
    ch.ngram_max = chars.second;
    c.parts.push_back(ch);
  }
  c.validate();
  return c;
}

}  // namespace xmr::cli
