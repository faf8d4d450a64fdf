// Documents as labels: rank fusion, training from an index and a query log,
// and the retrieve stage over a live index.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "analyzers/query_log.h"
#include "pipeline_fixture.h"
#include "plugin/rank_fusion.h"

namespace xmr {
namespace {

using testing::error_of;

TEST(RankFusion, RrfOnAHandMadeExample) {
  // Lexical: 10, 20, 30; model: 30, 40. With k = 60:
  //   30: 1/63 + 1/61   10: 1/61   20: 1/62   40: 1/62 (ties keep the lexical list first)
  const std::vector<Hit> lexical = {{10, 3.0}, {20, 2.0}, {30, 1.0}}, model = {{30, 0.9}, {40, 0.5}};
  const std::vector<FusedHit> f = fuse(lexical, model, FusionParams{});
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].doc, 30);
  EXPECT_DOUBLE_EQ(f[0].score, 1.0 / 63 + 1.0 / 61);
  EXPECT_EQ(f[0].lexical_rank, 3);
  EXPECT_EQ(f[0].model_rank, 1);
  EXPECT_EQ(f[1].doc, 10);
  EXPECT_DOUBLE_EQ(f[1].score, 1.0 / 61);
  EXPECT_EQ(f[1].model_rank, 0);
  EXPECT_EQ(f[2].doc, 20);
  EXPECT_DOUBLE_EQ(f[2].score, 1.0 / 62);
  EXPECT_EQ(f[3].doc, 40);
  EXPECT_DOUBLE_EQ(f[3].score, 1.0 / 62);
  EXPECT_EQ(f[3].lexical_rank, 0);
  EXPECT_DOUBLE_EQ(f[3].model_score, 0.5);
  // A smaller rank constant weighs the top ranks more.
  FusionParams k1;
  k1.rank_constant = 1;
  EXPECT_DOUBLE_EQ(fuse(lexical, model, k1)[0].score, 1.0 / 4 + 1.0 / 2);
}

TEST(RankFusion, WeightedSumOfMinMaxNormalisedScores) {
  // Lexical 3, 2, 1 -> 1, 0.5, 0; model 0.9, 0.5 -> 1, 0; weights 1 and 2.
  const std::vector<Hit> lexical = {{10, 3.0}, {20, 2.0}, {30, 1.0}}, model = {{30, 0.9}, {40, 0.5}};
  FusionParams p;
  p.rule = FusionRule::kWeighted;
  p.model_weight = 2;
  const std::vector<FusedHit> f = fuse(lexical, model, p);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].doc, 30);
  EXPECT_DOUBLE_EQ(f[0].score, 2.0);
  EXPECT_EQ(f[1].doc, 10);
  EXPECT_DOUBLE_EQ(f[1].score, 1.0);
  EXPECT_EQ(f[2].doc, 20);
  EXPECT_DOUBLE_EQ(f[2].score, 0.5);
  EXPECT_EQ(f[3].doc, 40);
  EXPECT_DOUBLE_EQ(f[3].score, 0.0);
  // One hit per list, or equal scores: normalised to 1.
  EXPECT_DOUBLE_EQ(fuse({{1, 5.0}}, {}, p)[0].score, 1.0);
  EXPECT_TRUE(fuse({}, {}, p).empty());
}

class RetrieveTest : public testing::PipelineFixture {
 protected:
  static void SetUpTestSuite() {
    PipelineFixture::SetUpTestSuite();
    // Shoppers call laptops "portable computers" and bags "carryalls": words
    // no title has. The log also names a product that is gone (p999).
    std::string log;
    for (int i = 0; i < 20; i += 2) {
      log += "{\"query\": \"portable computer\", \"keys\": [\"p" + std::to_string(i) + "\", \"p999\"]}\n";
      log += "{\"query\": \"carryall\", \"keys\": [\"p" + std::to_string(100 + i) + "\"]}\n";
    }
    log += "{\"query\": \"discontinued gadget\", \"keys\": [\"p998\"]}\n";
    testing::write_text(dir_->file("log.jsonl"), log);
    TextDataset data = read_lucene_index(dir_->file("index"), "text", "id");
    std::unordered_set<std::string> keys;
    for (const auto& l : data.labels) keys.insert(l.begin(), l.end());
    stats_ = append_query_log(dir_->file("log.jsonl"), keys, data);
    TrainParams p = default_text_train_params();
    p.clustering.max_leaf_size = 8;
    TextModel::train(std::move(data), default_vectorizer_config(), p).save(dir_->file("docs.xmr"));
  }

