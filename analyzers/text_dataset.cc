#include "analyzers/text_dataset.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "analyzers/utf8.h"
#include "core/error.h"
#include "core/file_util.h"

namespace xmr {

TextDataset parse_jsonl_dataset(const std::string& text, const std::string& name) {
  TextDataset d;
  size_t line_no = 0, pos = 0, first_blank = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      if (!first_blank) first_blank = line_no;
      continue;
    }
    if (first_blank) throw InputError(name, first_blank, "blank line before the end of the file");
    size_t bad = 0;
    if (!is_valid_utf8(line, &bad)) throw InputError(name, line_no, "invalid UTF-8 at byte " + std::to_string(bad + 1) + " of the line");
    rapidjson::Document doc;
    doc.Parse(line.c_str(), line.size());
    if (doc.HasParseError()) {
      throw InputError(name, line_no, std::string("invalid JSON at column ") + std::to_string(doc.GetErrorOffset() + 1) +
                                          ": " + rapidjson::GetParseError_En(doc.GetParseError()));
    }
    if (!doc.IsObject()) throw InputError(name, line_no, "expected a JSON object");
    if (!doc.HasMember("text") || !doc["text"].IsString()) throw InputError(name, line_no, "missing string field \"text\"");
    d.texts.emplace_back(doc["text"].GetString(), doc["text"].GetStringLength());
    std::vector<std::string> labels;
    if (doc.HasMember("labels")) {
      if (!doc["labels"].IsArray()) throw InputError(name, line_no, "\"labels\" must be an array of strings");
      for (const auto& l : doc["labels"].GetArray()) {
        if (!l.IsString()) throw InputError(name, line_no, "\"labels\" must be an array of strings");
        labels.emplace_back(l.GetString(), l.GetStringLength());
      }
      std::sort(labels.begin(), labels.end());
      labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    }
    d.labels.push_back(std::move(labels));
  }
  return d;
}

TextDataset read_jsonl_dataset(const std::string& path) { return parse_jsonl_dataset(read_file_bytes(path), path); }

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
