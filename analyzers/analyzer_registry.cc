#include "analyzers/analyzer_registry.h"

#include <lucene++/LuceneHeaders.h>
#include <lucene++/ArabicAnalyzer.h>
#include <lucene++/BrazilianAnalyzer.h>
#include <lucene++/CJKAnalyzer.h>
#include <lucene++/ChineseAnalyzer.h>
#include <lucene++/CzechAnalyzer.h>
#include <lucene++/DutchAnalyzer.h>
#include <lucene++/FrenchAnalyzer.h>
#include <lucene++/GermanAnalyzer.h>
#include <lucene++/GreekAnalyzer.h>
#include <lucene++/KeywordAnalyzer.h>
#include <lucene++/LowerCaseFilter.h>
#include <lucene++/PersianAnalyzer.h>
#include <lucene++/PorterStemFilter.h>
#include <lucene++/RussianAnalyzer.h>
#include <lucene++/SimpleAnalyzer.h>
#include <lucene++/SnowballAnalyzer.h>
#include <lucene++/StandardFilter.h>
#include <lucene++/StandardTokenizer.h>
#include <lucene++/StopAnalyzer.h>
#include <lucene++/StopFilter.h>
#include <lucene++/StringReader.h>
#include <lucene++/TermAttribute.h>
#include <lucene++/WhitespaceAnalyzer.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "analyzers/lucene_analyzers.h"
#include "analyzers/utf8.h"
#include "core/error.h"

extern "C" const char** sb_stemmer_list(void);  // libstemmer, inside liblucene++-contrib

namespace xmr {

namespace {

using Lucene::LuceneVersion;
using Lucene::LuceneObject;  // LUCENE_CLASS expands to unqualified names
using Lucene::String;
constexpr LuceneVersion::Version kVersion = LuceneVersion::LUCENE_30;

// A chain over Lucene's StandardTokenizer, built once per instance and reset
// per text (instances are per thread).
class ChainAnalyzer : public Lucene::Analyzer {
 public:
  LUCENE_CLASS(ChainAnalyzer);
  Lucene::TokenStreamPtr tokenStream(const Lucene::String&, const Lucene::ReaderPtr& reader) override {
    Lucene::TokenizerPtr source = Lucene::newLucene<Lucene::StandardTokenizer>(kVersion, reader);
    return chain(source);
  }
  Lucene::TokenStreamPtr reusableTokenStream(const Lucene::String&, const Lucene::ReaderPtr& reader) override {
    if (!source_) {
      source_ = Lucene::newLucene<Lucene::StandardTokenizer>(kVersion, reader);
      result_ = chain(source_);
    } else {
      source_->reset(reader);
    }
    return result_;
  }

 protected:
  // The filters over `source`.
  virtual Lucene::TokenStreamPtr chain(const Lucene::TokenizerPtr& source) = 0;

 private:
  Lucene::TokenizerPtr source_;
  Lucene::TokenStreamPtr result_;
};

// Standard tokenizer, lower case, English stop words, Porter stemmer.
class EnglishAnalyzer : public ChainAnalyzer {
 public:
  LUCENE_CLASS(EnglishAnalyzer);

 protected:
  Lucene::TokenStreamPtr chain(const Lucene::TokenizerPtr& source) override {
    Lucene::TokenStreamPtr s = Lucene::newLucene<Lucene::StandardFilter>(source);
    s = Lucene::newLucene<Lucene::LowerCaseFilter>(s);
    s = Lucene::newLucene<Lucene::StopFilter>(true, s, Lucene::StopAnalyzer::ENGLISH_STOP_WORDS_SET());
    return Lucene::newLucene<Lucene::PorterStemFilter>(s);
  }
};

// Standard tokenizer and lower case, keeping stop words: every word counts,
// which matters for short texts such as product titles and queries.
class StandardNoStopAnalyzer : public ChainAnalyzer {
 public:
  LUCENE_CLASS(StandardNoStopAnalyzer);

