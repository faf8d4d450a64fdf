// Helpers shared by the core tests.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "core/error.h"
#include "core/sparse.h"

namespace xmr::testing {

// The message of the xmr::Error that f throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A matrix from dense rows (zeros dropped).
inline CsrMatrix dense_to_csr(const std::vector<std::vector<float>>& rows, size_t cols) {
  CsrMatrix m;
  m.cols = cols;
  for (const auto& r : rows) {
    std::vector<std::pair<Index, float>> e;
    for (size_t j = 0; j < r.size(); ++j) {
      if (r[j] != 0) e.emplace_back(Index(j), r[j]);
    }
    m.append_row(e);
  }
  return m;
}

// A label matrix from label lists.
inline CsrMatrix labels_to_csr(const std::vector<std::vector<Index>>& rows, size_t num_labels) {
  CsrMatrix m;
  m.cols = num_labels;
  for (const auto& r : rows) {
    std::vector<std::pair<Index, float>> e;
    for (Index l : r) e.emplace_back(l, 1.0f);
    m.append_row(e);
  }
  return m;
}

// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/xmr_test_XXXXXX";
    const char* made = mkdtemp(tmpl);
    if (made == nullptr) throw std::runtime_error("TempDir: mkdtemp(/tmp/xmr_test_XXXXXX) failed");
    path_ = made;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// |x_i|^2 of every row, as the solvers take them.
inline std::vector<double> row_sq_norms(const CsrMatrix& X) {
  std::vector<double> s;
  for (size_t i = 0; i < X.rows; ++i) s.push_back(sparse_dot(X.row(i), X.row(i)));
  return s;
}

inline void write_text(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

}  // namespace xmr::testing
