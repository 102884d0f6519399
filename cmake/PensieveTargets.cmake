# Compiles the target's sources five at a time as one unit (a unity build: headers such as
# nlohmann/json, Beast and GoogleTest are compiled once for the five; the release build went from
# 1,107 s to 596 s, BENCHMARKS.md). `alone` names sources compiled by themselves, whose file-local
# names clash with another file's; CMake also keeps sources with options of their own (the SIMD
# variants) out of the units.
function(pensieve_unity_build target)
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 5)
  if(ARGN)
    set_source_files_properties(${ARGN} TARGET_DIRECTORY ${target} PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
  endif()
endfunction()

# pensieve_module(NAME SOURCES ... [ALONE ...] DEPS ...): the static library of one module, target
# pensieve_<NAME>, with src/ on the include path so headers are included as "<module>/x.hpp".
# Built through pensieve_unity_build, with the ALONE sources by themselves.
function(pensieve_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;ALONE;DEPS" ${ARGN})
  add_library(pensieve_${name} STATIC ${ARG_SOURCES} ${ARG_ALONE})
  pensieve_unity_build(pensieve_${name} ${ARG_ALONE})
  target_include_directories(pensieve_${name} PUBLIC "${CMAKE_SOURCE_DIR}/src")
  target_link_libraries(pensieve_${name} PUBLIC ${ARG_DEPS})
endfunction()

# Test code is compiled without optimisation: the code under test lives in the module libraries,
# which keep the build's flags, and test files compile twice as fast this way.
set(PENSIEVE_TEST_COMPILE_OPTIONS -O0)
set(PENSIEVE_TEST_DEFINITIONS
  PENSIEVE_FIXTURES="${PENSIEVE_FIXTURES_DIR}"
  PENSIEVE_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
  PENSIEVE_BINARY_DIR="${CMAKE_BINARY_DIR}")

# GoogleTest and nlohmann/json cost ~5 s of parsing in every test file; one precompiled header,
# shared by all test executables, pays that once per build.
function(pensieve_test_precompiled_headers)
  if(TARGET pensieve_test_pch)
    return()
  endif()
  add_library(pensieve_test_pch OBJECT "${CMAKE_SOURCE_DIR}/cmake/test_pch.cpp")
  target_link_libraries(pensieve_test_pch PRIVATE GTest::gtest GTest::gmock nlohmann_json::nlohmann_json)
  target_compile_definitions(pensieve_test_pch PRIVATE ${PENSIEVE_TEST_DEFINITIONS})
  target_compile_options(pensieve_test_pch PRIVATE ${PENSIEVE_TEST_COMPILE_OPTIONS})
  target_precompile_headers(pensieve_test_pch PRIVATE
    <gtest/gtest.h> <gmock/gmock.h> <nlohmann/json.hpp>
    <string> <string_view> <vector> <map> <memory> <optional> <filesystem> <fstream>)
endfunction()

# pensieve_test(NAME SOURCES ... DEPS ... LABELS ...): a GoogleTest executable whose tests are
# registered one by one with CTest. PENSIEVE_FIXTURES is compiled in so tests find ../shared.
# Built through pensieve_unity_build, with the ALONE sources by themselves.
function(pensieve_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;ALONE;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${name} ${ARG_SOURCES} ${ARG_ALONE})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock
    nlohmann_json::nlohmann_json)
  target_compile_definitions(${name} PRIVATE ${PENSIEVE_TEST_DEFINITIONS})
  target_compile_options(${name} PRIVATE ${PENSIEVE_TEST_COMPILE_OPTIONS})
  pensieve_test_precompiled_headers()
  target_precompile_headers(${name} REUSE_FROM pensieve_test_pch)
  pensieve_unity_build(${name} ${ARG_ALONE})
  if(PENSIEVE_SANITIZE)
    # Under the sanitizers a test process takes ~0.3 s to start and to check for leaks at exit,
    # which over a thousand tests one by one is minutes of CI: there each executable runs whole,
    # and its output names any test that fails.
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 1500)
  else()
    gtest_discover_tests(${name}
      DISCOVERY_MODE PRE_TEST
      # The slowest test takes ~30 s: a hang fails in minutes, not CTest's default 25.
      PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300
      DISCOVERY_TIMEOUT 60)
  endif()
endfunction()
