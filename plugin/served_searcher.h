// The searcher a pipeline serves, holding a reference on its reader.
// Internal to the pipeline.
#pragma once

#include <lucene++/LuceneHeaders.h>

#include "analyzers/utf8.h"
#include "core/error.h"

namespace xmr {

// A searcher the pipeline serves, holding a reference on its reader so the
// host may close the reader while queries still use it.
class ServedSearcher {
 public:
  explicit ServedSearcher(Lucene::IndexSearcherPtr searcher) : searcher_(std::move(searcher)) {
    try {
      searcher_->getIndexReader()->incRef();
    } catch (const Lucene::LuceneException& e) {
      throw Error("the searcher's index reader cannot be used: " + wide_to_utf8(e.getError()));
    }
  }
  ~ServedSearcher() {
    try {
      searcher_->getIndexReader()->decRef();  // may close the reader (the host closed it already)
    } catch (...) {  // a failed close cannot be reported from here, and must not end the process
    }
  }
  ServedSearcher(const ServedSearcher&) = delete;
  ServedSearcher& operator=(const ServedSearcher&) = delete;
  const Lucene::IndexSearcherPtr& searcher() const { return searcher_; }

 private:
  Lucene::IndexSearcherPtr searcher_;
};

}  // namespace xmr
