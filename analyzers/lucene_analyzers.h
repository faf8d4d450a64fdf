// Lucene++ analyzer objects by registry name, for code that talks to Lucene++
// directly (index writing, query parsing). Includes Lucene++ headers: keep it
// out of widely included headers.
#pragma once

#include <lucene++/LuceneHeaders.h>

#include <string>

namespace xmr {

// A new analyzer instance (not shared between threads by xmr). Throws
// xmr::Error on an unknown name.
Lucene::AnalyzerPtr make_lucene_analyzer(const std::string& name);

}  // namespace xmr
