#include "analyzers/term_dictionary.h"

#include <xxhash.h>

namespace xmr {

void TermDictionary::add(std::string_view term) {
  bytes_.append(term.data(), term.size());
  offsets_.push_back(bytes_.size());
}

void TermDictionary::index() {
  size_t capacity = 16;
  while (capacity < 2 * size()) capacity *= 2;  // load factor <= 1/2
  slots_.assign(capacity, 0);
  const size_t mask = capacity - 1;
  for (size_t id = 0; id < size(); ++id) {
    const std::string_view t = term(id);
    size_t s = size_t(XXH3_64bits(t.data(), t.size())) & mask;
    while (slots_[s] != 0) s = (s + 1) & mask;
    slots_[s] = uint32_t(id + 1);
  }
  bytes_.shrink_to_fit();
  offsets_.shrink_to_fit();
}

int64_t TermDictionary::find(std::string_view t) const {
  if (slots_.empty()) return -1;
  const size_t mask = slots_.size() - 1;
  for (size_t s = size_t(XXH3_64bits(t.data(), t.size())) & mask;; s = (s + 1) & mask) {
    const uint32_t v = slots_[s];
    if (v == 0) return -1;
    if (term(v - 1) == t) return int64_t(v - 1);
  }
}

}  // namespace xmr
