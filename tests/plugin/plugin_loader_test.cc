// A host refuses what is not a plugin for it, with a message naming the file.
#include <gtest/gtest.h>

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
  EXPECT_TRUE(contains(error_of([&] { load_plugin(dir.file("libfake.so")); }), "libfake.so: cannot load plugin"));
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

}  // namespace
}  // namespace xmr
