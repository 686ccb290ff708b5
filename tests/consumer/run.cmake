# Driver of the consumer ctest cases (cmake -P), one step per MODE:
#   install       cmake --install the simdnn build into PREFIX (fresh)
#   cmake_shared  configure/build tests/consumer against PREFIX with
#                 find_package(simdnn), shared library; run C and C++
#   cmake_static  the same with simdnn::simdnn_static
#   pkgconfig     compile main.c and main.cpp with the flags of
#                 `pkg-config simdnn` (shared); run both
#   pkgconfig_static  `pkg-config --static simdnn` against libsimdnn.a
# Variables: MODE BUILD_DIR PREFIX SOURCE WORK C_COMPILER CXX_COMPILER
# FAMILIES, optional TOOLCHAIN, EMULATOR (;-list), GENERATOR.
cmake_minimum_required(VERSION 3.18)

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "consumer: failed (${rc}): ${cmd}")
  endif()
endfunction()

function(run_consumer exe)
  message(STATUS "consumer: running ${exe}")
  run_step(${EMULATOR} ${exe})
endfunction()

set(FAMILIES_CSV "${FAMILIES}")
string(REPLACE "," ";" FAMILIES "${FAMILIES}")
set(defs "")
foreach(family ${FAMILIES})
  string(TOUPPER ${family} FAMILY)
  list(APPEND defs -DCONSUMER_HAVE_${FAMILY}=1)
endforeach()

if(MODE STREQUAL "install")
  file(REMOVE_RECURSE ${PREFIX})
  run_step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
  foreach(f include/simdnn/simdnn.h)
    if(NOT EXISTS ${PREFIX}/${f})
      message(FATAL_ERROR "consumer: ${f} not installed")
    endif()
  endforeach()
  file(GLOB_RECURSE installed RELATIVE ${PREFIX} ${PREFIX}/*)
  list(SORT installed)
  string(REPLACE ";" "\n  " listing "${installed}")
  message(STATUS "installed into ${PREFIX}:\n  ${listing}")
  return()
endif()

if(MODE MATCHES "^cmake_(shared|static)$")
  set(work ${WORK}/${MODE})
  file(REMOVE_RECURSE ${work})
  set(static OFF)
  if(MODE STREQUAL "cmake_static")
    set(static ON)
  endif()
  set(args -S ${SOURCE} -B ${work} -DCMAKE_PREFIX_PATH=${PREFIX}
      -DCMAKE_BUILD_TYPE=Release -DSIMDNN_CONSUMER_STATIC=${static}
      -DSIMDNN_CONSUMER_FAMILIES=${FAMILIES_CSV}
      -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
  if(TOOLCHAIN)
    list(APPEND args -DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN})
  endif()
  if(GENERATOR)
    list(APPEND args -G ${GENERATOR})
  endif()
  run_step(${CMAKE_COMMAND} ${args})
  run_step(${CMAKE_COMMAND} --build ${work})
  run_consumer(${work}/consumer_c)
  run_consumer(${work}/consumer_cxx)
  return()
endif()

if(MODE MATCHES "^pkgconfig(_static)?$")
  find_program(PKG_CONFIG NAMES pkg-config pkgconf REQUIRED)
  file(GLOB_RECURSE pc ${PREFIX}/*/simdnn.pc)
  if(NOT pc)
    message(FATAL_ERROR "consumer: no simdnn.pc under ${PREFIX}")
  endif()
  list(GET pc 0 pc)
  get_filename_component(pcdir ${pc} DIRECTORY)
  set(ENV{PKG_CONFIG_PATH} ${pcdir})
  set(work ${WORK}/${MODE})
  file(REMOVE_RECURSE ${work})
  file(MAKE_DIRECTORY ${work})
  execute_process(COMMAND ${PKG_CONFIG} --cflags simdnn
                  OUTPUT_VARIABLE cflags OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer: pkg-config --cflags simdnn failed")
  endif()
  execute_process(COMMAND ${PKG_CONFIG} --variable=libdir simdnn
                  OUTPUT_VARIABLE libdir OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(MODE STREQUAL "pkgconfig")
    execute_process(COMMAND ${PKG_CONFIG} --libs simdnn
                    OUTPUT_VARIABLE libs OUTPUT_STRIP_TRAILING_WHITESPACE)
    separate_arguments(libs UNIX_COMMAND "${libs}")
    # The run-time search path of an uninstalled prefix; the library's own
    # dependency (SLEEF) resolves through its DT_NEEDED.
    list(APPEND libs -Wl,-rpath,${libdir})
  else()
    execute_process(COMMAND ${PKG_CONFIG} --static --libs simdnn
                    OUTPUT_VARIABLE libs OUTPUT_STRIP_TRAILING_WHITESPACE)
    separate_arguments(libs UNIX_COMMAND "${libs}")
    # Prefer libsimdnn.a over libsimdnn.so for -lsimdnn only.
    list(TRANSFORM libs REPLACE "^-lsimdnn$"
         "-Wl,-Bstatic;-lsimdnn;-Wl,-Bdynamic")
  endif()
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  message(STATUS "consumer: cflags ${cflags}; libs ${libs}")
  run_step(${C_COMPILER} -std=c11 -O2 ${cflags} ${defs}
           ${SOURCE}/main.c -o ${work}/consumer_c ${libs} -lm)
  run_step(${CXX_COMPILER} -std=c++11 -O2 ${cflags} ${defs}
           ${SOURCE}/main.cpp -o ${work}/consumer_cxx ${libs} -lm)
  if(MODE STREQUAL "pkgconfig_static")
    # Linked statically: the binary must not need libsimdnn.so.
    execute_process(COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C
                    ${READELF} -d ${work}/consumer_c OUTPUT_VARIABLE dyn)
    if(dyn MATCHES "libsimdnn")
      message(FATAL_ERROR "consumer: static link still needs libsimdnn.so")
    endif()
  endif()
  run_consumer(${work}/consumer_c)
  run_consumer(${work}/consumer_cxx)
  return()
endif()

message(FATAL_ERROR "consumer: unknown MODE '${MODE}'")
