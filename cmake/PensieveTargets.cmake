# pensieve_module(NAME SOURCES ... DEPS ...): the static library of one module, target
# pensieve_<NAME>, with src/ on the include path so headers are included as "<module>/x.hpp".
function(pensieve_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(pensieve_${name} STATIC ${ARG_SOURCES})
  target_include_directories(pensieve_${name} PUBLIC "${CMAKE_SOURCE_DIR}/src")
  target_link_libraries(pensieve_${name} PUBLIC ${ARG_DEPS})
endfunction()

# pensieve_test(NAME SOURCES ... DEPS ... LABELS ...): a GoogleTest executable whose tests are
# registered one by one with CTest. PENSIEVE_FIXTURES is compiled in so tests find ../shared.
function(pensieve_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    PENSIEVE_FIXTURES="${PENSIEVE_FIXTURES_DIR}"
    PENSIEVE_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    PENSIEVE_BINARY_DIR="${CMAKE_BINARY_DIR}")
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS "${ARG_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()
