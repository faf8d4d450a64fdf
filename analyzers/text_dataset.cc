#include "analyzers/text_dataset.h"


#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "analyzers/jsonl.h"
#include "core/error.h"
#include "core/file_util.h"

namespace xmr {

namespace {

TextDataset read_jsonl(std::istream& in, const std::string& name, const JsonlFields& fields,
                       const ProgressFn& progress = {}, size_t total_bytes = 0) {
  TextDataset d;
  const char* text_key = fields.text.c_str();
  const char* labels_key = fields.labels.c_str();
  const std::string labels_shape = "\"" + fields.labels + "\" must be a string or an array of strings";
  for_each_jsonl_object(in, name, [&](size_t line_no, const rapidjson::Value& obj) {
    const auto text = obj.FindMember(text_key);
    if (text == obj.MemberEnd() || !text->value.IsString()) {
      throw InputError(name, line_no, "missing string field \"" + fields.text + "\"");
    }
    d.texts.emplace_back(text->value.GetString(), text->value.GetStringLength());
    std::vector<std::string> labels;
    const auto found = obj.FindMember(labels_key);
    if (found != obj.MemberEnd()) {
      const rapidjson::Value& v = found->value;
      if (v.IsString()) {
        labels.emplace_back(v.GetString(), v.GetStringLength());
      } else if (v.IsArray()) {
        for (const auto& l : v.GetArray()) {
          if (!l.IsString()) throw InputError(name, line_no, labels_shape);
          labels.emplace_back(l.GetString(), l.GetStringLength());
        }
      } else {
        throw InputError(name, line_no, labels_shape);
      }
      std::sort(labels.begin(), labels.end());
      labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    }
    d.labels.push_back(std::move(labels));
    if (progress && line_no % 8192 == 0) progress("reading", size_t(std::max<std::streamoff>(0, in.tellg())), total_bytes);
  });
  if (progress) progress("reading", total_bytes, total_bytes);
  return d;
}

}  // namespace

TextDataset parse_jsonl_dataset(const std::string& text, const std::string& name, const JsonlFields& fields) {
  std::istringstream in(text);
  return read_jsonl(in, name, fields);
}

TextDataset read_jsonl_dataset(const std::string& path, const JsonlFields& fields, const ProgressFn& progress) {
  check_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  size_t total = 0;
  if (progress) {
    in.seekg(0, std::ios::end);
    total = size_t(std::max<std::streamoff>(0, in.tellg()));
    in.seekg(0, std::ios::beg);
  }
  return read_jsonl(in, path, fields, progress, total);
}

LabelVocabulary::LabelVocabulary(std::vector<std::string> sorted_names) : names_(std::move(sorted_names)) {}

LabelVocabulary LabelVocabulary::from_dataset(const TextDataset& data) {
  std::vector<std::string> names;
  for (const auto& ls : data.labels) names.insert(names.end(), ls.begin(), ls.end());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return LabelVocabulary(std::move(names));
}

long long LabelVocabulary::id(const std::string& name) const {
  auto it = std::lower_bound(names_.begin(), names_.end(), name);
  return (it != names_.end() && *it == name) ? (long long)(it - names_.begin()) : -1;
}

CsrMatrix LabelVocabulary::label_matrix(const TextDataset& data, bool keep_unknown) const {
  std::map<std::string, Index> unknown;
  for (const auto& ls : data.labels) {
    for (const auto& l : ls) {
      if (id(l) < 0 && keep_unknown) unknown.emplace(l, 0);
    }
  }
  Index next = Index(names_.size());
  for (auto& [name, idx] : unknown) idx = next++;
  CsrMatrix Y;
  Y.cols = next;
  for (const auto& ls : data.labels) {
    std::vector<std::pair<Index, float>> row;
    for (const auto& l : ls) {
      const long long i = id(l);
      if (i >= 0) row.emplace_back(Index(i), 1.0f);
      else if (keep_unknown) row.emplace_back(unknown.at(l), 1.0f);
    }
    Y.append_row(row);
  }
  return Y;
}

}  // namespace xmr
