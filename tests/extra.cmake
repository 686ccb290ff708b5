# Test cases beyond the per-family suites (included by tests/CMakeLists.txt):
#   abi.symbols          exported symbols, SONAME, hidden internals (issue 7)
#   consumer.*           install into a prefix, build tests/consumer three
#                        ways (find_package shared/static, pkg-config shared
#                        and static), in C and C++, and run it
#   threads.<isa>        first calls from many threads at once, split work
#                        bitwise identical (run under TSan by `make test`)
#   valgrind.<suite>.<isa>  memcheck over the scalar and avx2 suites
#                        (SIMDNN_VALGRIND_TESTS=ON; label "valgrind")
#   example.*            examples/, each checked against a naive reference
#   info.*               tools/simdnn-info under every cap (tools/)
# Every family-dependent piece only uses the families whose front-end
# (kernels/<family>/api.c) exists, so this file works while families land.

option(SIMDNN_VALGRIND_TESTS
       "Register valgrind memcheck runs of the scalar/avx2 suites" OFF)

set(SIMDNN_BUILT_FAMILIES "")
foreach(family ${SIMDNN_FAMILIES})
  if(EXISTS ${PROJECT_SOURCE_DIR}/kernels/${family}/api.c)
    list(APPEND SIMDNN_BUILT_FAMILIES ${family})
  endif()
endforeach()
set(SIMDNN_FAMILY_DEFS "")
foreach(family ${SIMDNN_BUILT_FAMILIES})
  string(TOUPPER ${family} FAMILY)
  list(APPEND SIMDNN_FAMILY_DEFS SIMDNN_HAVE_${FAMILY}=1)
endforeach()

# ---- ABI ----
find_program(SIMDNN_BASH bash REQUIRED)
set(SIMDNN_READELF "${CMAKE_READELF}")
if(NOT SIMDNN_READELF)
  find_program(SIMDNN_READELF NAMES readelf REQUIRED)
endif()
string(JOIN " " built_families_text ${SIMDNN_BUILT_FAMILIES})
add_test(NAME abi.symbols
         COMMAND ${SIMDNN_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/abi/check_symbols.sh
                 $<TARGET_FILE:simdnn> $<TARGET_FILE:simdnn_static>
                 ${PROJECT_SOURCE_DIR}/include/simdnn/simdnn.h
                 ${PROJECT_VERSION_MAJOR} ${CMAKE_NM} ${SIMDNN_READELF}
                 "${built_families_text}")
set_tests_properties(abi.symbols PROPERTIES LABELS abi)

# ---- install and out-of-tree consumers ----
# Not under sanitizers: an instrumented libsimdnn needs its runtime loaded
# first, which an ordinary consumer does not do.
if(NOT SIMDNN_SANITIZE)
  set(consumer_prefix ${CMAKE_BINARY_DIR}/consumer/prefix)
  string(JOIN "," families_csv ${SIMDNN_BUILT_FAMILIES})
  set(consumer_args
      -DBUILD_DIR=${CMAKE_BINARY_DIR} -DPREFIX=${consumer_prefix}
      -DSOURCE=${CMAKE_CURRENT_SOURCE_DIR}/consumer
      -DWORK=${CMAKE_BINARY_DIR}/consumer
      -DC_COMPILER=${CMAKE_C_COMPILER} -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
      -DREADELF=${SIMDNN_READELF} -DFAMILIES=${families_csv}
      "-DGENERATOR=${CMAKE_GENERATOR}")
  if(CMAKE_TOOLCHAIN_FILE)
    list(APPEND consumer_args -DTOOLCHAIN=${CMAKE_TOOLCHAIN_FILE})
  endif()
  if(CMAKE_CROSSCOMPILING_EMULATOR)
    string(REPLACE ";" "\\;" emulator "${CMAKE_CROSSCOMPILING_EMULATOR}")
    list(APPEND consumer_args "-DEMULATOR=${emulator}")
  endif()
  set(consumer_script ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run.cmake)
  add_test(NAME consumer.install
           COMMAND ${CMAKE_COMMAND} -DMODE=install ${consumer_args}
                   -P ${consumer_script})
  set_tests_properties(consumer.install PROPERTIES
                       FIXTURES_SETUP simdnn_installed LABELS consumer)
  foreach(mode cmake_shared cmake_static pkgconfig pkgconfig_static)
    add_test(NAME consumer.${mode}
             COMMAND ${CMAKE_COMMAND} -DMODE=${mode} ${consumer_args}
                     -P ${consumer_script})
    set_tests_properties(consumer.${mode} PROPERTIES
        FIXTURES_REQUIRED simdnn_installed LABELS consumer
        RESOURCE_LOCK simdnn_consumer TIMEOUT 600)
  endforeach()
endif()

# ---- threads ----
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/threads/test_threads.c)
  add_executable(test_threads threads/test_threads.c)
  target_compile_options(test_threads PRIVATE ${SIMDNN_WARNINGS})
  target_compile_definitions(test_threads PRIVATE ${SIMDNN_FAMILY_DEFS})
  target_link_libraries(test_threads PRIVATE simdnn_static Threads::Threads
                        m)
  # The cap comes from the environment, so the very first call of every
  # thread is also the library's first use (initialization under load).
  foreach(isa ${SIMDNN_TEST_ISAS})
    add_test(NAME threads.${isa} COMMAND test_threads)
    set_tests_properties(threads.${isa} PROPERTIES
        ENVIRONMENT "SIMDNN_MAX_ISA=${isa}" SKIP_RETURN_CODE 77
        LABELS threads TIMEOUT 600)
  endforeach()
