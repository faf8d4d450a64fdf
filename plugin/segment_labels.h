// The labels of each document of one index segment, uninverted from the
// indexed terms of a field (like Lucene's FieldCache, but multi-valued and
// mapped to a model's label ids), so rescoring a hit costs no stored-field
// read.
#pragma once

#include <lucene++/Lucene.h>  // forward declarations and Ptr typedefs only

#include <cstdint>
#include <memory>
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

// The inverse of a SegmentLabels: the documents carrying each label, for
// finding a document by its key ("documents are labels").
struct LabelDocs {
  std::vector<std::pair<Index, int32_t>> entries;  // (label, doc), ascending
  // The entries of `label` (usually one; more when a key was re-added and
  // the old document deleted since the table was built), as [first, last).
  std::pair<const std::pair<Index, int32_t>*, const std::pair<Index, int32_t>*> docs_of(Index label) const;
};
LabelDocs invert_labels(const SegmentLabels& labels);

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

// The segment map of the reader new queries use, replaced on an index reopen
// (Stage::searcher_changed). Thread-safe: set() from one thread at a time,
// of() from any number.
class CurrentSegments {
 public:
  // Maps `reader` and makes it current; returns the map.
  const SegmentMap& set(const Lucene::IndexReaderPtr& reader);
  // The map of `reader`: the current one, or (for a query that began before
  // a reopen, on the old reader) one mapped now. Keep the pointer while using it.
  std::shared_ptr<const SegmentMap> of(const Lucene::IndexReaderPtr& reader) const;

 private:
  struct Mapped {
    Lucene::IndexReaderPtr reader;
    SegmentMap map;
  };
  std::shared_ptr<const Mapped> current_;  // std::atomic_load/store
};

// Throws xmr::Error (naming `context`) when `field` is not an indexed field of `reader`.
void require_indexed_field(const Lucene::IndexReaderPtr& reader, const std::string& field, const std::string& context);

}  // namespace xmr
