// Query logs for "documents are labels" models: which documents shoppers
// clicked or bought for a query, as JSONL lines
//   {"query": "running sneakers", "keys": ["P100559", "P100560"]}
// (the keys are the index's key field). Together with each document's own
// text as a pseudo-query, they train a model that retrieves documents.
#pragma once

#include <string>
#include <unordered_set>

#include "analyzers/text_dataset.h"

namespace xmr {

struct QueryLogStats {
  size_t queries = 0;               // lines read
  size_t added = 0;                 // queries added (they name at least one known key)
  size_t unknown_keys = 0;          // keys naming no document, skipped
  size_t without_known_key = 0;     // queries skipped because none of their keys is known
};

// Appends each query of the log at `path` to `data` with those of its keys
// that are in `known_keys`. Unknown keys are skipped and counted, not fatal:
// a log outlives the documents it names. An empty log adds nothing. Throws
// xmr::Error "path:line: problem" on malformed lines (as read_jsonl_dataset).
QueryLogStats append_query_log(const std::string& path, const std::unordered_set<std::string>& known_keys,
                               TextDataset& data);

}  // namespace xmr
