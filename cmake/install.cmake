# Install rules and the package files consumers use:
#   find_package(simdnn) -> simdnn::simdnn (shared, SONAME libsimdnn.so.0)
#                           simdnn::simdnn_static (static, pulls SLEEF, libm
#                           and threads through its interface)
#   pkg-config simdnn    -> -lsimdnn; --static adds -lsleef -lm -lpthread
# Both package files are relocatable: they find the prefix from their own
# location, so `cmake --install build --prefix DIR` works for any DIR.
include(CMakePackageConfigHelpers)

set(SIMDNN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/simdnn)

install(TARGETS simdnn simdnn_static EXPORT simdnnTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/simdnn
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(EXPORT simdnnTargets NAMESPACE simdnn:: FILE simdnnTargets.cmake
        DESTINATION ${SIMDNN_CMAKE_DIR})

configure_package_config_file(
    ${PROJECT_SOURCE_DIR}/cmake/simdnnConfig.cmake.in
    ${PROJECT_BINARY_DIR}/simdnnConfig.cmake
    INSTALL_DESTINATION ${SIMDNN_CMAKE_DIR})
write_basic_package_version_file(
    ${PROJECT_BINARY_DIR}/simdnnConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/simdnnConfig.cmake
              ${PROJECT_BINARY_DIR}/simdnnConfigVersion.cmake
        DESTINATION ${SIMDNN_CMAKE_DIR})

# simdnn.pc: prefix relative to the .pc file's own directory.
set(SIMDNN_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${SIMDNN_PC_DIR}")
  set(SIMDNN_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH SIMDNN_PC_UP /${SIMDNN_PC_DIR} /)
  string(REGEX REPLACE "/$" "" SIMDNN_PC_UP "${SIMDNN_PC_UP}")
  set(SIMDNN_PC_PREFIX "\${pcfiledir}/${SIMDNN_PC_UP}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/simdnn.pc.in
               ${PROJECT_BINARY_DIR}/simdnn.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/simdnn.pc DESTINATION ${SIMDNN_PC_DIR})
