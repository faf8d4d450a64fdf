// A pipeline serving a changing index: documents added and deleted, the
// reader reopened and handed over with Pipeline::set_searcher, while
// queries run.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "pipeline_fixture.h"

namespace xmr {
namespace {

using testing::error_of;

class IndexReopenTest : public testing::PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    index_ = std::make_unique<testing::TempDir>();
    IndexSpec spec;
    spec.text_fields = {"text"};
    spec.label_fields = {"labels"};
    spec.key_field = "id";
    build_lucene_index(dir_->file("catalog.jsonl"), index_->file("index"), spec);
    directory_ = Lucene::FSDirectory::open(utf8_to_wide(index_->file("index")));
    reader_ = Lucene::IndexReader::open(directory_, true);
    searcher_ = Lucene::newLucene<Lucene::IndexSearcher>(reader_);
  }
  void TearDown() override {
    if (writer_) writer_->close();
  }

  std::unique_ptr<Pipeline> make_rerank() const {
    return make(R"({"type": "rerank", "model": "model.xmr", "label_field": "labels", "window_size": 50})");
  }

  Lucene::IndexWriterPtr writer() {
    if (!writer_) {
      writer_ = Lucene::newLucene<Lucene::IndexWriter>(directory_, analyzer_, false,
                                                       Lucene::IndexWriter::MaxFieldLengthUNLIMITED);
    }
    return writer_;
  }

  // Adds a product as xmr index would (analyzed text, exact labels and key) and commits.
  void add(const std::string& id, const std::string& text, const std::vector<std::string>& labels) {
    Lucene::DocumentPtr doc = Lucene::newLucene<Lucene::Document>();
    doc->add(Lucene::newLucene<Lucene::Field>(L"text", utf8_to_wide(text), Lucene::Field::STORE_YES,
                                              Lucene::Field::INDEX_ANALYZED));
    for (const auto& l : labels) {
      doc->add(Lucene::newLucene<Lucene::Field>(L"labels", utf8_to_wide(l), Lucene::Field::STORE_YES,
                                                Lucene::Field::INDEX_NOT_ANALYZED));
    }
    doc->add(Lucene::newLucene<Lucene::Field>(L"id", utf8_to_wide(id), Lucene::Field::STORE_YES,
                                              Lucene::Field::INDEX_NOT_ANALYZED));
    writer()->addDocument(doc);
    writer()->commit();
  }
  void remove(const std::string& id) {
    writer()->deleteDocuments(Lucene::newLucene<Lucene::Term>(L"id", utf8_to_wide(id)));
    writer()->commit();
  }
  // The reader reopened on the latest commit, with a searcher over it.
  Lucene::IndexSearcherPtr reopen() {
    reader_ = reader_->reopen();
    return Lucene::newLucene<Lucene::IndexSearcher>(reader_);
  }

  static size_t tables_built(const Pipeline& p) {
    const std::string d = p.describe_resource("model.xmr");
    const size_t end = d.find(" segment label tables built");
    const size_t start = d.rfind(' ', end - 1) + 1;
    return std::stoul(d.substr(start, end - start));
  }

  std::unique_ptr<testing::TempDir> index_;
  Lucene::DirectoryPtr directory_;
  Lucene::IndexReaderPtr reader_;
  Lucene::IndexWriterPtr writer_;
};

std::vector<std::string> ids(const Lucene::IndexSearcherPtr& s, const SearchResult& r) {
  std::vector<std::string> out;
  for (const auto& h : r.hits) out.push_back(testing::stored_values(s, h.doc, "id")[0]);
  return out;
}

TEST_F(IndexReopenTest, AddedDocumentsAreFoundAndRerankedAfterSetSearcher) {
  const auto p = make_rerank();
  SearchRequest r;
  r.text = "quantum ultrabook";
  r.explain = true;
  const size_t tables_before = tables_built(*p);
  EXPECT_GE(tables_before, 1u);
  add("q1", "quantum ultrabook ssd", {"Electronics", "Electronics > Laptops"});
  add("q2", "quantum duvet", {"Home", "Home > Bedding"});
  EXPECT_TRUE(ids(p->searcher(), p->search(r)).size() >= 1);  // the catalog's ultrabooks
  for (const auto& id : ids(p->searcher(), p->search(r))) EXPECT_NE(id[0], 'q');

  const Lucene::IndexSearcherPtr next = reopen();
  p->set_searcher(next);
  EXPECT_EQ(p->searcher(), next);
  const SearchResult res = p->search(r);
  const auto found = ids(next, res);
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0], "q1");  // both words, and the model knows its labels
  ASSERT_FALSE(res.explanations.empty());
  EXPECT_TRUE(res.explanations[0].matched);
  // Two commits added two segments: tables were built for those two only.
  EXPECT_EQ(tables_built(*p), tables_before + 2);
  EXPECT_EQ(p->stats().searcher_changes, 1u);
}