 protected:
  Lucene::TokenStreamPtr chain(const Lucene::TokenizerPtr& source) override {
    return Lucene::newLucene<Lucene::LowerCaseFilter>(Lucene::newLucene<Lucene::StandardFilter>(source));
  }
};

using Factory = Lucene::AnalyzerPtr (*)();

const std::vector<std::pair<std::string, Factory>>& fixed_analyzers() {
  static const std::vector<std::pair<std::string, Factory>> list = {
      {"arabic", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::ArabicAnalyzer>(kVersion)); }},
      {"brazilian", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::BrazilianAnalyzer>(kVersion)); }},
      {"chinese", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::ChineseAnalyzer>()); }},
      {"cjk", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::CJKAnalyzer>(kVersion)); }},
      {"czech", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::CzechAnalyzer>(kVersion)); }},
      {"dutch", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::DutchAnalyzer>(kVersion)); }},
      {"english", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<EnglishAnalyzer>()); }},
      {"french", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::FrenchAnalyzer>(kVersion)); }},
      {"german", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::GermanAnalyzer>(kVersion)); }},
      {"greek", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::GreekAnalyzer>(kVersion)); }},
      {"keyword", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::KeywordAnalyzer>()); }},
      {"persian", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::PersianAnalyzer>(kVersion)); }},
      {"russian", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::RussianAnalyzer>(kVersion)); }},
      {"simple", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::SimpleAnalyzer>()); }},
      {"standard", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::StandardAnalyzer>(kVersion)); }},
      {"standard-nostop", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<StandardNoStopAnalyzer>()); }},
      {"stop", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::StopAnalyzer>(kVersion)); }},
      {"whitespace", [] { return Lucene::AnalyzerPtr(Lucene::newLucene<Lucene::WhitespaceAnalyzer>()); }},
  };
  return list;
}

// Snowball stemmer names from libstemmer ("english", "german", ... and "porter").
std::vector<std::string> snowball_languages() {
  std::vector<std::string> out;
  for (const char** p = sb_stemmer_list(); p && *p; ++p) out.emplace_back(*p);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const std::string kSnowballPrefix = "snowball-";

Lucene::AnalyzerPtr create_analyzer(const std::string& name) {
  for (const auto& [n, make] : fixed_analyzers()) {
    if (n == name) return make();
  }
  if (name.rfind(kSnowballPrefix, 0) == 0) {
    // libstemmer's own (lower-case) name, as sb_stemmer_list() gives it.
    const std::string lang = name.substr(kSnowballPrefix.size());
    return Lucene::newLucene<Lucene::SnowballAnalyzer>(kVersion, utf8_to_wide(lang));
  }
  throw Error("unknown analyzer '" + name + "'");
}

// Lucene++ builds some shared tables (stop sets, character maps) lazily on
// first use without locking, and two threads doing that at once crashed
// about one `xmr train` run in 150. So each thread's first analyzer of a
// kind is made, and run once, under one lock; later use needs no lock.
Lucene::AnalyzerPtr create_warmed_analyzer(const std::string& name) {
  static std::mutex first_use;
  std::lock_guard<std::mutex> lock(first_use);
  Lucene::AnalyzerPtr analyzer = create_analyzer(name);
  Lucene::TokenStreamPtr stream = analyzer->reusableTokenStream(
      L"text", Lucene::newLucene<Lucene::StringReader>(L"Warming the Analyzers' tables: 42 cafés, e-mail a@b.com"));
  stream->reset();
  while (stream->incrementToken()) {
  }
  stream->end();
  return analyzer;
}

}  // namespace

Lucene::AnalyzerPtr make_lucene_analyzer(const std::string& name) {
  check_analyzer_name(name);
  return create_warmed_analyzer(name);
}

std::vector<std::string> analyzer_names() {
  std::vector<std::string> names;
  for (const auto& f : fixed_analyzers()) names.push_back(f.first);
  for (const auto& lang : snowball_languages()) names.push_back(kSnowballPrefix + lang);
  std::sort(names.begin(), names.end());
  return names;
}

void check_analyzer_name(const std::string& name) {
  const auto names = analyzer_names();
  if (std::find(names.begin(), names.end(), name) != names.end()) return;
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown analyzer '" + name + "' (known: " + known + ")");
}

TextAnalyzer::TextAnalyzer(const std::string& name) : name_(name) { check_analyzer_name(name); }

void TextAnalyzer::tokenize(const std::string& text, std::vector<std::string>& out, const std::string& field) const {
  out.clear();
  // Lucene++ analyzers keep per-instance state; one instance per thread and name.
  thread_local std::unordered_map<std::string, Lucene::AnalyzerPtr> analyzers;
  Lucene::AnalyzerPtr& analyzer = analyzers[name_];
  try {
    if (!analyzer) analyzer = create_warmed_analyzer(name_);
    Lucene::TokenStreamPtr stream =
        analyzer->reusableTokenStream(utf8_to_wide(field), Lucene::newLucene<Lucene::StringReader>(utf8_to_wide(text)));
    Lucene::TermAttributePtr term = stream->addAttribute<Lucene::TermAttribute>();
    stream->reset();
    while (stream->incrementToken()) {
      std::string token;
      const wchar_t* buf = term->termBuffer().get();
      for (int32_t i = 0; i < term->termLength(); ++i) append_utf8(buf[i], token);
      out.push_back(std::move(token));
    }
    stream->end();
  } catch (const Lucene::LuceneException& e) {
    throw Error("analyzer '" + name_ + "' failed: " + wide_to_utf8(e.getError()));
  }
}

}  // namespace xmr
