#include "core/xc_format.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "core/file_util.h"

namespace xmr {

namespace {

// Cursor over one line of text.
struct LineParser {
  const char* p;
  const char* end;
  const std::string& name;
  size_t line;

  Error error(const std::string& what) const { return InputError(name, line, what); }

  void skip_spaces() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) ++p;
  }
  bool at_end() {
    skip_spaces();
    return p >= end;
  }
  uint64_t parse_uint(const char* what) {
    uint64_t v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || next == p) {
      throw error(std::string("expected ") + what + " at column " + std::to_string(column()));
    }
    p = next;
    return v;
  }
  float parse_float() {
    float v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || next == p || !std::isfinite(v)) {
      throw error("expected a finite feature value at column " + std::to_string(column()));
    }
    p = next;
    return v;
  }
  size_t column() const { return size_t(p - line_start) + 1; }
  const char* line_start;
};

}  // namespace

XcDataset parse_xc_text(const std::string& text, const std::string& name) {
  XcDataset data;
  const char* cur = text.data();
  const char* const text_end = text.data() + text.size();
  size_t line_no = 0;

  auto next_line = [&](const char*& b, const char*& e) {
    if (cur >= text_end) return false;
    b = cur;
    e = static_cast<const char*>(memchr(cur, '\n', size_t(text_end - cur)));
    if (!e) e = text_end;
    cur = (e < text_end) ? e + 1 : text_end;
    ++line_no;
    return true;
  };

  const char *b, *e;
  if (!next_line(b, e)) throw InputError(name, 1, "empty file: expected header 'N D L'");
  LineParser header{b, e, name, line_no, b};
  header.skip_spaces();
  const uint64_t n = header.parse_uint("instance count N in header 'N D L'");
  header.skip_spaces();
  const uint64_t d = header.parse_uint("feature count D in header 'N D L'");
  header.skip_spaces();
  const uint64_t l = header.parse_uint("label count L in header 'N D L'");
  if (!header.at_end()) throw header.error("unexpected text after header 'N D L'");
  constexpr uint64_t kMaxId = uint64_t(UINT32_MAX);
  if (d > kMaxId || l > kMaxId) throw header.error("D or L exceeds 2^32 - 1");
  // Claimed sizes are checked against the file before anything is reserved.
  if (n > text.size()) throw header.error("header claims " + std::to_string(n) + " instances, more than the file can hold");

  data.features.cols = d;
  data.labels.cols = l;
  data.features.indptr.reserve(n + 1);
  data.labels.indptr.reserve(n + 1);

  std::vector<std::pair<Index, float>> feats;
  std::vector<std::pair<Index, float>> labs;
  for (uint64_t row = 0; row < n; ++row) {
    if (!next_line(b, e)) {
      throw InputError(name, line_no + 1, "file ends after " + std::to_string(row) + " of " + std::to_string(n) + " instances");
    }
    LineParser lp{b, e, name, line_no, b};
    feats.clear();
    labs.clear();
    // A leading token without ':' is the label list.
    const char* tok_end = lp.p;
    while (tok_end < lp.end && *tok_end != ' ' && *tok_end != '\t' && *tok_end != '\r') ++tok_end;
    const bool has_labels = lp.p < tok_end && !memchr(lp.p, ':', size_t(tok_end - lp.p));
    if (has_labels) {
      while (true) {
        const uint64_t lab = lp.parse_uint("a label id");
        if (lab >= l) throw lp.error("label id " + std::to_string(lab) + " out of range (L = " + std::to_string(l) + ")");
        labs.emplace_back(Index(lab), 1.0f);
        if (lp.p < lp.end && *lp.p == ',') {
          ++lp.p;
          continue;
        }
        break;
      }
      if (lp.p < lp.end && *lp.p != ' ' && *lp.p != '\t' && *lp.p != '\r') {
        throw lp.error("unexpected character '" + std::string(1, *lp.p) + "' in label list at column " + std::to_string(lp.column()));
      }
    }
    while (!lp.at_end()) {
      const uint64_t f = lp.parse_uint("a feature id");
      if (f >= d) throw lp.error("feature id " + std::to_string(f) + " out of range (D = " + std::to_string(d) + ")");
      if (lp.p >= lp.end || *lp.p != ':') throw lp.error("expected ':' after feature id at column " + std::to_string(lp.column()));
      ++lp.p;
      feats.emplace_back(Index(f), lp.parse_float());
      if (lp.p < lp.end && *lp.p != ' ' && *lp.p != '\t' && *lp.p != '\r') {
        throw lp.error("unexpected character '" + std::string(1, *lp.p) + "' at column " + std::to_string(lp.column()));
      }
    }
    std::sort(feats.begin(), feats.end(), [](auto& x, auto& y) { return x.first < y.first; });
    for (size_t k = 1; k < feats.size(); ++k) {
      if (feats[k].first == feats[k - 1].first) throw lp.error("feature id " + std::to_string(feats[k].first) + " repeated");
    }
    // Labels repeat harmlessly: append_row merges them, then values reset to 1.
    data.labels.append_row(std::move(labs));
    labs = {};
    std::fill(data.labels.values.begin() + data.labels.indptr[row], data.labels.values.end(), 1.0f);
    data.features.append_row(feats);
  }
  while (next_line(b, e)) {
    LineParser lp{b, e, name, line_no, b};
    if (!lp.at_end()) throw lp.error("more instance lines than the header's N = " + std::to_string(n));
  }
  return data;
}

XcDataset read_xc_file(const std::string& path) { return parse_xc_text(read_file_bytes(path), path); }

void write_xc_file(const std::string& path, const XcDataset& data) {
  if (data.features.rows != data.labels.rows) throw Error(path + ": features and labels have different row counts");
  std::ostringstream out;
  out.precision(9);  // float round-trips exactly
  out << data.features.rows << ' ' << data.features.cols << ' ' << data.labels.cols << '\n';
  for (size_t r = 0; r < data.features.rows; ++r) {
    const SparseVectorView lab = data.labels.row(r);
    for (size_t k = 0; k < lab.nnz; ++k) out << (k ? "," : "") << lab.indices[k];
    const SparseVectorView f = data.features.row(r);
    for (size_t k = 0; k < f.nnz; ++k) out << ' ' << f.indices[k] << ':' << f.values[k];
    out << '\n';
  }
  write_output(path, out.str());
}

}  // namespace xmr