  std::string retrieve(const std::string& options = "") const {
    return R"({"type": "retrieve", "model": "docs.xmr", "key_field": "id", "num_candidates": 20)" +
           std::string(options.empty() ? "" : ", ") + options + "}";
  }
  std::vector<std::string> ids(const SearchResult& r) const {
    std::vector<std::string> out;
    for (const auto& h : r.hits) out.push_back(testing::stored_values(searcher_, h.doc, "id")[0]);
    return out;
  }

  inline static QueryLogStats stats_;
};

TEST_F(RetrieveTest, TheLogsUnknownKeysAreSkippedAndCounted) {
  EXPECT_EQ(stats_.queries, 21u);
  EXPECT_EQ(stats_.added, 20u);
  EXPECT_EQ(stats_.unknown_keys, 11u);  // ten p999 and one p998
  EXPECT_EQ(stats_.without_known_key, 1u);
  // An empty log adds nothing and is no error.
  testing::write_text(dir_->file("empty.jsonl"), "");
  TextDataset data;
  const QueryLogStats empty = append_query_log(dir_->file("empty.jsonl"), {"p1"}, data);
  EXPECT_EQ(empty.queries, 0u);
  EXPECT_EQ(data.size(), 0u);
}

TEST_F(RetrieveTest, FindsWhatTheSearchsTermsMiss) {
  const auto lucene = make("");
  const auto hybrid = make(retrieve());
  SearchRequest r;
  r.text = "portable computer";
  r.num_hits = 10;
  r.explain = true;
  EXPECT_TRUE(lucene->search(r).hits.empty());  // no title says it
  const SearchResult res = hybrid->search(r);
  ASSERT_FALSE(res.hits.empty());
  std::set<std::string> clicked;
  for (int i = 0; i < 20; i += 2) clicked.insert("p" + std::to_string(i));
  const auto found = ids(res);
  for (size_t i = 0; i < found.size() && i < 5; ++i) EXPECT_TRUE(clicked.count(found[i])) << found[i];
  ASSERT_EQ(res.explanations.size(), res.hits.size());
  for (const auto& e : res.explanations) {
    EXPECT_EQ(e.lexical_rank, 0);
    EXPECT_GT(e.model_rank, 0);
  }
}

TEST_F(RetrieveTest, MergesWithTheSearchByReciprocalRank) {
  const auto lucene = make("");
  const auto hybrid = make(retrieve(R"("window_size": 30)"));
  SearchRequest r;
  r.text = "acme laptop";
  r.num_hits = 60;
  r.explain = true;
  const SearchResult plain = lucene->search(r), res = hybrid->search(r);
  ASSERT_FALSE(plain.hits.empty());
  ASSERT_EQ(res.explanations.size(), res.hits.size());
  size_t both = 0;
  for (size_t i = 0; i < res.hits.size(); ++i) {
    const HitExplanation& e = res.explanations[i];
    EXPECT_EQ(e.doc, res.hits[i].doc);
    const double expected = (e.lexical_rank ? 1.0 / (60 + e.lexical_rank) : 0) + (e.model_rank ? 1.0 / (60 + e.model_rank) : 0);
    EXPECT_DOUBLE_EQ(res.hits[i].score, expected);
    if (e.lexical_rank) {  // the search's rank and score of the hit
      ASSERT_LE(size_t(e.lexical_rank), plain.hits.size());
      EXPECT_EQ(plain.hits[size_t(e.lexical_rank) - 1].doc, e.doc);
      EXPECT_EQ(e.original_score, plain.hits[size_t(e.lexical_rank) - 1].score);
    }
    both += e.lexical_rank && e.model_rank;
    if (i > 0) {
      EXPECT_GE(res.hits[i - 1].score, res.hits[i].score);
    }
  }
  EXPECT_GT(both, 0u);
  // Rerank after retrieve reorders the fused list.
  const auto with_rerank = make(retrieve() + R"(, {"type": "rerank", "model": "model.xmr", "label_field": "labels"})");
  EXPECT_FALSE(with_rerank->search(r).hits.empty());
}

