// Line-by-line reading of JSONL, with the rules every xmr JSONL input shares:
// each line is one JSON object in valid UTF-8; blank lines are allowed only at
// the end. Includes RapidJSON: keep it out of widely included headers.
#pragma once

#include <rapidjson/document.h>

#include <functional>
#include <istream>
#include <string>

namespace xmr {

// Calls visit(line_number, object) for each object of `in`. Throws
// xmr::Error "name:line: problem" for invalid UTF-8, invalid JSON, a value
// that is not an object, or a blank line before the end; errors thrown by
// `visit` propagate unchanged.
void for_each_jsonl_object(std::istream& in, const std::string& name,
                           const std::function<void(size_t, const rapidjson::Value&)>& visit);

}  // namespace xmr
