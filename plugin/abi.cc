#include "plugin/abi.h"

#include <boost/version.hpp>

#ifndef XMR_LUCENEPP_VERSION
#error "XMR_LUCENEPP_VERSION must be defined by the build (pkg-config's version of liblucene++)"
#endif

namespace xmr {

std::string build_fingerprint() {
  std::string f = "abi=" + std::to_string(XMR_PLUGIN_ABI_VERSION);
#if defined(__clang__)
  f += ";clang=" __clang_version__;
#elif defined(__GNUC__)
  f += ";gcc=" + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__);
#endif
#ifdef __GLIBCXX__
  f += ";glibcxx=" + std::to_string(__GLIBCXX__) + ";cxx11abi=" + std::to_string(_GLIBCXX_USE_CXX11_ABI);
#endif
  f += ";cplusplus=" + std::to_string(__cplusplus);
  f += ";boost=" + std::to_string(BOOST_VERSION);
  f += ";lucene++=" XMR_LUCENEPP_VERSION;
  f += ";pointer=" + std::to_string(sizeof(void*) * 8);
  return f;
}

}  // namespace xmr
