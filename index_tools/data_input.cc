#include "index_tools/data_input.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "analyzers/text_model.h"
#include "core/error.h"
#include "core/xc_format.h"

namespace xmr::cli {

void check_format(const std::string& format, const std::vector<std::string>& known) {
  std::string list;
  for (const auto& k : known) {
    if (k == format) return;
    list += (list.empty() ? "" : ", ") + k;
  }
  throw Error("unknown --format '" + format + "' (known: " + list + ")");
}

std::string input_format(const std::string& format, const std::string& path, const std::vector<std::string>& known) {
  if (!format.empty()) {
    check_format(format, known);
    return format;
  }
  auto pick = [&](const std::string& f) {
    check_format(f, known);  // e.g. a directory where this command reads only files
    return f;
  };
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return pick("index");
  auto ends_with = [&](const char* suffix) {
    const size_t n = std::strlen(suffix);
    return path.size() >= n && path.compare(path.size() - n, n, suffix) == 0;
  };
  if (ends_with(".jsonl") || ends_with(".ndjson") || ends_with(".json")) return pick("jsonl");
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line) && line.find_first_not_of(" \t\r") == std::string::npos) {
  }
  if (in.bad()) throw Error(path + ": read failed");
  const size_t first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos) throw Error(path + ": empty file (no line to read)");
  if (line[first] == '{') return pick("jsonl");
  size_t a = 0, b = 0, c = 0;
  char extra = 0;
  if (std::sscanf(line.c_str(), "%zu %zu %zu %c", &a, &b, &c, &extra) == 3) return pick("xc");
  throw Error(path + ": cannot tell its format (neither JSONL nor an XC header on its first line); give --format");
}

LabelledData load_xc(const std::string& path, bool normalize) {
  XcDataset d = read_xc_file(path);
  if (normalize) d.features.normalize_rows_l2();
  return {std::move(d.features), std::move(d.labels)};
}

LabelledData load_for_model(const std::string& path, const std::string& format, bool normalize, const Model& model,
                            const std::string& model_path, const JsonlFields& fields) {
  check_format(format);
  if (format == "xc") {
    if (TextModel::is_text_model(model)) {
      throw Error(model_path + ": a text model (it has its own vectorizer), but " + path +
                  " is XC feature data; give it text with --format jsonl");
    }
    LabelledData d = load_xc(path, normalize);
    if (d.X.cols > model.num_features()) {
      throw Error(path + ": declares " + std::to_string(d.X.cols) + " features, the model has " +
                  std::to_string(model.num_features()));
    }
    if (d.Y.cols > model.num_labels()) {
      throw Error(path + ": declares " + std::to_string(d.Y.cols) + " labels, the model has " +
                  std::to_string(model.num_labels()));
    }
    return d;
  }
  const TextModel tm = TextModel::from_model(model, model_path);
  const TextDataset data = read_jsonl_dataset(path, fields);
  return {tm.vectorizer().transform_batch(data.texts), tm.labels().label_matrix(data, true)};
}

}  // namespace xmr::cli
