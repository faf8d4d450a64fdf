// A small real setup shared by the pipeline fuzz targets: a generated product
// catalog indexed into Lucene++ on disk, a text model trained on it, and the
// xmr plugin. Built once per fuzzing process in a fresh temporary directory.
#pragma once

#include <lucene++/Lucene.h>

#include <string>

#include "core/error.h"

namespace xmr::fuzz {

struct Fixture {
  std::string dir;          // holds products.jsonl, index/, products.xmr
  std::string plugin_path;  // the libxmr_plugin.so built beside the targets
  Lucene::IndexSearcherPtr searcher;
  Lucene::AnalyzerPtr analyzer;
};

const Fixture& fixture();

// Runs f, catching what a parser may legitimately throw on bad input
// (xmr::Error); anything else escapes and libFuzzer reports it as a crash.
template <typename F>
void expect_only_xmr_errors(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

}  // namespace xmr::fuzz
