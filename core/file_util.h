// Small file helpers shared by the readers and writers.
#pragma once

#include <string>

namespace xmr {

// Throws xmr::Error naming the path unless it exists and is a regular file.
void check_regular_file(const std::string& path);

// The whole file as bytes. Throws xmr::Error naming the path if it cannot be read.
std::string read_file_bytes(const std::string& path);

// Writes `bytes` to `path` atomically: a temporary file in the same directory
// (`path`.tmp.<pid>.<random>) is written, flushed to disk and renamed over
// `path`. On any failure the temp file is removed, `path` is left as it was,
// and xmr::Error is thrown. After a successful write, temp files of `path`
// left by killed writers are removed: those whose process is gone and that
// have not been modified for kStaleTempSeconds (the age guards writers in
// another PID namespace sharing the directory).
constexpr int kStaleTempSeconds = 3600;
void write_file_atomic(const std::string& path, const std::string& bytes);
void write_file_atomic(const std::string& path, const void* data, size_t size);

}  // namespace xmr
