// Helpers for the plugin tests: an on-disk Lucene++ index, a searcher over
// it, and the path of the built plugin.
#pragma once

#include <lucene++/LuceneHeaders.h>

#include <string>

#include "analyzers/lucene_analyzers.h"
#include "analyzers/utf8.h"
#include "core/error.h"

namespace xmr::testing {

inline std::string plugin_path() { return XMR_PLUGIN_PATH; }

inline Lucene::IndexSearcherPtr open_searcher(const std::string& index_dir) {
  Lucene::DirectoryPtr dir = Lucene::FSDirectory::open(utf8_to_wide(index_dir));
  return Lucene::newLucene<Lucene::IndexSearcher>(Lucene::IndexReader::open(dir, true));
}

// The values of a stored field of a top-level doc.
inline std::vector<std::string> stored_values(const Lucene::IndexSearcherPtr& s, int32_t doc, const std::string& field) {
  std::vector<std::string> out;
  for (const auto& v : s->doc(doc)->getValues(utf8_to_wide(field))) out.push_back(wide_to_utf8(v));
  return out;
}

// The message of the xmr::Error `f` throws ("" when it does not throw).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace xmr::testing
