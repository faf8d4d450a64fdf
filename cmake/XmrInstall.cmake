# `cmake --install` and `cpack -G DEB`: the xmr command, the plugin, the
# pipeline library and its headers, a CMake package and a pkg-config file.
#
# Components: `runtime` (bin/xmr, lib/libxmr_pipeline.so.X.Y, lib/xmr/libxmr_plugin.so)
# and `development` (headers, the unversioned .so link, CMake and pkg-config files).
include(CMakePackageConfigHelpers)

set(XMR_INSTALL_PLUGIN_DIR ${CMAKE_INSTALL_LIBDIR}/${XMR_PLUGIN_DIR_NAME})
set(XMR_INSTALL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/xmr)

# Installed programs find the pipeline library relative to themselves, so a
# prefix can be moved (or unpacked from the .deb anywhere).
file(RELATIVE_PATH xmr_bin_to_lib /${CMAKE_INSTALL_BINDIR} /${CMAKE_INSTALL_LIBDIR})
set_target_properties(xmr PROPERTIES INSTALL_RPATH "$ORIGIN/${xmr_bin_to_lib}")

install(TARGETS xmr RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(TARGETS xmr_pipeline EXPORT xmrTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development)
install(TARGETS xmr_plugin LIBRARY DESTINATION ${XMR_INSTALL_PLUGIN_DIR} COMPONENT runtime)
install(FILES ${XMR_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/xmr COMPONENT development)

install(EXPORT xmrTargets NAMESPACE xmr:: DESTINATION ${XMR_INSTALL_CMAKE_DIR} COMPONENT development)
configure_package_config_file(cmake/xmrConfig.cmake.in ${PROJECT_BINARY_DIR}/xmrConfig.cmake
  INSTALL_DESTINATION ${XMR_INSTALL_CMAKE_DIR}
  PATH_VARS XMR_INSTALL_PLUGIN_DIR CMAKE_INSTALL_BINDIR)
# Before 1.0 a minor version may break the API: 0.4 accepts 0.4.x only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/xmrConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/xmrConfig.cmake ${PROJECT_BINARY_DIR}/xmrConfigVersion.cmake
  DESTINATION ${XMR_INSTALL_CMAKE_DIR} COMPONENT development)

file(RELATIVE_PATH XMR_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" XMR_PC_TO_PREFIX "${XMR_PC_TO_PREFIX}")
configure_file(cmake/xmr.pc.in ${PROJECT_BINARY_DIR}/xmr.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/xmr.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT development)

# Debian packages: `cpack -G DEB` in the build directory writes xmr_<v>_<arch>.deb
# (runtime; its library dependencies computed by dpkg-shlibdeps) and
# xmr-dev_<v>_<arch>.deb (depends on xmr of the same version and on the Lucene++
# and Boost headers a host compiles against).
set(CPACK_PACKAGE_NAME xmr)
set(CPACK_PACKAGE_VENDOR "xmr developers")
set(CPACK_PACKAGE_CONTACT "xmr developers <xmr@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "extreme multi-label ranking (PECOS XR-Linear) for Lucene++")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime development)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME xmr)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR}/lib)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME xmr-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "liblucene++-dev (>= 3.0.8), libboost-dev (>= 1.74), libboost-filesystem-dev (>= 1.74)")
set(CPACK_COMPONENT_DEVELOPMENT_DEPENDS runtime)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
include(CPack)
