// Lucene++ indexes as training data: building one from JSONL, and reading
// (text, labels) back from an existing index.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "analyzers/text_dataset.h"

namespace xmr {

struct IndexSpec {
  std::vector<std::string> text_fields{"text"};     // analyzed and stored
  std::vector<std::string> label_fields{"labels"};  // stored, not analyzed, one value per label
  std::string key_field;                            // optional: stored, not analyzed, unique per doc
  std::string analyzer = "standard";                // for the text fields
  bool overwrite = false;                           // replace an existing index directory
};

// Indexes each JSONL line as a document. Text fields must be JSON strings;
// label fields strings or arrays of strings; other members are ignored. The
// index is written to a temporary directory beside `index_dir` and renamed
// into place, so a failure leaves no partial index (and, with overwrite, the
// old index intact). Returns the number of documents. Throws xmr::Error
// "path:line: problem" on bad input, or naming the directory on I/O errors.
size_t build_lucene_index(const std::string& jsonl_path, const std::string& index_dir, const IndexSpec& spec,
                          const std::function<void(size_t)>& progress = {});

// The live documents of the index at `index_dir`, in doc id order: the stored
// `text_field` (several values joined by a space) and the values of
// `label_field`. With parts > 1, only part `part` of them: the documents
// whose ids fall in the part-th of `parts` equal id ranges (distributed
// training: the parts tile the index in order; only the part's documents are
// read). Throws xmr::Error if the directory is not an index or the fields are
// not stored in (the part's) documents.
TextDataset read_lucene_index(const std::string& index_dir, const std::string& text_field,
                              const std::string& label_field, size_t part = 0, size_t parts = 1);

}  // namespace xmr
