#include "core/line_shard.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace xmr {

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what + (errno ? std::string(": ") + std::strerror(errno) : std::string()));
}

void seek(std::FILE* f, uint64_t at, const std::string& path) {
  if (fseeko(f, off_t(at), SEEK_SET) != 0) fail(path, "cannot seek");
}

// The first line start at or after `at` (lines start after a '\n'), in [lo, size].
uint64_t line_start_at_or_after(std::FILE* f, uint64_t at, uint64_t lo, uint64_t size, const std::string& path) {
  if (at <= lo) return lo;
  if (at >= size) return size;
  seek(f, at - 1, path);
  uint64_t pos = at - 1;
  for (int c; (c = std::fgetc(f)) != EOF;) {
    ++pos;
    if (c == '\n') return pos;
  }
  if (std::ferror(f)) fail(path, "read error");
  return size;
}

}  // namespace

LineShard read_line_shard(const std::string& path, int part, int parts, int header_lines) {
  if (parts < 1 || part < 0 || part >= parts) throw Error("read_line_shard: part out of range");
  errno = 0;
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) fail(path, "cannot open");
  if (fseeko(f.get(), 0, SEEK_END) != 0) fail(path, "cannot seek (not a regular file?)");
  const uint64_t size = uint64_t(ftello(f.get()));
  seek(f.get(), 0, path);
  LineShard shard;
  for (int h = 0; h < header_lines; ++h) {
    int c;
    while ((c = std::fgetc(f.get())) != EOF && c != '\n') shard.header.push_back(char(c));
    if (c == EOF) {
      if (std::ferror(f.get())) fail(path, "read error");
      throw Error(path + ": expected " + std::to_string(header_lines) + " header line(s), the file ends first");
    }
    shard.header.push_back('\n');
  }
  const uint64_t data = shard.header.size();
  const uint64_t span = size - data;
  const uint64_t lo = line_start_at_or_after(f.get(), data + span * uint64_t(part) / uint64_t(parts), data, size, path);
  const uint64_t hi = line_start_at_or_after(f.get(), data + span * uint64_t(part + 1) / uint64_t(parts), data, size, path);
  shard.begin = lo;
  shard.text.resize(hi - lo);
  seek(f.get(), lo, path);
  if (hi > lo && std::fread(&shard.text[0], 1, hi - lo, f.get()) != hi - lo) fail(path, "read error");
  return shard;
}

}  // namespace xmr
