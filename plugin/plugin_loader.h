// Loading plugin shared libraries into a host, with Boost.DLL.
#pragma once

#include <string>
#include <vector>

namespace xmr {

class PluginApi;

struct LoadedPlugin {
  std::string path;     // canonical path of the shared library
  std::string name;     // from the descriptor
  std::string version;  // from the descriptor
  PluginApi* api = nullptr;
};

// Loads the plugin at `path` (once per canonical path; later calls return
// the same plugin) and checks its descriptor. Plugins are never unloaded:
// stages and the objects they hand out may live until exit.
// Throws xmr::Error naming `path` when the file is missing, is not a loadable
// library, has no xmr entry point, or was built for another ABI version or
// against other library versions (both fingerprints are in the message).
// Thread-safe.
const LoadedPlugin& load_plugin(const std::string& path);

// Every plugin loaded so far, in load order. Thread-safe.
std::vector<LoadedPlugin> loaded_plugins();

// The xmr plugin's file name: what a pipeline loads when a stage type is
// unknown and no plugin listed in its config provides it.
constexpr const char* kDefaultPluginFile = "libxmr_plugin.so";

// Where find_plugin() looks for a plugin named by file name alone, in order:
// each directory of the XMR_PLUGIN_PATH environment variable (':'-separated,
// empty entries skipped), then `config_dir` (when not empty), then the
// directory xmr/ beside the pipeline library itself (an install's lib/xmr/, or
// the build tree's lib/xmr/), so an installed pipeline finds its plugin
// wherever the prefix was put. Thread-safe.
std::vector<std::string> plugin_search_path(const std::string& config_dir = "");

// The path of the plugin `name`: a name containing '/' is a path (a relative
// one is taken against `config_dir`); a bare file name is looked for in
// plugin_search_path(config_dir), first match wins. Throws xmr::Error naming
// `name` and every directory searched when there is no such regular file.
std::string find_plugin(const std::string& name, const std::string& config_dir = "");

}  // namespace xmr
