// Loading a labelled data set for the CLI in one of its input formats.
#pragma once

#include <string>

#include "core/sparse.h"

namespace xmr::cli {

struct LabelledData {
  CsrMatrix X;
  CsrMatrix Y;
};

// `format` is "xc"; rows of X are L2-normalised when `normalize` is set.
// Throws xmr::Error naming the file and line on bad input.
LabelledData load_labelled(const std::string& path, const std::string& format, bool normalize);

}  // namespace xmr::cli
