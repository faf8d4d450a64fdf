// One JSON parser for every reader in xmr (configs, JSONL lines, model
// metadata, the vectorizer config).
//
// RapidJSON's DOM parser recurses once per nesting level, so a line of
// 100,000 '[' overflows the stack; and it stops at a NUL byte, reporting a
// misleading "missing a closing quotation mark". parse_json() refuses both in
// a linear, non-recursive scan before RapidJSON sees the text, so everything
// that later walks the document (copying, writing) is bounded too.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace xmr {

// Deeper than any xmr config or data line needs (they use at most 4 levels).
constexpr size_t kMaxJsonDepth = 128;

// Parses `text` into `doc`. On failure returns false and sets `error` to the
// problem and its place, e.g. "nested deeper than 128 levels at byte 129" or
// "Missing a comma ... at byte 17" (bytes counted from 1). Thread-safe.
bool parse_json(std::string_view text, rapidjson::Document& doc, std::string& error);

// The first place where `text` nests deeper than `max_depth` or holds a NUL
// byte, as "<problem> at byte N"; empty when neither. Strings are skipped, so
// brackets inside them do not count.
std::string json_shape_problem(std::string_view text, size_t max_depth = kMaxJsonDepth);

}  // namespace xmr
