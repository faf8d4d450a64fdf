// Word helpers the catalog generators share (ASCII word lists; titles and
// queries are built from them).
#pragma once

#include <cctype>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace xmr {

// The whitespace-separated words of `s`.
inline std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

inline std::string lower(std::string s) {
  for (char& c : s) c = (char)std::tolower((unsigned char)c);
  return s;
}

// `w` with one typo a shopper makes (a dropped, swapped or wrong letter, never
// the first or last), drawn from `rng`; words under 5 letters stay as they are.
template <class Rng>
std::string misspell(const std::string& w, Rng& rng) {
  if (w.size() < 5) return w;
  std::string t = w;
  const size_t i = 1 + rng() % (w.size() - 2);
  switch (rng() % 3) {
    case 0: t.erase(i, 1); break;                    // dropped letter
    case 1: std::swap(t[i], t[i + 1]); break;        // swapped letters
    default: t[i] = char('a' + rng() % 26); break;   // wrong letter
  }
  return t;
}

}  // namespace xmr
