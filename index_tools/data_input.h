// Loading data for the CLI in its input formats: "xc" (bag of words) or
// "jsonl" ({"text", "labels"} lines, vectorized by a text model's analyzer).
#pragma once

#include <string>
#include <vector>

#include "analyzers/text_dataset.h"
#include "core/model.h"
#include "core/sparse.h"

namespace xmr::cli {

struct LabelledData {
  CsrMatrix X;
  CsrMatrix Y;  // for jsonl with a model: labels unknown to the model get extra columns
};

// Throws xmr::Error unless `format` is one of `known`, listing them.
void check_format(const std::string& format, const std::vector<std::string>& known = {"xc", "jsonl"});

// `format` when given; else the format of `path` as it looks: a directory is
// "index", a .jsonl/.ndjson/.json file or one whose first line starts with '{'
// is "jsonl", one whose first line is an XC header ("rows features labels")
// is "xc". The result must be one of `known`. Throws xmr::Error naming `path`
// when it cannot tell.
std::string input_format(const std::string& format, const std::string& path,
                         const std::vector<std::string>& known = {"xc", "jsonl"});

// XC input; rows of X are L2-normalised when `normalize` is set.
LabelledData load_xc(const std::string& path, bool normalize);

// Features and labels of `path` as `model` sees them: xc files are read as
// they are (feature ids must be < the model's), jsonl texts go through the
// model's own vectorizer. Throws xmr::Error naming the file and line, or
// `model_path` when the model cannot read the format.
LabelledData load_for_model(const std::string& path, const std::string& format, bool normalize, const Model& model,
                            const std::string& model_path, const JsonlFields& fields = {});

}  // namespace xmr::cli
