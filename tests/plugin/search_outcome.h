// What two searches must share to count as the same answer: the hits and the
// categories, with their scores. Used by the model-swap tests to tell which
// model version answered a query.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "plugin/pipeline.h"

namespace xmr::testing {

struct SearchOutcome {
  std::vector<std::pair<int32_t, double>> hits;
  std::vector<std::pair<std::string, float>> categories;
  bool operator==(const SearchOutcome& o) const { return hits == o.hits && categories == o.categories; }
};

inline SearchOutcome outcome_of(const SearchResult& r) {
  SearchOutcome o;
  for (const Hit& h : r.hits) o.hits.emplace_back(h.doc, h.score);
  for (const auto& c : r.categories) o.categories.emplace_back(c.label, c.score);
  return o;
}

}  // namespace xmr::testing
