#include "plugin/team_draft.h"

#include <xxhash.h>

#include <unordered_set>

namespace xmr {

namespace {

// SplitMix64: a cheap, well-mixed bit per round from the seed.
uint64_t split_mix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<DraftedHit> team_draft(const std::vector<Hit>& a, const std::vector<Hit>& b, size_t k, uint64_t seed) {
  const std::vector<Hit>* lists[2] = {&a, &b};
  size_t next[2] = {0, 0};   // the next unread place in each list
  size_t picks[2] = {0, 0};  // documents each team has put in
  std::unordered_set<int32_t> placed;
  std::vector<DraftedHit> out;
  uint64_t state = seed;
  auto has_more = [&](int side) {
    while (next[side] < lists[side]->size() && placed.count((*lists[side])[next[side]].doc)) ++next[side];
    return next[side] < lists[side]->size();
  };
  while (out.size() < k) {
    const bool more_a = has_more(0), more_b = has_more(1);
    if (!more_a && !more_b) break;
    int side;
    if (!more_a || !more_b) {
      side = more_a ? 0 : 1;
    } else if (picks[0] != picks[1]) {
      side = picks[0] < picks[1] ? 0 : 1;
    } else {
      side = int(split_mix(state) & 1);
    }
    const size_t i = next[side]++;
    placed.insert((*lists[side])[i].doc);
    ++picks[side];
    out.push_back({side, i});
  }
  return out;
}

uint64_t interleave_seed(const std::string& query_id) { return XXH3_64bits(query_id.data(), query_id.size()); }

}  // namespace xmr
