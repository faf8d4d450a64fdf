// The binary contract between a host and an xmr plugin shared library.
//
// A plugin exports one C function, xmr_plugin_descriptor(), returning a
// descriptor whose first member is the ABI version. A host reads the version
// first and refuses a plugin of another version; then it compares build
// fingerprints (compiler, C++ standard library, Boost and Lucene++ versions)
// and refuses a plugin built against different ones, because the C++ stage
// interface passes std:: and Lucene++ objects across the boundary. Only after
// both checks does the host call `api()` to reach the C++ interface
// (plugin/stage.h).
#pragma once

#include <cstdint>
#include <string>

// Bump whenever plugin/stage.h or this descriptor changes incompatibly.
#define XMR_PLUGIN_ABI_VERSION 3u
#define XMR_PLUGIN_ENTRY_POINT "xmr_plugin_descriptor"

namespace xmr {
class PluginApi;
}

extern "C" {

struct XmrPluginDescriptor {
  uint32_t abi_version;           // XMR_PLUGIN_ABI_VERSION of the plugin's build; always first
  const char* name;               // e.g. "xmr"
  const char* version;            // the plugin's own version, e.g. "0.1.0"
  const char* build_fingerprint;  // xmr::build_fingerprint() of the plugin's build
  // The C++ interface. Call only when abi_version and build_fingerprint match
  // the host's. The object lives as long as the process.
  xmr::PluginApi* (*api)(void);
};

typedef const XmrPluginDescriptor* (*XmrPluginEntryPoint)(void);

}  // extern "C"

namespace xmr {

// What this translation unit's build links against, as one line
// ("abi=1;gcc=12.2.0;glibcxx=...;boost=107400;lucene++=3.0.8;..."). Host and
// plugin must agree on it exactly.
std::string build_fingerprint();

}  // namespace xmr
