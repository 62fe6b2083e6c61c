# `cmake --install`, in two components:
#   fhirsync_plugin_dev  what a transport plugin builds against: the
#                        header-only fhirsync::plugin_api (plugin-api/include),
#                        the package config and fhirsync.pc. No library, and
#                        find_package(fhirsync COMPONENTS plugin_api) looks
#                        for no other package.
#   fhirsync_dev         fhirsync::framework with its layers (core, store,
#                        sync, server) and those under it (fhirsync::base,
#                        fhirsync::feed) and their public
#                        headers, for host applications; its package component
#                        `framework` finds their dependencies (Poco Data,
#                        PostgreSQL, ...).
# Both go into the fhirsync-dev Debian package (packaging/CMakeLists.txt).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The loader looks for plugins in <program>/../<libdir>/fhirsync/plugins,
# where the plugins' install() rules put them.
target_compile_definitions(fhirsync_sync PRIVATE
  FHIRSYNC_INSTALL_LIBDIR="${CMAKE_INSTALL_LIBDIR}")

set(FHIRSYNC_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/fhirsync")

install(TARGETS fhirsync_plugin_api
  EXPORT fhirsyncPluginApiTargets
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/plugin-api/include/fhirsync
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT fhirsync_plugin_dev
  FILES_MATCHING PATTERN "*.h")
install(EXPORT fhirsyncPluginApiTargets
  NAMESPACE fhirsync::
  DESTINATION ${FHIRSYNC_CMAKE_DIR} COMPONENT fhirsync_plugin_dev)

install(TARGETS fhirsync_framework fhirsync_core fhirsync_store fhirsync_sync fhirsync_server
        fhirsync_feed fhirsync_base
  EXPORT fhirsyncTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT fhirsync_dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT fhirsync_dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# base/internal/ is not installed: its headers show RapidJSON and Poco types.
foreach(include_dir framework/include base/include feed-reader/include)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${include_dir}/fhirsync
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT fhirsync_dev
    FILES_MATCHING PATTERN "*.h")
endforeach()
# Refers to fhirsync::plugin_api, which the config imports first.
install(EXPORT fhirsyncTargets
  NAMESPACE fhirsync::
  DESTINATION ${FHIRSYNC_CMAKE_DIR} COMPONENT fhirsync_dev)

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/fhirsyncConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/fhirsyncConfig.cmake
  INSTALL_DESTINATION ${FHIRSYNC_CMAKE_DIR})
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/fhirsyncConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)  # 0.x: a minor may change the API
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/fhirsyncConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/fhirsyncConfigVersion.cmake
  DESTINATION ${FHIRSYNC_CMAKE_DIR} COMPONENT fhirsync_plugin_dev)
