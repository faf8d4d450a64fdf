// Saving a model must never lose the previous one: onto a full filesystem,
// into a read-only directory, or when the process is killed mid-save. The
// filesystem cases run in a child process with its own mount namespace and a
// small tmpfs; they skip (saying why) where mounting is not permitted.
#include <gtest/gtest.h>
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>

#include "core/error.h"
#include "core/file_util.h"
#include "core/model.h"
#include "core/trainer.h"
#include "examples/synthetic_xc.h"

namespace xmr {
namespace {

Model train_synthetic(size_t labels, size_t rows, uint64_t seed) {
  SyntheticXcParams sp;
  sp.rows = rows;
  sp.features = 4 * rows;
  sp.labels = labels;
  sp.seed = seed;
  XcDataset d = generate_synthetic_xc(sp);
  TrainParams p;
  p.threads = 2;
  p.weight_threshold = 0.0f;  // keep every weight: a bigger file
  return train_model(d.features, d.labels, p);
}

std::string make_temp_dir() {
  char tmpl[] = "/tmp/xmr-fault-XXXXXX";
  if (!::mkdtemp(tmpl)) throw Error("mkdtemp failed");
  return tmpl;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) out.push_back(e->d_name);
    }
    ::closedir(d);
  }
  return out;
}

// Runs `body` in a child process in a private mount namespace with a tmpfs
// of `tmpfs_bytes` mounted at `dir` (read-only if asked). The child's exit
// code: 0 passed, 77 mounting is not permitted, else the failed check.
int run_on_small_filesystem(const std::string& dir, size_t tmpfs_bytes, bool read_only,
                            const std::function<int(const std::string&)>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(77);
    if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(77);
    const std::string opts = "size=" + std::to_string(tmpfs_bytes);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) != 0) ::_exit(77);
    int rc = 0;
    try {
      rc = body(dir);
      if (rc == 0 && read_only) {
        if (::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) != 0) ::_exit(77);
        rc = body(dir);
      }
    } catch (...) {
      rc = 90;
    }
    ::_exit(rc);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class FaultInjection : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    small_ = new Model(train_synthetic(200, 2000, 1));
    big_ = new Model(train_synthetic(3000, 20000, 2));
  }
  static void TearDownTestSuite() {
    delete small_;
    delete big_;
  }
  static Model* small_;
  static Model* big_;
};
Model* FaultInjection::small_ = nullptr;
Model* FaultInjection::big_ = nullptr;

TEST_F(FaultInjection, FullDiskKeepsThePreviousModel) {
  ASSERT_GT(big_->file_size(), 4 * small_->file_size());
  const std::string dir = make_temp_dir();
  const size_t fs_bytes = 2 * small_->file_size() + (64 << 10);  // room for the small model, not the big one
  ASSERT_LT(fs_bytes, big_->file_size());
  small_->save(dir + "/previous.xmr");  // hidden by the mount below; read back first
  const std::string old_bytes = read_file_bytes(dir + "/previous.xmr");
  ::unlink((dir + "/previous.xmr").c_str());
  const int rc = run_on_small_filesystem(dir, fs_bytes, false, [&](const std::string& d) {
    const std::string path = d + "/model.xmr";
    small_->save(path);
    try {
      big_->save(path);
      return 1;  // must not fit
    } catch (const Error& e) {
      if (std::string(e.what()).find(path) == std::string::npos) return 2;  // the error names the file
      if (std::string(e.what()).find("No space") == std::string::npos) return 3;
    }
    if (read_file_bytes(path) != old_bytes) return 4;
    if (Model::load(path).num_labels() != small_->num_labels()) return 5;
    if (list_dir(d).size() != 1) return 6;  // no temp file left behind
    return 0;
  });
  ::rmdir(dir.c_str());
  if (rc == 77) GTEST_SKIP() << "mounting a tmpfs is not permitted here (needs CAP_SYS_ADMIN)";
  EXPECT_EQ(rc, 0);
}

TEST_F(FaultInjection, ReadOnlyDirectoryKeepsThePreviousModel) {
  const std::string dir = make_temp_dir();
  bool first_pass = true;
  const int rc = run_on_small_filesystem(dir, 64 << 20, true, [&](const std::string& d) {
    const std::string path = d + "/model.xmr";
    if (first_pass) {  // writable: put the previous model there
      first_pass = false;
      small_->save(path);
      return 0;
    }
    try {
      big_->save(path);
      return 1;
    } catch (const Error& e) {
      if (std::string(e.what()).find(path) == std::string::npos) return 2;
      if (std::string(e.what()).find("Read-only") == std::string::npos) return 3;
    }
    if (Model::load(path).num_labels() != small_->num_labels()) return 4;
    return 0;
  });
  ::rmdir(dir.c_str());
  if (rc == 77) GTEST_SKIP() << "mounting a tmpfs is not permitted here (needs CAP_SYS_ADMIN)";
  EXPECT_EQ(rc, 0);
}

// A child saves the big model over the small one and is SIGKILLed once its
// temporary file has data. The path must still hold the small model, whole.
TEST_F(FaultInjection, KilledMidSaveKeepsThePreviousModel) {
  const std::string dir = make_temp_dir();
  const std::string path = dir + "/model.xmr";
  int killed_mid_write = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    for (const std::string& f : list_dir(dir)) ::unlink((dir + "/" + f).c_str());
    small_->save(path);
    const std::string old_bytes = read_file_bytes(path);
    const pid_t pid = ::fork();
    if (pid == 0) {
      big_->save(path);
      ::_exit(0);
    }
    bool writing = false;
    for (int i = 0; i < 100000 && !writing; ++i) {
      for (const std::string& f : list_dir(dir)) {
        struct stat st;
        writing |= f.rfind("model.xmr.tmp.", 0) == 0 && ::stat((dir + "/" + f).c_str(), &st) == 0 && st.st_size > 0;
      }
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status)) {  // the save finished first: the file is the whole new model
      EXPECT_EQ(Model::load(path).num_labels(), big_->num_labels());
      continue;
    }
    if (writing) ++killed_mid_write;
    EXPECT_EQ(read_file_bytes(path), old_bytes) << "a killed save changed the previous model";
    EXPECT_EQ(Model::load(path).num_labels(), small_->num_labels());
  }
  EXPECT_GT(killed_mid_write, 0) << "never caught the child mid-write";
  for (const std::string& f : list_dir(dir)) ::unlink((dir + "/" + f).c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace xmr
