// Reader and writer for the Extreme Classification Repository text format:
//
//   N D L                      (instances, features, labels)
//   l1,l2,... f:v f:v ...      (one line per instance, 0-based ids)
//
// A line may have no labels; it then starts with a space or a feature. Blank
// lines at the end of the file are ignored; blank lines inside it are an error
// (they would shift every following instance).
#pragma once

#include <string>

#include "core/sparse.h"

namespace xmr {

struct XcDataset {
  CsrMatrix features;  // N x D
  CsrMatrix labels;    // N x L, values 1
};

// Reads `path`. Throws xmr::Error "path:line: problem" for a missing file, a
// malformed header or line, an id out of range, a repeated feature, or a line
// count that differs from N. Repeated labels on a line are merged.
XcDataset read_xc_file(const std::string& path);

// Parses XC text already in memory; `name` is used in error messages.
XcDataset parse_xc_text(const std::string& text, const std::string& name);

// Writes `data` in XC format atomically (temp file, then rename).
void write_xc_file(const std::string& path, const XcDataset& data);

}  // namespace xmr
