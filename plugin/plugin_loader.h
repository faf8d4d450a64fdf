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

}  // namespace xmr
