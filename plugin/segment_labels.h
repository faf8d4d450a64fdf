// The labels of each document of one index segment, uninverted from the
// indexed terms of a field (like Lucene's FieldCache, but multi-valued and
// mapped to a model's label ids), so rescoring a hit costs no stored-field
// read.
#pragma once

#include <lucene++/Lucene.h>  // forward declarations and Ptr typedefs only

#include <cstdint>
#include <string>
#include <vector>

#include "core/sparse.h"

namespace xmr {

class LabelVocabulary;

struct SegmentLabels {
  std::vector<uint32_t> doc_ptr;  // maxDoc + 1 offsets into label_ids
  std::vector<Index> label_ids;   // per doc, ascending

  const Index* begin(int32_t doc) const { return label_ids.data() + doc_ptr[doc]; }
  const Index* end(int32_t doc) const { return label_ids.data() + doc_ptr[doc + 1]; }
  size_t num_docs() const { return doc_ptr.empty() ? 0 : doc_ptr.size() - 1; }
};

// Reads `field`'s terms of `reader` (deleted docs excluded) and keeps those
// that are labels in `labels`.
SegmentLabels uninvert_labels(const Lucene::IndexReaderPtr& reader, const std::wstring& field,
                              const LabelVocabulary& labels);

// How many of `field`'s distinct terms in `reader` are labels in `labels`,
// and how many terms the field has.
struct LabelTermOverlap {
  size_t terms = 0;
  size_t labels = 0;
};
LabelTermOverlap count_label_terms(const Lucene::IndexReaderPtr& reader, const std::wstring& field,
                                   const LabelVocabulary& labels);

// The leaf readers of `reader` and the doc id each starts at.
struct SegmentMap {
  std::vector<Lucene::IndexReaderPtr> segments;
  std::vector<int32_t> doc_starts;
  // The segment of top-level doc id `doc`.
  size_t segment_of(int32_t doc) const;
};
SegmentMap map_segments(const Lucene::IndexReaderPtr& reader);

// Throws xmr::Error (naming `context`) when `field` is not an indexed field of `reader`.
void require_indexed_field(const Lucene::IndexReaderPtr& reader, const std::string& field, const std::string& context);

}  // namespace xmr