TEST_F(RetrieveTest, DeletedDocumentsAndKeysNotInTheIndexAreSkipped) {
  // An index of the catalog without the laptops the log clicked (even ids
  // 0..18): the model proposes them, the index has no such keys.
  testing::TempDir other;
  std::string jsonl;
  std::ifstream in(dir_->file("catalog.jsonl"));
  for (std::string line; std::getline(in, line);) {
    bool clicked = false;
    for (int i = 0; i < 20; i += 2) clicked |= line.find("\"id\": \"p" + std::to_string(i) + "\"") != std::string::npos;
    if (!clicked) jsonl += line + "\n";
  }
  testing::write_text(other.file("c.jsonl"), jsonl);
  IndexSpec spec;
  spec.text_fields = {"text"};
  spec.label_fields = {"labels"};
  spec.key_field = "id";
  build_lucene_index(other.file("c.jsonl"), other.file("index"), spec);
  const Lucene::IndexSearcherPtr partial = testing::open_searcher(other.file("index"));
  const std::string stages = "\"stages\": [" + retrieve() + "]";
  const auto p = make_config(stages, "", partial);
  SearchRequest r;
  r.text = "portable computer";
  const SearchResult partial_result = p->search(r);
  ASSERT_FALSE(partial_result.hits.empty());  // the model's other candidates
  for (const auto& h : partial_result.hits) {
    const std::string id = testing::stored_values(partial, h.doc, "id")[0];
    EXPECT_TRUE(id.size() > 1 && (std::stoi(id.substr(1)) % 2 == 1 || std::stoi(id.substr(1)) >= 20)) << id;
  }

  // Deleting a document the model proposes, then reopening: it is gone.
  const auto full = make(retrieve());
  const auto before = ids(full->search(r));
  ASSERT_FALSE(before.empty());
  testing::TempDir live;
  build_lucene_index(dir_->file("catalog.jsonl"), live.file("index"), spec);
  Lucene::DirectoryPtr dir = Lucene::FSDirectory::open(utf8_to_wide(live.file("index")));
  Lucene::IndexReaderPtr reader = Lucene::IndexReader::open(dir, true);
  const auto q = make_config(stages, "", Lucene::newLucene<Lucene::IndexSearcher>(reader));
  EXPECT_EQ(ids(q->search(r)), before);
  Lucene::IndexWriterPtr w =
      Lucene::newLucene<Lucene::IndexWriter>(dir, analyzer_, false, Lucene::IndexWriter::MaxFieldLengthUNLIMITED);
  w->deleteDocuments(Lucene::newLucene<Lucene::Term>(L"id", utf8_to_wide(before[0])));
  Lucene::DocumentPtr doc = Lucene::newLucene<Lucene::Document>();  // a new product the model does not know
  doc->add(Lucene::newLucene<Lucene::Field>(L"text", L"portable computer stand", Lucene::Field::STORE_YES,
                                            Lucene::Field::INDEX_ANALYZED));
  doc->add(Lucene::newLucene<Lucene::Field>(L"id", L"p500", Lucene::Field::STORE_YES, Lucene::Field::INDEX_NOT_ANALYZED));
  w->addDocument(doc);
  w->close();
  reader = reader->reopen();
  const Lucene::IndexSearcherPtr reopened = Lucene::newLucene<Lucene::IndexSearcher>(reader);
  q->set_searcher(reopened);
  std::vector<std::string> after;
  for (const auto& h : q->search(r).hits) after.push_back(testing::stored_values(reopened, h.doc, "id")[0]);
  EXPECT_EQ(std::find(after.begin(), after.end(), before[0]), after.end());
  EXPECT_NE(std::find(after.begin(), after.end(), "p500"), after.end());  // the search finds it
}

TEST_F(RetrieveTest, BadConfigsAreRefused) {
  EXPECT_NE(error_of([&] { make(R"({"type": "retrieve", "model": "docs.xmr"})"); }).find("option \"key_field\": is required"),
            std::string::npos);
  EXPECT_NE(error_of([&] { make(R"({"type": "retrieve", "model": "docs.xmr", "key_field": "labels"})"); })
                .find("is a label of model"),
            std::string::npos);
  EXPECT_NE(error_of([&] { make(retrieve(R"("fusion": "sum")")); }).find("\"sum\" is not one of"), std::string::npos);
  EXPECT_NE(error_of([&] { make(retrieve(R"("rank_constant": 0)")); }).find("option \"rank_constant\""),
            std::string::npos);
}

}  // namespace
}  // namespace xmr
