#include "core/file_util.h"

#include <dirent.h>
#include <ftw.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <vector>

#include "core/error.h"

namespace xmr {

void check_regular_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
}

std::string read_file_bytes(const std::string& path) {
  check_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": read failed");
  return bytes;
}

namespace {

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

}  // namespace

// Best effort: never throws, and leaves anything it is unsure of.
void remove_stale_temp_files(const std::string& path) {
  const std::string dir = directory_of(path);
  const size_t slash = path.find_last_of('/');
  const std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp.";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  const time_t now = ::time(nullptr);
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    // <prefix><pid>.<digits> (a file) or <prefix><pid> (a directory), nothing else.
    const std::string rest = name.substr(prefix.size());
    const size_t dot = rest.find('.');
    const size_t pid_len = dot == std::string::npos ? rest.size() : dot;
    if (pid_len == 0 || pid_len > 9 || (dot != std::string::npos && dot + 1 == rest.size())) continue;
    if (rest.find_first_not_of("0123456789.") != std::string::npos ||
        (dot != std::string::npos && rest.find('.', dot + 1) != std::string::npos)) {
      continue;
    }
    const pid_t pid = pid_t(std::stol(rest.substr(0, pid_len)));
    if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    const std::string full = dir + "/" + name;
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0 || now - st.st_mtime < kStaleTempSeconds) continue;
    const bool file = S_ISREG(st.st_mode) && dot != std::string::npos;
    const bool directory = S_ISDIR(st.st_mode) && dot == std::string::npos;
    if (file || directory) stale.push_back(full);
  }
  ::closedir(d);
  for (const auto& full : stale) ::nftw(full.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

namespace {

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Writes all of `data` to `fd`; false with errno set on failure.
bool write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    size -= size_t(n);
  }
  return true;
}

}  // namespace

std::string resolve_symlinks(const std::string& path) {
  std::string current = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st;
    if (::lstat(current.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return current;
    std::string target(size_t(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
    const ssize_t n = ::readlink(current.c_str(), &target[0], target.size());
    if (n < 0) throw Error(path + ": cannot read symbolic link " + current + ": " + std::strerror(errno));
    target.resize(size_t(n));
    current = target[0] == '/' ? target : directory_of(current) + "/" + target;
  }
  throw Error(path + ": too many levels of symbolic links");
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}

void write_file_atomic(const std::string& requested, const void* data, size_t size) {
  write_file_atomic(requested, [&](const PieceSink& write) { write(data, size); });
}

void write_file_atomic(const std::string& requested, const std::function<void(const PieceSink&)>& produce) {
  if (requested.empty()) throw Error("output path is empty");
  const std::string path = resolve_symlinks(requested);
  mode_t keep_mode = 0644;
  struct stat existing;
  if (::stat(path.c_str(), &existing) == 0) {
    if (!S_ISREG(existing.st_mode)) {
      throw Error(requested + ": is " + std::string(file_kind(existing.st_mode)) +
                  ", not a regular file; refusing to replace it");
    }
    keep_mode = existing.st_mode & 07777;
  }
  std::random_device rd;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(requested + ": cannot create temporary file: " + std::strerror(errno));
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Error(requested + ": " + what + ": " + std::strerror(err));
  };
  if (keep_mode != 0644 && ::fchmod(fd, keep_mode) != 0) throw fail("cannot keep the file's permissions");
  struct WriteFailed {};
  try {
    produce([&](const void* data, size_t size) {
      if (!write_all(fd, data, size)) throw WriteFailed{};
    });
  } catch (const WriteFailed&) {
    throw fail("write failed");
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::fsync(fd) != 0) throw fail("fsync failed");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(requested + ": close failed: " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(requested + ": rename failed: " + std::strerror(err));
  }
  // Make the rename itself durable; failure here does not undo the write.
  const int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  remove_stale_temp_files(path);
}

void write_output(const std::string& path, const std::string& bytes) { write_output(path, bytes.data(), bytes.size()); }

void write_output(const std::string& path, const void* data, size_t size) {
  if (path == "-") {
    if (size > 0 && std::fwrite(data, 1, size, stdout) != size) {
      throw Error("standard output: write failed: " + std::string(std::strerror(errno)));
    }
    finish_stdout();
    return;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    // A device or pipe: there is nothing to replace atomically.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path + ": cannot open for writing: " + std::strerror(errno));
    if (!write_all(fd, data, size)) {
      const int err = errno;
      ::close(fd);
      throw Error(path + ": write failed: " + std::strerror(err));
    }
    if (::close(fd) != 0) throw Error(path + ": close failed: " + std::strerror(errno));
    return;
  }
  write_file_atomic(path, data, size);
}

void finish_stdout() {
  errno = 0;
  std::cout.flush();  // synced with stdio: flushes stdout, and may be the call that fails
  int err = errno;
  const bool flushed = std::fflush(stdout) == 0;
  if (!err) err = errno;
  if (!flushed || std::ferror(stdout) || !std::cout) {
    std::clearerr(stdout);  // report once
    throw Error("standard output: write failed" + (err ? ": " + std::string(std::strerror(err)) : std::string()));
  }
}

}  // namespace xmr
