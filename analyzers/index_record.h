// What `xmr index` records about an index in its commit user data, so that
// whoever searches it later analyzes queries as the documents were analyzed:
// the text analyzer, and which fields hold exact values (labels, keys) rather
// than analyzed text.
#pragma once

#include <lucene++/Lucene.h>  // forward declarations and Ptr typedefs only

#include <map>
#include <string>
#include <vector>

namespace xmr {

struct IndexRecord {
  bool present = false;   // false: not written by xmr index (or by an older one)
  std::string analyzer;   // the text fields' analyzer name (analyzers/analyzer_registry.h)
  std::vector<std::string> text_fields;
  std::vector<std::string> label_fields;  // indexed as exact, unanalyzed values
  std::string key_field;                  // exact too; may be empty
};

// The commit user data to pass to IndexWriter::commit() for `record`.
std::map<std::string, std::string> index_record_user_data(const IndexRecord& record);

// The record of the index `reader` reads; present == false when it has none.
// Throws xmr::Error when the record is there but malformed.
IndexRecord read_index_record(const Lucene::IndexReaderPtr& reader);

// The fields of `record` that hold exact values (labels and key).
std::vector<std::string> exact_value_fields(const IndexRecord& record);

}  // namespace xmr
