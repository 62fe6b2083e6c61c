# `cmake --install` (component fhirsync_dev): the public headers,
# fhirsync::framework with its layers and those under it (fhirsync::base,
# fhirsync::feed), fhirsync::plugin_api and a package config, so that
# host applications and out-of-tree plugins use find_package(fhirsync).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The loader looks for plugins in <program>/../<libdir>/fhirsync/plugins,
# where the plugins' install() rules put them.
target_compile_definitions(fhirsync_sync PRIVATE
  FHIRSYNC_INSTALL_LIBDIR="${CMAKE_INSTALL_LIBDIR}")

set(FHIRSYNC_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/fhirsync")

install(TARGETS fhirsync_framework fhirsync_core fhirsync_store fhirsync_sync fhirsync_server
        fhirsync_feed fhirsync_base fhirsync_plugin_api
  EXPORT fhirsyncTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT fhirsync_dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT fhirsync_dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# base/internal/ is not installed: its headers show RapidJSON and Poco types.
foreach(include_dir framework/include plugin-api/include base/include feed-reader/include)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${include_dir}/fhirsync
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT fhirsync_dev
    FILES_MATCHING PATTERN "*.h")
endforeach()
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
  DESTINATION ${FHIRSYNC_CMAKE_DIR} COMPONENT fhirsync_dev)
