// Team-draft interleaving: the merge itself, and pipelines whose two sides
// are interleaved for online A/B tests.
#include <gtest/gtest.h>

#include <set>

#include "pipeline_fixture.h"
#include "plugin/team_draft.h"

namespace xmr {
namespace {

using testing::error_of;

std::vector<Hit> hits_of(const std::vector<int32_t>& docs) {
  std::vector<Hit> out;
  for (int32_t d : docs) out.push_back({d, 1.0});
  return out;
}

// What team draft promises for any seed: no document twice; each team adds
// its own documents in its own order, skipping those already in; the teams'
// pick counts never differ by more than one while both can pick.
void expect_team_draft(const std::vector<Hit>& a, const std::vector<Hit>& b, size_t k, uint64_t seed) {
  const std::vector<DraftedHit> d = team_draft(a, b, k, seed);
  const std::vector<Hit>* lists[2] = {&a, &b};
  std::set<int32_t> seen;
  size_t picks[2] = {0, 0};
  size_t last[2] = {0, 0};
  bool started[2] = {false, false};
  for (const auto& h : d) {
    const int32_t doc = (*lists[h.side])[h.index].doc;
    EXPECT_TRUE(seen.insert(doc).second) << "doc " << doc << " twice";
    if (started[h.side]) {
      EXPECT_GT(h.index, last[h.side]);
    }
    // Everything the team skipped over was already placed.
    for (size_t i = started[h.side] ? last[h.side] + 1 : 0; i < h.index; ++i) {
      EXPECT_TRUE(seen.count((*lists[h.side])[i].doc)) << "team " << h.side << " skipped doc " << (*lists[h.side])[i].doc;
    }
    started[h.side] = true;
    last[h.side] = h.index;
    ++picks[h.side];
  }
  std::set<int32_t> all;
  for (const auto& h : a) all.insert(h.doc);
  for (const auto& h : b) all.insert(h.doc);
  EXPECT_EQ(d.size(), std::min(k, all.size()));
  if (d.size() == std::min(k, all.size()) && std::min(a.size(), b.size()) >= k) {
    EXPECT_LE(std::max(picks[0], picks[1]) - std::min(picks[0], picks[1]), 1u);
  }
}

TEST(TeamDraft, KeepsEachTeamsOrderAndBalance) {
  const auto a = hits_of({1, 2, 3, 4, 5, 6}), b = hits_of({3, 1, 7, 8, 2, 9});
  for (uint64_t seed = 0; seed < 200; ++seed) {
    expect_team_draft(a, b, 6, seed);
    expect_team_draft(a, b, 12, seed);
    expect_team_draft(a, hits_of({}), 4, seed);
    expect_team_draft(hits_of({1, 2}), b, 6, seed);
  }
}

TEST(TeamDraft, TheSeedDecidesTheCoinAndOnlyTheCoin) {
  const auto a = hits_of({1, 2, 3, 4}), b = hits_of({5, 6, 7, 8});
  std::set<int> first_sides;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    const auto d = team_draft(a, b, 4, seed);
    const auto again = team_draft(a, b, 4, seed);
    ASSERT_EQ(d.size(), again.size());
    for (size_t i = 0; i < d.size(); ++i) EXPECT_EQ(d[i].side, again[i].side);
    first_sides.insert(d[0].side);
    // Each pair of rounds is one pick per team.
    EXPECT_NE(d[0].side, d[1].side);
    EXPECT_NE(d[2].side, d[3].side);
  }
  EXPECT_EQ(first_sides.size(), 2u);  // both teams win the first coin for some seed
  // Identical lists: the first pick takes doc 1, the other team doc 2.
  const auto same = team_draft(a, a, 2, 7);
  ASSERT_EQ(same.size(), 2u);
  EXPECT_EQ(same[0].index, 0u);
  EXPECT_EQ(same[1].index, 1u);
  EXPECT_NE(same[0].side, same[1].side);
  EXPECT_EQ(interleave_seed("q-17"), interleave_seed("q-17"));
  EXPECT_NE(interleave_seed("q-17"), interleave_seed("q-18"));
}

class InterleaveTest : public testing::PipelineFixture {
 protected:
  std::unique_ptr<Pipeline> make_interleaved(const std::string& a, const std::string& b) const {
    return make_config("\"interleave\": {\"a\": [" + a + "], \"b\": [" + b + "]}");
  }
};

const char* kRerankA = R"({"type": "rerank", "name": "rerank_a", "model": "model.xmr", "label_field": "labels",
                           "window_size": 30, "rescore_query_weight": 5})";
const char* kRerankB = R"({"type": "rerank", "name": "rerank_b", "model": "model_b.xmr", "label_field": "labels",
                           "window_size": 30, "rescore_query_weight": 5})";

