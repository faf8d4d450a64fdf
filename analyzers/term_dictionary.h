// A vectorizer's vocabulary, compactly: every term's bytes in one buffer,
// their offsets, and an open-addressing hash table of term ids. About 9 bytes
// a term beyond its characters, where vector<string> plus unordered_map took
// ~120 (reuters' 677,707 terms: ~14 MB instead of ~90 MB, at training and at
// query time alike).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xmr {

class TermDictionary {
 public:
  // Appends `term` as id size(). Call index() before find().
  void add(std::string_view term);
  // Builds the hash table over the terms added so far.
  void index();

  size_t size() const { return offsets_.size() - 1; }
  std::string_view term(size_t id) const {
    return std::string_view(bytes_.data() + offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  // The id of `term`, or -1. Thread-safe once indexed.
  int64_t find(std::string_view term) const;

 private:
  std::string bytes_;
  std::vector<uint64_t> offsets_{0};
  std::vector<uint32_t> slots_;  // id + 1, 0 = empty; size a power of two
};

}  // namespace xmr
