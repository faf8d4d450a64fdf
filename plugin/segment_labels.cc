#include "plugin/segment_labels.h"

#include <lucene++/LuceneHeaders.h>
#include <lucene++/ReaderUtil.h>

#include <algorithm>

#include "analyzers/text_dataset.h"
#include "analyzers/utf8.h"
#include "core/error.h"

namespace xmr {

namespace {

// Calls f(term text, label id or -1, term) for each term of `field`.
template <class F>
void for_each_field_term(const Lucene::IndexReaderPtr& reader, const std::wstring& field, const LabelVocabulary& labels,
                         F&& f) {
  Lucene::TermEnumPtr terms = reader->terms(Lucene::newLucene<Lucene::Term>(field, L""));
  do {
    Lucene::TermPtr t = terms->term();
    if (!t || t->field() != field) break;
    f(labels.id(wide_to_utf8(t->text())), t);
  } while (terms->next());
  terms->close();
}

}  // namespace

SegmentLabels uninvert_labels(const Lucene::IndexReaderPtr& reader, const std::wstring& field,
                              const LabelVocabulary& labels) {
  const int32_t max_doc = reader->maxDoc();
  std::vector<std::pair<int32_t, Index>> pairs;  // (doc, label)
  Lucene::TermDocsPtr docs = reader->termDocs();
  for_each_field_term(reader, field, labels, [&](long long id, const Lucene::TermPtr& t) {
    if (id < 0) return;
    docs->seek(t);
    while (docs->next()) pairs.emplace_back(docs->doc(), (Index)id);
  });
  docs->close();
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  SegmentLabels out;
  out.doc_ptr.assign((size_t)max_doc + 1, 0);
  out.label_ids.reserve(pairs.size());
  for (const auto& [doc, id] : pairs) {
    ++out.doc_ptr[doc + 1];
    out.label_ids.push_back(id);
  }
  for (int32_t d = 0; d < max_doc; ++d) out.doc_ptr[d + 1] += out.doc_ptr[d];
  return out;
}

LabelTermOverlap count_label_terms(const Lucene::IndexReaderPtr& reader, const std::wstring& field,
                                   const LabelVocabulary& labels) {
  LabelTermOverlap o;
  for_each_field_term(reader, field, labels, [&](long long id, const Lucene::TermPtr&) {
    ++o.terms;
    if (id >= 0) ++o.labels;
  });
  return o;
}

size_t SegmentMap::segment_of(int32_t doc) const {
  auto it = std::upper_bound(doc_starts.begin(), doc_starts.end(), doc);
  return (size_t)(it - doc_starts.begin()) - 1;
}

SegmentMap map_segments(const Lucene::IndexReaderPtr& reader) {
  Lucene::Collection<Lucene::IndexReaderPtr> subs = Lucene::Collection<Lucene::IndexReaderPtr>::newInstance();
  Lucene::ReaderUtil::gatherSubReaders(subs, reader);
  SegmentMap m;
  int32_t start = 0;
  for (const auto& r : subs) {
    m.segments.push_back(r);
    m.doc_starts.push_back(start);
    start += r->maxDoc();
  }
  if (m.segments.empty()) {  // an empty index: keep one (empty) reader so lookups stay simple
    m.segments.push_back(reader);
    m.doc_starts.push_back(0);
  }
  return m;
}

void require_indexed_field(const Lucene::IndexReaderPtr& reader, const std::string& field, const std::string& context) {
  Lucene::HashSet<Lucene::String> fields = reader->getFieldNames(Lucene::IndexReader::FIELD_OPTION_INDEXED);
  if (fields.contains(utf8_to_wide(field))) return;
  std::string known;
  for (const auto& f : fields) known += (known.empty() ? "" : ", ") + wide_to_utf8(f);
  throw Error(context + ": field \"" + field + "\" is not an indexed field of the index (indexed fields: " +
              (known.empty() ? "none" : known) + ")");
}

}  // namespace xmr
