#include "plugin/segment_labels.h"

#include <lucene++/LuceneHeaders.h>
#include <lucene++/ReaderUtil.h>

#include <algorithm>
#include <atomic>
#include <climits>

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

LabelDocs invert_labels(const SegmentLabels& labels) {
  LabelDocs out;
  out.entries.reserve(labels.label_ids.size());
  for (size_t d = 0; d < labels.num_docs(); ++d) {
    for (const Index* l = labels.begin(int32_t(d)); l != labels.end(int32_t(d)); ++l) out.entries.emplace_back(*l, int32_t(d));
  }
  std::sort(out.entries.begin(), out.entries.end());
  return out;
}

std::pair<const std::pair<Index, int32_t>*, const std::pair<Index, int32_t>*> LabelDocs::docs_of(Index label) const {
  const auto first = std::lower_bound(entries.begin(), entries.end(), std::make_pair(label, INT32_MIN));
  auto last = first;
  while (last != entries.end() && last->first == label) ++last;
  return {entries.data() + (first - entries.begin()), entries.data() + (last - entries.begin())};
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

const SegmentMap& CurrentSegments::set(const Lucene::IndexReaderPtr& reader) {
  auto next = std::make_shared<const Mapped>(Mapped{reader, map_segments(reader)});
  std::atomic_store(&current_, next);
  return next->map;  // `next` stays alive in current_ until the next set()
}

std::shared_ptr<const SegmentMap> CurrentSegments::of(const Lucene::IndexReaderPtr& reader) const {
  std::shared_ptr<const Mapped> current = std::atomic_load(&current_);
  if (!current || current->reader != reader) current = std::make_shared<const Mapped>(Mapped{reader, map_segments(reader)});
  return std::shared_ptr<const SegmentMap>(current, &current->map);  // aliasing: keeps the entry alive
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
