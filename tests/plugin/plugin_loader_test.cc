// A host refuses what is not a plugin for it, with a message naming the file.
#include <gtest/gtest.h>

#include <boost/filesystem.hpp>
#include <cstdlib>

#include "../core/test_util.h"
#include "plugin/abi.h"
#include "plugin/plugin_loader.h"
#include "plugin_test_util.h"

namespace xmr {
namespace {

using testing::error_of;

::testing::AssertionResult contains(const std::string& msg, const std::string& part) {
  if (msg.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "message: " << msg;
}

TEST(PluginLoader, RefusesMissingFile) {
  EXPECT_TRUE(contains(error_of([] { load_plugin("/nonexistent/libxmr_plugin.so"); }),
                       "/nonexistent/libxmr_plugin.so: plugin not found"));
}

TEST(PluginLoader, RefusesAFileThatIsNotALibrary) {
  testing::TempDir dir;
  testing::write_text(dir.file("libfake.so"), "not an ELF file\n");
  EXPECT_TRUE(contains(error_of([&] { load_plugin(dir.file("libfake.so")); }),
                       "libfake.so: cannot load plugin: not a shared library (no ELF header)"));
  EXPECT_TRUE(contains(error_of([&] { load_plugin(dir.path()); }), "is not a regular file"));
}

TEST(PluginLoader, RefusesALibraryWithoutEntryPoint) {
  EXPECT_TRUE(contains(error_of([] { load_plugin(XMR_FAKE_NO_ENTRY); }), "not an xmr plugin"));
}

TEST(PluginLoader, RefusesAnotherAbiVersion) {
  const std::string msg = error_of([] { load_plugin(XMR_FAKE_ABI); });
  EXPECT_TRUE(contains(msg, "plugin ABI version 999, this host needs " + std::to_string(XMR_PLUGIN_ABI_VERSION)));
  EXPECT_TRUE(contains(msg, XMR_FAKE_ABI));
}

TEST(PluginLoader, RefusesAnotherBuildFingerprint) {
  const std::string msg = error_of([] { load_plugin(XMR_FAKE_FINGERPRINT); });
  EXPECT_TRUE(contains(msg, "built against other libraries"));
  EXPECT_TRUE(contains(msg, "lucene++=3.0.4"));
  EXPECT_TRUE(contains(msg, build_fingerprint()));
}

TEST(PluginLoader, LoadsTheRealPlugin) {
  const LoadedPlugin& p = load_plugin(testing::plugin_path());
  EXPECT_EQ(p.name, "xmr");
  bool listed = false;
  for (const auto& q : loaded_plugins()) listed |= q.path == p.path;
  EXPECT_TRUE(listed);
  EXPECT_NE(build_fingerprint().find("lucene++=3.0.8"), std::string::npos) << build_fingerprint();
}

// Sets an environment variable for one test, restoring it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { had_ ? setenv(name_, old_.c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(PluginSearch, BareNamesAreSearchedInTheEnvironmentThenTheConfigDirThenBesideTheLibrary) {
  testing::TempDir env_dir, config_dir;
  testing::write_text(config_dir.file("libboth.so"), "x");
  testing::write_text(env_dir.file("libboth.so"), "x");
  testing::write_text(config_dir.file("libconfig.so"), "x");
  ScopedEnv env("XMR_PLUGIN_PATH", "::" + env_dir.path() + ":/nonexistent");
  const std::vector<std::string> path = plugin_search_path(config_dir.path());
  ASSERT_EQ(path.size(), 4u);  // the empty entries are skipped
  EXPECT_EQ(path[0], env_dir.path());
  EXPECT_EQ(path[1], "/nonexistent");
  EXPECT_EQ(path[2], config_dir.path());
  EXPECT_EQ(find_plugin("libboth.so", config_dir.path()), env_dir.file("libboth.so"));
  EXPECT_EQ(find_plugin("libconfig.so", config_dir.path()), config_dir.file("libconfig.so"));
  // The last place is lib/xmr/ beside the pipeline library: where the build
  // (and an install) puts the xmr plugin.
  namespace fs = boost::filesystem;
  EXPECT_EQ(fs::canonical(find_plugin(kDefaultPluginFile)), fs::canonical(XMR_PLUGIN_PATH));
  const std::string msg = error_of([&] { find_plugin("libnone.so", config_dir.path()); });
  EXPECT_TRUE(contains(msg, "libnone.so: plugin not found (looked in " + env_dir.path() + ", /nonexistent, " +
                                config_dir.path() + ", "));
}

TEST(PluginSearch, NamesWithASlashArePathsRelativeToTheConfig) {
  EXPECT_EQ(find_plugin("plugins/libx.so", "/etc/app"), "/etc/app/plugins/libx.so");
  EXPECT_EQ(find_plugin("/opt/libx.so", "/etc/app"), "/opt/libx.so");
  EXPECT_EQ(find_plugin("./libx.so", ""), "./libx.so");
  EXPECT_TRUE(contains(error_of([] { find_plugin(""); }), "plugin name is empty"));
}

}  // namespace
}  // namespace xmr
