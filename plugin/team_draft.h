// Team-draft interleaving (Radlinski, Kurup and Joachims, CIKM 2008): two
// rankings merged into one list for an online A/B comparison. Each round the
// team with fewer picks (a coin flip on a tie) adds its best document not yet
// in the list; a click is credited to the team that picked the document.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plugin/stage.h"

namespace xmr {

struct DraftedHit {
  int side = 0;      // 0: from `a`, 1: from `b`
  size_t index = 0;  // the hit's place in its side's list
};

// Up to `k` hits drafted from `a` and `b` (each best first). A document in
// both lists appears once, credited to the team that picked it first. When
// one list runs out, the other fills the rest. The coin flips come from
// `seed`, so the same seed always gives the same list.
std::vector<DraftedHit> team_draft(const std::vector<Hit>& a, const std::vector<Hit>& b, size_t k, uint64_t seed);

// The coin-flip seed of a query: a hash of its id (or, without one, its text).
uint64_t interleave_seed(const std::string& query_id);

}  // namespace xmr
