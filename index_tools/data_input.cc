#include "index_tools/data_input.h"

#include "core/error.h"
#include "core/xc_format.h"

namespace xmr::cli {

LabelledData load_labelled(const std::string& path, const std::string& format, bool normalize) {
  if (format != "xc") throw Error("unknown --format '" + format + "' (known: xc)");
  XcDataset d = read_xc_file(path);
  if (normalize) d.features.normalize_rows_l2();
  return {std::move(d.features), std::move(d.labels)};
}

}  // namespace xmr::cli
