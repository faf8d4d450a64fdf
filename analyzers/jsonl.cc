#include "analyzers/jsonl.h"

#include "analyzers/utf8.h"
#include "core/error.h"
#include "core/json_parse.h"

namespace xmr {

void for_each_jsonl_object(std::istream& in, const std::string& name,
                           const std::function<void(size_t, const rapidjson::Value&)>& visit) {
  std::string line;
  size_t line_no = 0, first_blank = 0;
  rapidjson::Document doc;
  std::string error;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      if (!first_blank) first_blank = line_no;
      continue;
    }
    if (first_blank) throw InputError(name, first_blank, "blank line before the end of the file");
    size_t bad = 0;
    if (!is_valid_utf8(line, &bad)) throw InputError(name, line_no, "invalid UTF-8 at byte " + std::to_string(bad + 1) + " of the line");
    if (!parse_json(line, doc, error)) throw InputError(name, line_no, "invalid JSON: " + error);
    if (!doc.IsObject()) throw InputError(name, line_no, "expected a JSON object");
    visit(line_no, doc);
  }
  if (in.bad()) throw Error(name + ": read failed");
}

}  // namespace xmr
