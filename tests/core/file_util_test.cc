#include "core/file_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <fstream>

#include "tests/core/test_util.h"

namespace xmr {
namespace {

// A pid that has exited (and been reaped), so no process has it for now.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

void make_file(const std::string& path, time_t age_seconds) {
  std::ofstream(path) << "partial";
  const timespec times[2] = {{::time(nullptr) - age_seconds, 0}, {::time(nullptr) - age_seconds, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

TEST(FileUtil, AtomicWriteRemovesOnlyStaleTempFilesOfDeadWriters) {
  testing::TempDir dir;
  const std::string path = dir.file("model.xmr");
  const std::string dead = std::to_string(dead_pid()), alive = std::to_string(::getpid());
  const time_t old_age = kStaleTempSeconds + 60;
  const std::string stale = path + ".tmp." + dead + ".123";
  const std::string live_writer = path + ".tmp." + alive + ".456";
  const std::string recent = path + ".tmp." + dead + ".789";
  const std::string other_file = dir.file("other.xmr.tmp." + dead + ".1");
  const std::string not_a_temp = path + ".tmp." + dead + ".bak";
  make_file(stale, old_age);
  make_file(live_writer, old_age);
  make_file(recent, 10);
  make_file(other_file, old_age);
  make_file(not_a_temp, old_age);

  write_file_atomic(path, std::string("model bytes"));
  EXPECT_EQ(read_file_bytes(path), "model bytes");
  EXPECT_FALSE(exists(stale)) << "a dead writer's old temp file is left";
  EXPECT_TRUE(exists(live_writer)) << "a running writer's temp file was removed";
  EXPECT_TRUE(exists(recent)) << "a recent temp file was removed";
  EXPECT_TRUE(exists(other_file)) << "another file's temp file was removed";
  EXPECT_TRUE(exists(not_a_temp)) << "a file not named like a temp file was removed";
}

}  // namespace
}  // namespace xmr
