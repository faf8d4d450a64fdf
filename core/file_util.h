// Small file helpers shared by the readers and writers.
#pragma once

#include <functional>
#include <string>

namespace xmr {

// Throws xmr::Error naming the path unless it exists and is a regular file.
void check_regular_file(const std::string& path);

// The whole file as bytes. Throws xmr::Error naming the path if it cannot be read.
std::string read_file_bytes(const std::string& path);

// Writes `bytes` to `path` atomically: a temporary file in the same directory
// (`path`.tmp.<pid>.<random>) is written, flushed to disk and renamed over
// `path`. A symbolic link is followed (also a chain, or one whose target does
// not exist yet): the temp file is made beside the real target and renamed
// over it, so the link stays a link. An existing target that is not a regular
// file (a device, FIFO, socket or directory) is refused, never replaced; an
// existing target keeps its permission bits. On any failure the temp file is
// removed, `path` is left as it was, and xmr::Error is thrown. After a successful write, temp files of `path`
// left by killed writers are removed: those whose process is gone and that
// have not been modified for kStaleTempSeconds (the age guards writers in
// another PID namespace sharing the directory).
constexpr int kStaleTempSeconds = 3600;
// The clean-up write_file_atomic() does after a successful write, for writers
// of other kinds: removes `path`.tmp.<pid>.<n> files and `path`.tmp.<pid>
// directories (xmr index) of dead processes, untouched for kStaleTempSeconds.
// Best effort: never throws.
void remove_stale_temp_files(const std::string& path);
void write_file_atomic(const std::string& path, const std::string& bytes);
void write_file_atomic(const std::string& path, const void* data, size_t size);
// The same for a file produced in pieces: `produce` calls its argument with
// each piece in order (a failed write throws out of that call).
using PieceSink = std::function<void(const void* data, size_t size)>;
void write_file_atomic(const std::string& path, const std::function<void(const PieceSink&)>& produce);

// Writes a plain output (predictions, JSON, data files): "-" is standard
// output; an existing device, FIFO or socket (/dev/stdout, /dev/null, a pipe)
// is opened and written as it is; anything else goes through
// write_file_atomic(). Every write is checked; failures throw xmr::Error
// naming the output.
void write_output(const std::string& path, const void* data, size_t size);
void write_output(const std::string& path, const std::string& bytes);

// The symlink-free path `path` refers to: links are followed (at most 40),
// relative link targets taken from the link's directory. A missing final
// component is fine (the path a new file would get). Throws xmr::Error on a
// loop or an unreadable link.
std::string resolve_symlinks(const std::string& path);

// Flushes standard output (stdio and iostreams) and throws xmr::Error
// ("standard output: write failed: ...") if any write to it failed, e.g. a
// full disk or a closed pipe. Commands call it before they report success.
void finish_stdout();

}  // namespace xmr