endif()

# ---- valgrind memcheck of the scalar and AVX2 suites ----
if(SIMDNN_VALGRIND_TESTS)
  find_program(SIMDNN_VALGRIND valgrind)
  if(NOT SIMDNN_VALGRIND)
    message(WARNING "SIMDNN_VALGRIND_TESTS: valgrind not found")
  else()
    set(vg_isas scalar)
    if(SIMDNN_ARCH STREQUAL "x86_64")
      list(APPEND vg_isas avx2)
    endif()
    # Every suite executable of tests/CMakeLists.txt (test_<suite>, run
    # with --isa), whichever suites exist; test_threads has its own driver.
    get_property(vg_targets DIRECTORY PROPERTY BUILDSYSTEM_TARGETS)
    set(vg_suites "")
    foreach(target ${vg_targets})
      if(target MATCHES "^test_(.+)$" AND NOT target STREQUAL "test_threads")
        list(APPEND vg_suites ${CMAKE_MATCH_1})
      endif()
    endforeach()
    foreach(suite ${vg_suites})
      foreach(isa ${vg_isas})
        # No --track-origins: it doubles the run time (the suites already
        # take minutes under memcheck); add it by hand to locate an
        # uninitialised value once one is reported.
        add_test(NAME valgrind.${suite}.${isa}
                 COMMAND ${SIMDNN_VALGRIND} --tool=memcheck --error-exitcode=99
                         --leak-check=full --errors-for-leak-kinds=definite
                         --quiet $<TARGET_FILE:test_${suite}> --isa ${isa})
        # COST (seconds measured under memcheck): the longest suites start
        # first under ctest -j.
        set(cost 50)
        if(suite STREQUAL "softmax")
          set(cost 500)
        elseif(suite STREQUAL "batchnorm")
          set(cost 400)
        elseif(suite STREQUAL "posenc")
          set(cost 150)
        elseif(suite STREQUAL "dispatch")
          set(cost 1)
        endif()
        set_tests_properties(valgrind.${suite}.${isa} PROPERTIES
            SKIP_RETURN_CODE 77 LABELS valgrind TIMEOUT 1500 COST ${cost}
            ENVIRONMENT "SIMDNN_TEST_QUICK=1")
      endforeach()
    endforeach()
  endif()
endif()

# ---- examples ----
if(EXISTS ${PROJECT_SOURCE_DIR}/examples/CMakeLists.txt)
  add_subdirectory(${PROJECT_SOURCE_DIR}/examples
                   ${CMAKE_BINARY_DIR}/examples)
endif()

# ---- emulation: every test in this directory runs with the quick sizes
# under qemu (the harness shrinks repetitions, never cases).
if(CMAKE_CROSSCOMPILING_EMULATOR)
  get_property(all_tests DIRECTORY PROPERTY TESTS)
  foreach(t ${all_tests})
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT SIMDNN_TEST_QUICK=1)
  endforeach()
endif()
