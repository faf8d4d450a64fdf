// Lucene++ analyzers by name, behind an interface free of Lucene++ headers.
//
// Names: standard (Lucene's StandardAnalyzer: standard tokenizer, lower case,
// English stop words), standard-nostop (the same keeping stop words), english
// (standard + Porter stemming), simple, whitespace, keyword, stop, the Snowball
// stemmers as snowball-<language> (snowball-english, snowball-german, ...),
// and Lucene++'s language analyzers: arabic, brazilian, cjk, chinese, czech,
// dutch, french, german, greek, persian, russian.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace xmr {

// Every analyzer name the registry knows, sorted.
std::vector<std::string> analyzer_names();

// Throws xmr::Error listing the known names unless `name` is one of them.
void check_analyzer_name(const std::string& name);

// Turns text into the tokens a Lucene++ analyzer produces. Thread-safe: each
// thread uses its own Lucene++ analyzer instance (created on first use), and
// token streams are always obtained with reusableTokenStream (SnowballAnalyzer's
// tokenStream leaks in Lucene++ 3.0.8).
class TextAnalyzer {
 public:
  explicit TextAnalyzer(const std::string& name);  // throws xmr::Error on an unknown name
  const std::string& name() const { return name_; }

  // Tokens of UTF-8 `text` as UTF-8 strings, appended to `out` (cleared
  // first). Invalid UTF-8 sequences are read as U+FFFD. `field` is the field
  // name passed to Lucene++ (analyzers that vary by field use it).
  void tokenize(const std::string& text, std::vector<std::string>& out, const std::string& field = "text") const;

 private:
  std::string name_;
};

}  // namespace xmr
