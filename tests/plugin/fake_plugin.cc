// Plugins a host must refuse: built with FAKE_ABI (another ABI version),
// FAKE_FINGERPRINT (other library versions) or NO_ENTRY (no entry point).
#include "plugin/abi.h"

#ifndef NO_ENTRY
extern "C" __attribute__((visibility("default"))) const XmrPluginDescriptor* xmr_plugin_descriptor(void) {
#ifdef FAKE_ABI
  static const XmrPluginDescriptor d = {FAKE_ABI, "fake", "0", "", nullptr};
#else
  static const XmrPluginDescriptor d = {XMR_PLUGIN_ABI_VERSION, "fake", "0",
                                        "abi=1;gcc=4.8;glibcxx=20130531;boost=105300;lucene++=3.0.4", nullptr};
#endif
  return &d;
}
#else
extern "C" __attribute__((visibility("default"))) int some_other_library_function(void) { return 42; }
#endif
