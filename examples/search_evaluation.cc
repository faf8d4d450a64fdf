#include "examples/search_evaluation.h"

#include <lucene++/LuceneHeaders.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "analyzers/utf8.h"
#include "examples/catalog.h"
#include "plugin/pipeline.h"
#include "core/metrics.h"

namespace xmr {

namespace {

std::vector<std::string> categories_of(const Lucene::IndexSearcherPtr& s, int32_t doc, const std::wstring& field) {
  std::vector<std::string> out;
  for (const auto& v : s->doc(doc)->getValues(field)) out.push_back(wide_to_utf8(v));
  return out;
}

}  // namespace

SearchEvaluation evaluate_search(const Lucene::IndexSearcherPtr& searcher, const Pipeline& baseline,
                                 const Pipeline& pipeline, const TextDataset& queries,
                                 const std::string& category_field) {
  const std::wstring field = utf8_to_wide(category_field);
  SearchEvaluation e;
  e.queries = queries.size();

  // The majority class: the category on most documents.
  int32_t best_df = -1;
  Lucene::TermEnumPtr terms = searcher->getIndexReader()->terms(Lucene::newLucene<Lucene::Term>(field, L""));
  do {
    Lucene::TermPtr t = terms->term();
    if (!t || t->field() != field) break;
    if (terms->docFreq() > best_df) {
      best_df = terms->docFreq();
      e.majority_label = wide_to_utf8(t->text());
    }
  } while (terms->next());
  terms->close();

  std::vector<double> plain_us, pipeline_us;
  SearchRequest r;
  r.num_hits = 10;
  for (size_t i = 0; i < queries.size(); ++i) {
    r.text = queries.texts[i];
    const auto& truth = queries.labels[i];
    const std::string& want = deepest_category(truth);
    auto is_true = [&](const std::string& label) { return std::find(truth.begin(), truth.end(), label) != truth.end(); };
    e.majority_p1 += is_true(e.majority_label);

    auto t0 = std::chrono::steady_clock::now();
    const SearchResult a = baseline.search(r);
    plain_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    t0 = std::chrono::steady_clock::now();
    const SearchResult b = pipeline.search(r);
    pipeline_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());

    if (!b.categories.empty()) e.categorize_p1 += is_true(b.categories[0].label);
    for (size_t k = 0; k < 3 && k < b.categories.size(); ++k) e.categorize_p3 += is_true(b.categories[k].label) / 3.0;

    const int32_t relevant_total = searcher->docFreq(Lucene::newLucene<Lucene::Term>(field, utf8_to_wide(want)));
    double ideal = 0;
    for (int32_t k = 0; k < std::min<int32_t>(10, relevant_total); ++k) ideal += 1.0 / std::log2(k + 2.0);
    for (const auto* res : {&a, &b}) {
      double dcg = 0, hits = 0;
      for (size_t k = 0; k < res->hits.size(); ++k) {
        const auto cats = categories_of(searcher, res->hits[k].doc, field);
        if (std::find(cats.begin(), cats.end(), want) != cats.end()) {
          dcg += 1.0 / std::log2(k + 2.0);
          hits += 1;
        }
      }
      const double ndcg = ideal > 0 ? dcg / ideal : 0;
      (res == &a ? e.plain_ndcg10 : e.pipeline_ndcg10) += ndcg;
      (res == &a ? e.plain_p10 : e.pipeline_p10) += hits / 10.0;
    }
  }
  const double n = std::max<size_t>(1, queries.size());
  for (double* x : {&e.categorize_p1, &e.categorize_p3, &e.majority_p1, &e.plain_ndcg10, &e.plain_p10,
                    &e.pipeline_ndcg10, &e.pipeline_p10}) {
    *x /= n;
  }
  e.plain_p50_us = percentile(plain_us, 0.50);
  e.plain_p99_us = percentile(plain_us, 0.99);
  e.pipeline_p50_us = percentile(pipeline_us, 0.50);
  e.pipeline_p99_us = percentile(pipeline_us, 0.99);
  return e;
}

}  // namespace xmr
