// Errors raised by xmr. Every failure the caller can cause (bad file, bad
// parameter, corrupt model) is reported as an xmr::Error whose message names
// the file, line or field and the problem; nothing is reported by crashing.
#pragma once

#include <stdexcept>
#include <string>

namespace xmr {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// "path:line: problem" — the form every reader uses for input errors.
inline Error InputError(const std::string& path, size_t line, const std::string& problem) {
  return Error(path + ":" + std::to_string(line) + ": " + problem);
}

}  // namespace xmr
