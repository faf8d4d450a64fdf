// One process's share of a line-oriented file (XC rows, JSONL documents) for
// distributed training: the file's bytes after its first `header_lines`
// lines are cut into `parts` equal ranges, and part r holds the lines that
// start in range r. The parts tile the lines in order, so part r's lines
// follow part r-1's; a process reads only its range (plus the rest of its
// last line), never the whole file.
#pragma once

#include <cstdint>
#include <string>

namespace xmr {

struct LineShard {
  std::string header;    // the first header_lines lines, newlines included
  std::string text;      // this part's lines, newlines included
  uint64_t begin = 0;    // byte offset of text in the file
};

// Throws xmr::Error naming `path` when it cannot be opened or read, or has
// fewer than header_lines lines. Requires 0 <= part < parts.
LineShard read_line_shard(const std::string& path, int part, int parts, int header_lines);

}  // namespace xmr
