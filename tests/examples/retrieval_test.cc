// Documents as labels on the demo catalog: the shopper queries' shape, and
// the hybrid retrieval above Lucene++ alone on both measures.
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <set>
#include <sstream>

#include "../core/test_util.h"
#include "../plugin/plugin_test_util.h"
#include "examples/catalog.h"
#include "examples/retrieval_evaluation.h"
#include "examples/shopper_queries.h"
#include "plugin/plugin_loader.h"

namespace xmr {
namespace {

TEST(ShopperQueries, NoTestTextIsLoggedAndEveryQueryHasItsProducts) {
  CatalogParams cp;
  cp.products = 4000;
  cp.queries = 0;
  const Catalog c = generate_catalog(cp);
  ShopperQueryParams qp;
  qp.intents = 600;
  const ShopperQueries q = make_shopper_queries(c, qp);
  ASSERT_GT(q.test.size(), 50u);
  ASSERT_GT(q.log.size(), 4 * q.test.size() / 2);
  std::set<std::string> ids, logged;
  for (const auto& p : c.products) ids.insert(p.id);
  for (const auto& l : q.log) {
    logged.insert(l.text);
    ASSERT_FALSE(l.keys.empty());
    EXPECT_LE(l.keys.size(), qp.max_clicks);
    for (const auto& k : l.keys) EXPECT_TRUE(ids.count(k)) << k;
  }
  std::map<std::string, std::set<std::string>> title_words;  // id -> lower-cased title words
  for (const auto& p : c.products) {
    std::istringstream in(p.title);
    for (std::string w; in >> w;) {
      for (char& ch : w) ch = char(std::tolower((unsigned char)ch));
      title_words[p.id].insert(w);
    }
  }
  size_t gap = 0;  // test queries none of whose words is in a relevant product's title
  for (const auto& t : q.test) {
    EXPECT_FALSE(logged.count(t.text)) << t.text;
    ASSERT_FALSE(t.keys.empty());
    bool shares = false;
    std::istringstream in(t.text);
    for (std::string w; in >> w && !shares;) {
      for (const auto& k : t.keys) shares |= title_words[k].count(w) > 0;
    }
    gap += !shares;
  }
  EXPECT_GT(gap, q.test.size() / 10) << gap << " of " << q.test.size();  // measured: 41 of 251
  // Deterministic.
  const ShopperQueries again = make_shopper_queries(c, qp);
  ASSERT_EQ(again.test.size(), q.test.size());
  for (size_t i = 0; i < q.test.size(); ++i) EXPECT_EQ(again.test[i].text, q.test[i].text);
}

TEST(Retrieval, TheHybridFindsMoreThanLuceneAlone) {
  load_plugin(testing::plugin_path());
  testing::TempDir dir;
  const RetrievalComparison c = compare_retrieval(dir.path(), 8000, 1000);
  ASSERT_GT(c.test_queries, 200u);
  EXPECT_EQ(c.lucene.queries, c.test_queries);
  // Measured: Recall@100 0.794 -> 0.885 and nDCG@10 0.507 -> 0.624 at these sizes.
  EXPECT_GT(c.hybrid.recall100, c.lucene.recall100 + 0.03);
  EXPECT_GT(c.hybrid.ndcg10, c.lucene.ndcg10 + 0.03);
  EXPECT_GT(c.model_only.recall100, 0.5);  // the model alone finds most too
}

}  // namespace
}  // namespace xmr
