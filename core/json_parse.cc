#include "core/json_parse.h"

#include <rapidjson/error/en.h>

namespace xmr {

std::string json_shape_problem(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\0') {
      return "a NUL byte at byte " + std::to_string(i + 1) + " (inside a JSON string write it as \\u0000)";
    }
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return "nested deeper than " + std::to_string(max_depth) + " levels at byte " + std::to_string(i + 1);
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return "";
}

bool parse_json(std::string_view text, rapidjson::Document& doc, std::string& error) {
  error = json_shape_problem(text);
  if (!error.empty()) {
    doc.SetNull();
    return false;
  }
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    error = rapidjson::GetParseError_En(doc.GetParseError());
    if (!error.empty() && error.back() == '.') error.pop_back();
    error += " at byte " + std::to_string(doc.GetErrorOffset() + 1);
    return false;
  }
  return true;
}

}  // namespace xmr
