#include "plugin/plugin_loader.h"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <boost/filesystem.hpp>
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "core/error.h"
#include "plugin/abi.h"

namespace xmr {

namespace {

struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<boost::dll::shared_library>> libraries;  // never unloaded
  std::vector<std::unique_ptr<LoadedPlugin>> plugins;
};

Registry& registry() {
  static Registry* r = new Registry;  // leaked on purpose: plugins outlive static destructors
  return *r;
}

// Why dlopen refused `path`, in words: Boost.DLL's error code says only "Bad
// file descriptor" for a file that is not a library at all.
std::string load_failure(const std::string& path, const boost::system::error_code& ec) {
  char magic[4] = {};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  const size_t n = f ? std::fread(magic, 1, sizeof magic, f) : 0;
  if (f) std::fclose(f);
  if (n < 4 || std::memcmp(magic, "\x7f" "ELF", 4) != 0) return "not a shared library (no ELF header)";
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle) {
    ::dlclose(handle);
    return ec.message();
  }
  const char* why = ::dlerror();
  return why ? why : ec.message();
}

}  // namespace

const LoadedPlugin& load_plugin(const std::string& path) {
  namespace fs = boost::filesystem;
  boost::system::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": plugin not found");
  if (!fs::is_regular_file(path, ec)) throw Error(path + ": plugin is not a regular file");
  const std::string canonical = fs::canonical(path, ec).string();
  if (ec) throw Error(path + ": cannot resolve plugin path: " + ec.message());

  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const auto& p : r.plugins) {
    if (p->path == canonical) return *p;
  }
  auto lib = std::make_unique<boost::dll::shared_library>();
  lib->load(canonical, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) throw Error(path + ": cannot load plugin: " + load_failure(canonical, ec));
  if (!lib->has(XMR_PLUGIN_ENTRY_POINT)) {
    throw Error(path + ": not an xmr plugin (no '" XMR_PLUGIN_ENTRY_POINT "' entry point)");
  }
  const XmrPluginDescriptor* d = lib->get<const XmrPluginDescriptor*()>(XMR_PLUGIN_ENTRY_POINT)();
  if (d == nullptr) throw Error(path + ": plugin returned no descriptor");
  if (d->abi_version != XMR_PLUGIN_ABI_VERSION) {
    throw Error(path + ": plugin ABI version " + std::to_string(d->abi_version) + ", this host needs " +
                std::to_string(XMR_PLUGIN_ABI_VERSION) + "; rebuild the plugin against this host");
  }
  const std::string host_fp = build_fingerprint();
  const std::string plugin_fp = d->build_fingerprint ? d->build_fingerprint : "";
  if (plugin_fp != host_fp) {
    throw Error(path + ": plugin was built against other libraries (plugin: " + plugin_fp + "; host: " + host_fp +
                "); rebuild it with the host's compiler, Boost and Lucene++");
  }
  PluginApi* api = d->api ? d->api() : nullptr;
  if (api == nullptr) throw Error(path + ": plugin has no C++ interface");

  auto p = std::make_unique<LoadedPlugin>();
  p->path = canonical;
  p->name = d->name ? d->name : "";
  p->version = d->version ? d->version : "";
  p->api = api;
  r.libraries.push_back(std::move(lib));
  r.plugins.push_back(std::move(p));
  return *r.plugins.back();
}

std::vector<LoadedPlugin> loaded_plugins() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<LoadedPlugin> out;
  for (const auto& p : r.plugins) out.push_back(*p);
  return out;
}

std::vector<std::string> plugin_search_path(const std::string& config_dir) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("XMR_PLUGIN_PATH")) {
    const std::string value = env;
    size_t start = 0;
    while (start <= value.size()) {
      const size_t end = std::min(value.find(':', start), value.size());
      if (end > start) dirs.push_back(value.substr(start, end - start));
      start = end + 1;
    }
  }
  if (!config_dir.empty()) dirs.push_back(config_dir);
  // This function's own shared library: libxmr_pipeline.so in the install's
  // (or build tree's) lib directory.
  boost::system::error_code ec;
  const boost::filesystem::path self = boost::dll::this_line_location(ec);
  if (!ec) {
    // dladdr reports the path the loader used ("bin/../lib/..." through an $ORIGIN rpath).
    boost::filesystem::path dir = boost::filesystem::canonical(self.parent_path(), ec);
    if (ec) dir = self.parent_path().lexically_normal();
    dirs.push_back((dir / XMR_PLUGIN_DIR_NAME).string());
  }
  return dirs;
}

std::string find_plugin(const std::string& name, const std::string& config_dir) {
  namespace fs = boost::filesystem;
  if (name.empty()) throw Error("plugin name is empty");
  if (name.find('/') != std::string::npos) {
    const fs::path p(name);
    return p.is_absolute() || config_dir.empty() ? name : (fs::path(config_dir) / p).string();
  }
  std::string looked;
  for (const std::string& dir : plugin_search_path(config_dir)) {
    const fs::path candidate = fs::path(dir) / name;
    boost::system::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
    looked += (looked.empty() ? "" : ", ") + dir;
  }
  throw Error(name + ": plugin not found (looked in " + (looked.empty() ? std::string("no directory") : looked) +
              "; set XMR_PLUGIN_PATH or give a path)");
}

}  // namespace xmr