TEST_F(IndexReopenTest, DeletedDocumentsDisappearAndUnchangedSegmentsKeepTheirTables) {
  const auto p = make_rerank();
  SearchRequest r;
  r.text = "ultrabook ssd keyboard laptop notebook";
  r.num_hits = 200;
  const auto before = ids(p->searcher(), p->search(r));
  ASSERT_FALSE(before.empty());
  const std::string gone = before[0];
  const size_t tables_before = tables_built(*p);
  remove(gone);
  const Lucene::IndexSearcherPtr next = reopen();
  p->set_searcher(next);
  const auto after = ids(next, p->search(r));
  EXPECT_EQ(after.size(), before.size() - 1);
  EXPECT_EQ(std::find(after.begin(), after.end(), gone), after.end());
  EXPECT_EQ(tables_built(*p), tables_before);  // deletions only: the segment's table still serves
}

TEST_F(IndexReopenTest, TheHostMayCloseAnOldReaderAtOnce) {
  const Lucene::IndexReaderPtr first = reader_;
  const auto p = make_rerank();
  // The host closes its reader: the pipeline still holds it, and serves.
  first->close();
  SearchRequest r;
  r.text = "laptop";
  EXPECT_FALSE(p->search(r).hits.empty());
  EXPECT_EQ(first->getRefCount(), 1);
  add("q1", "quantum laptop", {"Electronics"});
  reader_ = Lucene::IndexReader::open(directory_, true);  // the closed reader cannot reopen itself
  p->set_searcher(Lucene::newLucene<Lucene::IndexSearcher>(reader_));
  EXPECT_EQ(first->getRefCount(), 0);  // no query holds it any more: really closed
  EXPECT_FALSE(p->search(r).hits.empty());
}

TEST_F(IndexReopenTest, BadSearchersAreRefusedAndTheCurrentOneStays) {
  const auto p = make_rerank();
  const Lucene::IndexSearcherPtr current = p->searcher();
  EXPECT_NE(error_of([&] { p->set_searcher(nullptr); }).find("set_searcher: no IndexSearcher given"),
            std::string::npos);
  add("q1", "quantum laptop", {"Electronics"});
  const Lucene::IndexSearcherPtr closed = reopen();
  closed->getIndexReader()->close();
  EXPECT_NE(error_of([&] { p->set_searcher(closed); }).find("set_searcher: the searcher's index reader cannot be used"),
            std::string::npos);
  EXPECT_EQ(p->searcher(), current);
  // An index without the label field cannot be reranked.
  testing::TempDir other;
  testing::write_text(other.file("c.jsonl"), "{\"text\": \"laptop\", \"tags\": [\"x\"]}\n");
  IndexSpec spec;
  spec.label_fields = {"tags"};
  build_lucene_index(other.file("c.jsonl"), other.file("index"), spec);
  EXPECT_NE(error_of([&] { p->set_searcher(testing::open_searcher(other.file("index"))); })
                .find("set_searcher: stage \"rerank\": label_field: field \"labels\" is not an indexed field"),
            std::string::npos);
  EXPECT_EQ(p->searcher(), current);
  SearchRequest r;
  r.text = "laptop";
  EXPECT_FALSE(p->search(r).hits.empty());
}

TEST_F(IndexReopenTest, QueriesNeverFailWhileDocumentsAreAddedAndTheIndexReopened) {
  const auto p = make(R"({"type": "categorize", "model": "model.xmr", "mode": "boost", "field": "labels"},
                         {"type": "rerank", "model": "model.xmr", "label_field": "labels", "window_size": 20})");
  std::atomic<bool> stop{false};
  std::atomic<size_t> served{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      SearchRequest r;
      r.text = t % 2 ? "quantum laptop ssd" : "leather tote strap";
      r.explain = true;
      while (!stop) {
        try {
          const SearchResult res = p->search(r);
          if (res.hits.empty()) ++failed;
          ++served;
        } catch (const std::exception&) {
          ++failed;
        }
      }
    });
  }
  for (int i = 0; i < 10; ++i) {
    add("q" + std::to_string(i), "quantum laptop " + std::to_string(i), {"Electronics", "Electronics > Laptops"});
    if (i % 3 == 2) remove("q" + std::to_string(i - 1));
    const Lucene::IndexReaderPtr old = reader_;
    p->set_searcher(reopen());
    old->close();  // as a host would, while queries may still be on it
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0u);
  EXPECT_GT(served.load(), 0u);
  SearchRequest r;
  r.text = "quantum";
  r.num_hits = 100;
  EXPECT_EQ(p->search(r).hits.size(), 7u);  // 10 added, 3 deleted
}

}  // namespace
}  // namespace xmr
