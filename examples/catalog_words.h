// Word helpers the catalog generators share (ASCII word lists; titles and
// queries are built from them).
#pragma once

#include <cctype>
#include <sstream>
#include <string>
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

}  // namespace xmr
