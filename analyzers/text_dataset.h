// Labelled text: the JSONL format ({"text": "...", "labels": ["a", "b"]} per
// line) and the mapping from label names to the model's label ids.
#pragma once

#include <string>
#include <vector>

#include "core/progress_fn.h"
#include "core/sparse.h"

namespace xmr {

struct TextDataset {
  std::vector<std::string> texts;
  std::vector<std::vector<std::string>> labels;  // may be empty per row
  size_t size() const { return texts.size(); }
};

// The members of a JSONL line that hold the text and the labels.
struct JsonlFields {
  std::string text = "text";
  std::string labels = "labels";
};

// Reads JSONL. Each line must be a JSON object with a string `fields.text`
// and, optionally, `fields.labels`: a string or an array of strings (repeats
// merged). Other members are ignored. Blank lines are allowed only at the end.
// Throws xmr::Error "path:line: problem" on invalid JSON, invalid UTF-8, or a
// missing or mistyped field.
// `progress`, if set, gets ("reading", bytes read, file size) now and then.
TextDataset read_jsonl_dataset(const std::string& path, const JsonlFields& fields = {}, const ProgressFn& progress = {});
TextDataset parse_jsonl_dataset(const std::string& text, const std::string& name, const JsonlFields& fields = {});

// Label names -> ids: the sorted distinct names of a training set.
class LabelVocabulary {
 public:
  static LabelVocabulary from_dataset(const TextDataset& data);
  explicit LabelVocabulary(std::vector<std::string> sorted_names = {});

  size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }
  long long id(const std::string& name) const;  // -1 when unknown

  // The N x L label matrix of `data`. Names outside the vocabulary get extra
  // columns L, L+1, ... when `keep_unknown` (so recall counts them as missed),
  // else they are dropped.
  CsrMatrix label_matrix(const TextDataset& data, bool keep_unknown) const;

 private:
  std::vector<std::string> names_;
};

}  // namespace xmr
