#include "analyzers/analyzer_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "analyzers/utf8.h"
#include "core/error.h"

namespace xmr {
namespace {

std::vector<std::string> tokens(const std::string& analyzer, const std::string& text) {
  std::vector<std::string> out;
  TextAnalyzer(analyzer).tokenize(text, out);
  return out;
}

using V = std::vector<std::string>;

TEST(Analyzers, StandardLowercasesSplitsAndDropsStopWords) {
  EXPECT_EQ(tokens("standard", "The Quick-Brown fox, of 2 Foxes!"), (V{"quick", "brown", "fox", "2", "foxes"}));
  EXPECT_EQ(tokens("standard-nostop", "The Quick-Brown fox"), (V{"the", "quick", "brown", "fox"}));
}

TEST(Analyzers, EnglishStems) {
  EXPECT_EQ(tokens("english", "The running foxes jumped"), (V{"run", "fox", "jump"}));
}

TEST(Analyzers, SimpleWhitespaceKeyword) {
  EXPECT_EQ(tokens("simple", "Wi-Fi 5GHz"), (V{"wi", "fi", "ghz"}));
  EXPECT_EQ(tokens("whitespace", "Wi-Fi 5GHz"), (V{"Wi-Fi", "5GHz"}));
  EXPECT_EQ(tokens("keyword", "Wi-Fi 5GHz"), (V{"Wi-Fi 5GHz"}));
}

TEST(Analyzers, SnowballLanguagesAreRegisteredAndStem) {
  const auto names = analyzer_names();
  for (const char* n : {"snowball-english", "snowball-german", "snowball-french", "snowball-porter"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  EXPECT_EQ(tokens("snowball-english", "running quickly"), (V{"run", "quick"}));
  EXPECT_EQ(tokens("snowball-german", "häuser"), (V{"haus"}));
}

TEST(Analyzers, UnknownNameListsKnownOnes) {
  try {
    TextAnalyzer("klingon");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown analyzer 'klingon' (known: "), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("standard"), std::string::npos);
  }
}

TEST(Analyzers, UnicodeAndInvalidUtf8) {
  EXPECT_EQ(tokens("standard", "Café Ünïcode"), (V{"café", "ünïcode"}));
  // Invalid bytes become U+FFFD, never an empty result.
  const std::string bad = std::string("abc \xff\xfe def");
  const auto t = tokens("whitespace", bad);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[1], "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(tokens("standard", "").empty());
}

TEST(Analyzers, SameTokensFromManyThreads) {
  const std::string text = "Stainless steel water bottle, 750 ml, leak-proof lid";
  const auto expected = tokens("english", text);
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      TextAnalyzer a("english");
      std::vector<std::string> out;
      int good = 0;
      for (int i = 0; i < 200; ++i) {
        a.tokenize(text, out);
        good += out == expected;
      }
      ok[t] = good;
    });
  }
  for (auto& th : threads) th.join();
  for (int g : ok) EXPECT_EQ(g, 200);
}

TEST(Utf8, ValidationDecodingAndPrefix) {
  size_t bad = 0;
  EXPECT_TRUE(is_valid_utf8("héllo €𝄞"));
  EXPECT_FALSE(is_valid_utf8("ab\xc3", &bad));
  EXPECT_EQ(bad, 2u);
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));      // overlong
  EXPECT_EQ(wide_to_utf8(utf8_to_wide("héllo €𝄞")), "héllo €𝄞");
  EXPECT_EQ(utf8_to_wide("a\xffz"), (std::wstring{L'a', wchar_t(0xFFFD), L'z'}));
  const std::string euro = "a€";  // 1 + 3 bytes
  EXPECT_EQ(utf8_prefix_length(euro, 3), 1u);
  EXPECT_EQ(utf8_prefix_length(euro, 4), 4u);
}

}  // namespace
}  // namespace xmr