TEST_F(InterleaveTest, HitsComeFromBothSidesInTheirOwnOrderAndAreMarked) {
  const auto p = make_interleaved("", kRerankB);
  const auto lucene = make("");
  const auto reranked = make(kRerankB);
  SearchRequest r;
  r.text = "leather tote strap sneakers";
  r.num_hits = 10;
  r.query_id = "session-1/query-1";
  r.explain = true;
  const SearchResult res = p->search(r);
  ASSERT_EQ(res.hits.size(), 10u);
  ASSERT_EQ(res.hit_sides.size(), res.hits.size());
  const std::vector<Hit> side_a = lucene->search(r).hits, side_b = reranked->search(r).hits;
  size_t from[2] = {0, 0};
  size_t last[2] = {0, 0};
  std::set<int32_t> seen;
  for (size_t i = 0; i < res.hits.size(); ++i) {
    const int side = res.hit_sides[i] == "a" ? 0 : 1;
    ASSERT_TRUE(res.hit_sides[i] == "a" || res.hit_sides[i] == "b");
    const std::vector<Hit>& list = side == 0 ? side_a : side_b;
    const auto at = std::find_if(list.begin(), list.end(), [&](const Hit& h) { return h.doc == res.hits[i].doc; });
    ASSERT_NE(at, list.end());
    const size_t place = size_t(at - list.begin());
    if (from[side] > 0) {
      EXPECT_GT(place, last[side]);  // each side's own order
    }
    last[side] = place;
    ++from[side];
    EXPECT_EQ(res.hits[i].score, at->score);  // the score its side gave
    EXPECT_TRUE(seen.insert(res.hits[i].doc).second);
  }
  EXPECT_EQ(from[0], 5u);
  EXPECT_EQ(from[1], 5u);
  EXPECT_EQ(res.explanations.size(), 0u);  // side a has no rescoring stage: no explanations to line up
  // The same query id gets the same list; other ids flip other coins.
  const SearchResult again = p->search(r);
  EXPECT_EQ(again.hit_sides, res.hit_sides);
  std::set<std::vector<std::string>> orders;
  for (int q = 0; q < 20; ++q) {
    r.query_id = "session-1/query-" + std::to_string(q);
    orders.insert(p->search(r).hit_sides);
  }
  EXPECT_GT(orders.size(), 1u);
  // Both sides searched: two search runs per query.
  const PipelineStats s = p->stats();
  for (const auto& st : s.stages) {
    if (st.stage == "search") {
      EXPECT_EQ(st.runs, 2 * s.queries);
    }
  }
}

TEST_F(InterleaveTest, TwoModelsSideBySideReportTheirModelsAndFeatures) {
  const auto p = make_interleaved(kRerankA, kRerankB);
  SearchRequest r;
  r.text = "acme laptop ssd phone";
  r.num_hits = 8;
  r.explain = true;
  r.log_features = true;
  const SearchResult res = p->search(r);
  ASSERT_EQ(res.hits.size(), 8u);
  ASSERT_EQ(res.explanations.size(), 8u);
  ASSERT_EQ(res.features.size(), 8u);
  for (size_t i = 0; i < res.hits.size(); ++i) {
    EXPECT_EQ(res.explanations[i].doc, res.hits[i].doc);
    EXPECT_EQ(res.explanations[i].final_score, res.hits[i].score);
    EXPECT_EQ(res.features[i].doc, res.hits[i].doc);
    EXPECT_EQ(res.features[i].values[9], double(i + 1));  // final_rank: the place in the interleaved list
  }
  ASSERT_EQ(res.models_used.size(), 2u);
  EXPECT_EQ(res.models_used[0].stage, "rerank_a");
  EXPECT_EQ(res.models_used[1].stage, "rerank_b");
}

TEST_F(InterleaveTest, BadInterleaveConfigsAreRefused) {
  auto has = [](const std::string& message, const std::string& part) {
    return message.find(part) != std::string::npos ? ::testing::AssertionSuccess()
                                                   : ::testing::AssertionFailure() << "message: " << message;
  };
  EXPECT_TRUE(has(error_of([&] { make_interleaved(kRerankA, kRerankA); }),
                  "interleave.b[0]: two stages are named \"rerank_a\""));
  EXPECT_TRUE(has(error_of([&] {
                    Pipeline::create(R"({"stages": [], "interleave": {"a": [], "b": []}})", searcher_, analyzer_);
                  }),
                  "option \"interleave\": replaces \"stages\""));
  EXPECT_TRUE(has(error_of([&] { Pipeline::create(R"({"interleave": {"a": []}})", searcher_, analyzer_); }),
                  "option \"b\": is required"));
  EXPECT_TRUE(has(error_of([&] { Pipeline::create(R"({"interleave": {"a": [], "b": [], "c": []}})", searcher_, analyzer_); }),
                  "unknown option \"c\""));
}

}  // namespace
}  // namespace xmr
