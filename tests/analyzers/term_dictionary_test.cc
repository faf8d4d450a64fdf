// The vectorizer's compact vocabulary.
#include <gtest/gtest.h>

#include <string>

#include "analyzers/term_dictionary.h"

namespace xmr {
namespace {

TEST(TermDictionary, FindsEveryTermByIdAndNothingElse) {
  TermDictionary d;
  EXPECT_EQ(d.find("a"), -1);  // not indexed yet: nothing
  for (int i = 0; i < 5000; ++i) d.add("t" + std::to_string(i));
  d.add("");  // the empty term is a term like any other
  d.add(std::string("nul\0byte", 8));
  d.index();
  ASSERT_EQ(d.size(), 5002u);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(d.find("t" + std::to_string(i)), i);
    ASSERT_EQ(d.term(size_t(i)), "t" + std::to_string(i));
  }
  EXPECT_EQ(d.find(""), 5000);
  EXPECT_EQ(d.find(std::string("nul\0byte", 8)), 5001);
  EXPECT_EQ(d.find("nul"), -1);
  EXPECT_EQ(d.find("t5000"), -1);
  EXPECT_EQ(d.find("t"), -1);
}

}  // namespace
}  // namespace xmr
