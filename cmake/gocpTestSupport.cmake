# Helpers for gocp's OWN targets (tests, examples, benchmarks). Nothing here
# touches the gocp::gocp interface target, so users never inherit our warnings
# or sanitizer flags.
#
#   gocp_target_defaults(<target>)
#       Warnings (+ -Werror when GOCP_WERROR) and GOCP_SANITIZE flags.
#
#   gocp_add_test_executable(<name> LABELS <label>... SOURCES <src>...
#                            [LIBRARIES <lib>...] [TEST_PREFIX <prefix>] [SPEC <spec>]
#                            [SINGLE_THREADED])
#       A Catch2 v2 test binary linked to gocp::gocp_compiled (gocp::gocp with
#       GOCP_TEST_HEADER_ONLY; LIBRARIES gocp::<component> likewise) and gocp_catch_main; each
#       TEST_CASE (that the Catch test spec SPEC selects, if given) becomes one CTest
#       test named "<prefix><case>" (prefix defaults to "<name>.") carrying LABELS.
#       Discovery runs when ctest starts (PRE_TEST), never at build time.
#       SINGLE_THREADED: neither the suite nor the library code it calls starts a thread
#       or a process, so a ThreadSanitizer build (GOCP_SANITIZE=thread) leaves it out.
#
#   gocp_catch_discover_tests(<target> TEST_PREFIX <prefix> [SPEC <spec>]
#                             [LABELS <label>...] [PROPERTIES <name> <value>...])
#       Registers <target>'s test cases (again) under another prefix, e.g. to run one
#       binary once per backend with an ENVIRONMENT property choosing it.
#
#   gocp_add_compile_fail_test(<name> SOURCE <src> [EXPECT <regex> [ONLY_ERROR]]
#                              [LABELS <label>...] [LIBRARIES <lib>...])
#       A CTest test that compiles <src> and passes only if compilation fails
#       (and, with EXPECT, the compiler output matches <regex>, e.g. the text of
#       a static_assert; with ONLY_ERROR, that is the one error). Always labelled "compile".
#
#   gocp_add_header_check()
#       Every header under include/gocp/ compiles on its own: one generated TU per
#       header, all in object library gocp_header_check (built by default, so a
#       broken header fails the build naming it), plus gocp_header_check_<component>
#       for the headers that need an optional component; each has a CTest test
#       compile.headers[.<component>] (label "compile") that builds it.
#
#   gocp_add_benchmark(<name> SOURCES <src>... [LIBRARIES <lib>...])
#       A Google Benchmark executable (with benchmark::benchmark_main). Built by
#       default, never registered with CTest.
include_guard(GLOBAL)

# Flattens a parsed list, so LABELS "core;sqlite" and LABELS core sqlite mean
# the same (cmake_parse_arguments(PARSE_ARGV) keeps quoted ';' escaped).
function(_gocp_flatten_list var)
  set(out "")
  foreach(item IN LISTS ${var})
    list(APPEND out ${item})
  endforeach()
  set(${var} "${out}" PARENT_SCOPE)
endfunction()

function(gocp_target_defaults target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(GOCP_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NOT GOCP_SANITIZE STREQUAL "address")
    # GCC collects its garbage less often (up to 1.5 GB a test TU instead of 1.1): a test
    # TU compiles in 22% less time at -O0 (34.1 -> 26.5 s, test_relations), 11% under TSan;
    # under ASan+UBSan it gains nothing and doubles the memory, so not there.
    target_compile_options(${target} PRIVATE --param=ggc-min-expand=400 --param=ggc-min-heapsize=2097152)
  endif()
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /permissive-)
    if(GOCP_WERROR)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  endif()

  if(GOCP_SANITIZE STREQUAL "")
    return()
  endif()
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "GOCP_SANITIZE=${GOCP_SANITIZE} needs GCC or Clang")
  endif()
  if(GOCP_SANITIZE STREQUAL "address")
    set(san -fsanitize=address,undefined -fno-sanitize-recover=undefined)
    set(optimize -O0)
  elseif(GOCP_SANITIZE STREQUAL "thread")
    set(san -fsanitize=thread)
    set(optimize -Og)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
      # GCC 12+ warns (-Wtsan) about std::atomic_thread_fence, which TSan does
      # not model; keep the warning visible but never fatal.
      target_compile_options(${target} PRIVATE -Wno-error=tsan)
    endif()
  endif()
  # -g1 (line tables) is all a sanitizer's stack trace shows. ASan+UBSan at -O0: a test TU
  # compiles in 78% of -Og's time (GCC 12, test_relations: 66 vs 85 s of CPU; -O1 -g took
  # 100 s), and the suites, which wait on databases and servers, run about as fast. TSan at
  # -Og (37 s; -O0 saves 8%), where the threaded suites' CPU counts more.
  target_compile_options(${target} PRIVATE ${san} -fno-omit-frame-pointer $<$<CONFIG:Debug>:${optimize} -g1>)
  target_link_options(${target} PRIVATE ${san})
endfunction()

# PRE_TEST discovery for Catch2 v2. Debian's Catch2 2.13 Catch.cmake only knows
# POST_BUILD discovery (it silently ignores DISCOVERY_MODE), which would run
# every sanitized test binary at build time. This wrapper writes a CTest include
# file that, when ctest starts, re-lists the binary's test cases only if the
# binary is newer than the cached list, reusing Catch2's own CatchAddTests.cmake
# (the script behind catch_discover_tests) to generate the add_test() calls.
function(gocp_catch_discover_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "TEST_PREFIX;WORKING_DIRECTORY;SPEC" "LABELS;PROPERTIES")
  if(NOT DEFINED _CATCH_DISCOVER_TESTS_SCRIPT)
    message(FATAL_ERROR "gocp_catch_discover_tests: include(Catch) after find_package(Catch2) first")
  endif()
  _gocp_flatten_list(arg_LABELS)
  if(NOT arg_WORKING_DIRECTORY)
    set(arg_WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
  endif()

  string(SHA1 args_hash "${arg_TEST_PREFIX}|${arg_WORKING_DIRECTORY}|${arg_SPEC}")
  string(SUBSTRING "${args_hash}" 0 7 args_hash)
  set(base "${CMAKE_CURRENT_BINARY_DIR}/${target}")
  set(tests_file "${base}_tests-${args_hash}-$<CONFIG>.cmake")

  # Test properties applied after discovery; LABELS kept as one (list) value.
  set(props "")
  if(arg_LABELS)
    string(APPEND props " LABELS [==[${arg_LABELS}]==]")
  endif()
  set(plist ${arg_PROPERTIES})
  while(plist)
    list(POP_FRONT plist pname pvalue)
    string(APPEND props " ${pname} [==[${pvalue}]==]")
  endwhile()

  set(content "# Generated by gocp_catch_discover_tests(${target}); do not edit.
set(_gocp_exe [==[$<TARGET_FILE:${target}>]==])
set(_gocp_tests_file [==[${tests_file}]==])
if(EXISTS \"\${_gocp_exe}\")
  if(NOT EXISTS \"\${_gocp_tests_file}\" OR \"\${_gocp_exe}\" IS_NEWER_THAN \"\${_gocp_tests_file}\")
    set(TEST_TARGET [==[${target}]==])
    set(TEST_EXECUTABLE \"\${_gocp_exe}\")
    set(TEST_EXECUTOR \"\")
    set(TEST_WORKING_DIR [==[${arg_WORKING_DIRECTORY}]==])
    set(TEST_SPEC [==[${arg_SPEC}]==])
    set(TEST_EXTRA_ARGS -w NoTests)  # a name that matches no test case fails instead of passing
    set(TEST_PROPERTIES \"\")
    set(TEST_PREFIX [==[${arg_TEST_PREFIX}]==])
    set(TEST_SUFFIX \"\")
    set(TEST_LIST [==[${target}_${args_hash}_TESTS]==])
    set(TEST_REPORTER \"\")
    set(TEST_OUTPUT_DIR \"\")
    set(TEST_OUTPUT_PREFIX \"\")
    set(TEST_OUTPUT_SUFFIX \"\")
    set(CTEST_FILE \"\${_gocp_tests_file}\")
    include([==[${_CATCH_DISCOVER_TESTS_SCRIPT}]==])
  endif()
  include(\"\${_gocp_tests_file}\")
  if(${target}_${args_hash}_TESTS)
    set_tests_properties(\${${target}_${args_hash}_TESTS} PROPERTIES${props})
  endif()
else()
  add_test([==[${arg_TEST_PREFIX}NOT_BUILT]==] [==[${target}_NOT_BUILT]==])
  set_tests_properties([==[${arg_TEST_PREFIX}NOT_BUILT]==] PROPERTIES${props})
endif()
")

  get_property(multi_config GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  set(include_file "${base}_include-${args_hash}.cmake")
  if(multi_config)
    file(GENERATE OUTPUT "${base}_include-${args_hash}-$<CONFIG>.cmake" CONTENT "${content}")
    file(WRITE "${include_file}"
      "include(\"${base}_include-${args_hash}-\${CTEST_CONFIGURATION_TYPE}.cmake\")\n")
  else()
    file(GENERATE OUTPUT "${base}_include-${args_hash}-single.cmake" CONTENT "${content}")
    file(WRITE "${include_file}" "include(\"${base}_include-${args_hash}-single.cmake\")\n")
  endif()
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endfunction()

# The tests link the compiled mode (gocp::gocp_compiled, gocp::<component>_compiled) unless
# GOCP_TEST_HEADER_ONLY is ON: the library's non-template code is then compiled once for
# every test binary, not once per test TU. The header-only mode stays covered by the
# examples, gocp_header_check, the compile-fail and consumer tests.
option(GOCP_TEST_HEADER_ONLY "Link gocp's tests to the header-only gocp::gocp instead of gocp::gocp_compiled" OFF)
if(GOCP_TEST_HEADER_ONLY)
  set(GOCP_TEST_LIBRARY gocp::gocp)
else()
  set(GOCP_TEST_LIBRARY gocp::gocp_compiled)
endif()

# Sets <out> to the library a test links for `lib`: gocp::<component> becomes
# gocp::<component>_compiled in the tests' compiled mode, when that target exists.
function(gocp_test_library out lib)
  if(NOT GOCP_TEST_HEADER_ONLY AND lib MATCHES "^gocp::([a-z]+)$" AND TARGET ${lib}_compiled)
    set(lib ${lib}_compiled)
  endif()
  set(${out} ${lib} PARENT_SCOPE)
endfunction()

function(gocp_add_test_executable name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "SINGLE_THREADED" "TEST_PREFIX;SPEC" "LABELS;SOURCES;LIBRARIES")
  if(arg_SINGLE_THREADED AND GOCP_SANITIZE STREQUAL "thread")
    return()  # nothing for ThreadSanitizer to watch: CI's TSan time goes to the suites with threads
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "gocp_add_test_executable(${name}): SOURCES is required")
  endif()
  _gocp_flatten_list(arg_LABELS)
  if(NOT arg_LABELS)
    message(FATAL_ERROR "gocp_add_test_executable(${name}): LABELS is required (tests are run by area)")
  endif()
  if(NOT DEFINED arg_TEST_PREFIX)
    set(arg_TEST_PREFIX "${name}.")
  endif()
  if(NOT TARGET gocp_catch_main)
    message(FATAL_ERROR "gocp_add_test_executable(${name}): gocp_catch_main is defined in tests/CMakeLists.txt")
  endif()

  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE ${GOCP_TEST_LIBRARY} gocp_catch_main)
  foreach(lib IN LISTS arg_LIBRARIES)
    gocp_test_library(lib "${lib}")
    target_link_libraries(${name} PRIVATE ${lib})
  endforeach()
  gocp_target_defaults(${name})
  gocp_catch_discover_tests(${name} TEST_PREFIX "${arg_TEST_PREFIX}" SPEC "${arg_SPEC}" LABELS ${arg_LABELS})
endfunction()

# The compiler's flags for a must-not-compile test: <target>'s include directories,
# definitions and options (its links' usage requirements included), as one list
# (for a COMMAND_EXPAND_LISTS command: $<SEMICOLON> splits once evaluated).
function(_gocp_compile_fail_flags target out)
  set(includes "$<TARGET_PROPERTY:${target},INCLUDE_DIRECTORIES>")
  set(definitions "$<TARGET_PROPERTY:${target},COMPILE_DEFINITIONS>")
  set(${out} -std=c++20
             "$<$<BOOL:${includes}>:-I$<JOIN:${includes},$<SEMICOLON>-I>>"
             "$<$<BOOL:${definitions}>:-D$<JOIN:${definitions},$<SEMICOLON>-D>>"
             "$<TARGET_PROPERTY:${target},COMPILE_OPTIONS>" PARENT_SCOPE)
endfunction()

# gocp_precompile_header(<target> HEADER <header> AS <file> FLAGS <flag>...)
# Writes <file>, which only includes <header>, and builds GCC's precompiled <file>.gch
# beside it as <target> (part of the default build), with FLAGS (generator expressions
# allowed): those of the compiles that will use it, or GCC ignores it and reads <file>,
# that is <header>. A compile uses it when its first #include finds <file> (or when it is
# given -include <file>). Rebuilt when anything the header includes changes.
function(gocp_precompile_header target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "HEADER;AS" "FLAGS")
  # CONFIGURE rewrites a file only when its text changes: a reconfigure leaves the PCH built.
  # (A header compiled directly would warn "#pragma once in main file".)
  file(CONFIGURE OUTPUT "${arg_AS}" CONTENT "#include \"${arg_HEADER}\"\n")
  get_filename_component(name "${arg_HEADER}" NAME)
  add_custom_command(OUTPUT "${arg_AS}.gch"
    COMMAND "${CMAKE_CXX_COMPILER}" ${arg_FLAGS} -x c++-header "${arg_AS}" -o "${arg_AS}.gch" -MD -MF "${arg_AS}.d"
    DEPFILE "${arg_AS}.d"
    COMMENT "Precompiling ${name} for ${target}"
    COMMAND_EXPAND_LISTS VERBATIM)
  add_custom_target(${target} ALL DEPENDS "${arg_AS}.gch")
endfunction()

# Most must-not-compile tests include compile_fail/models.hpp, that is all of gocp: GCC
# parsed it in 4 of each test's 6.5 s. Precompiled once in the build (14 s), with the
# tests' own flags, it is force-included (-include <this>/models.hpp finds models.hpp.gch
# beside it; GCC falls back to the header itself when the PCH does not fit the flags), and
# a test takes 2.4 s. The file's own #include "models.hpp" is then a no-op (#pragma once).
# Returns in `out` the flag that force-includes it, or nothing where it does not apply.
function(_gocp_compile_fail_models_pch out)
  set(${out} "" PARENT_SCOPE)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    return()
  endif()
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/compile_fail_pch")
  set(stub "${dir}/models.hpp")
  if(NOT TARGET gocp_compile_fail_pch)
    file(CONFIGURE OUTPUT "${dir}/flags.cpp" CONTENT "// only carries the flags the models' PCH is built with\n")
    add_library(gocp_compile_fail_pch_flags OBJECT EXCLUDE_FROM_ALL "${dir}/flags.cpp")
    target_link_libraries(gocp_compile_fail_pch_flags PRIVATE gocp::gocp)
    gocp_target_defaults(gocp_compile_fail_pch_flags)
    _gocp_compile_fail_flags(gocp_compile_fail_pch_flags flags)
    gocp_precompile_header(gocp_compile_fail_pch HEADER "${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/models.hpp"
                           AS "${stub}" FLAGS ${flags})
  endif()
  set(${out} -include "${stub}" PARENT_SCOPE)
endfunction()

function(gocp_add_compile_fail_test name)
  if(NOT GOCP_COMPILE_CHECKS)
    return()  # checks of what the compiler accepts: the same under every sanitizer
  endif()
  cmake_parse_arguments(PARSE_ARGV 1 arg "ONLY_ERROR" "SOURCE;EXPECT" "LABELS;LIBRARIES")
  if(NOT arg_SOURCE)
    message(FATAL_ERROR "gocp_add_compile_fail_test(${name}): SOURCE is required")
  endif()
  add_library(${name} OBJECT EXCLUDE_FROM_ALL ${arg_SOURCE})
  set_target_properties(${name} PROPERTIES EXCLUDE_FROM_DEFAULT_BUILD TRUE)
  target_link_libraries(${name} PRIVATE gocp::gocp ${arg_LIBRARIES})
  gocp_target_defaults(${name})
  set(models_pch "")
  file(READ "${CMAKE_CURRENT_SOURCE_DIR}/${arg_SOURCE}" source_text)
  if(NOT arg_LIBRARIES AND source_text MATCHES "#include \"models\\.hpp\"")
    _gocp_compile_fail_models_pch(models_pch)
  endif()
  _gocp_flatten_list(arg_LABELS)
  set(labels compile ${arg_LABELS})
  list(REMOVE_DUPLICATES labels)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    # The compiler itself, with the object library's flags: -fsyntax-only still
    # instantiates templates, so every static_assert fires, and these tests run in parallel.
    _gocp_compile_fail_flags(${name} flags)
    add_test(NAME ${name}
      COMMAND "${CMAKE_CXX_COMPILER}" ${flags} -fsyntax-only ${models_pch} "${CMAKE_CURRENT_SOURCE_DIR}/${arg_SOURCE}"
      COMMAND_EXPAND_LISTS)
    set_tests_properties(${name} PROPERTIES LABELS "${labels}")
  else()
    add_test(NAME ${name}
      COMMAND "${CMAKE_COMMAND}" --build "${CMAKE_BINARY_DIR}" --target ${name} --config $<CONFIG>)
    # Two builds of the same tree at once would race on the build system itself.
    set_tests_properties(${name} PROPERTIES LABELS "${labels}" RESOURCE_LOCK gocp_build_tree)
  endif()
  if(arg_EXPECT)
    # Exit code is ignored when a pass regex is set: the build must fail AND say this.
    set_tests_properties(${name} PROPERTIES PASS_REGULAR_EXPRESSION "${arg_EXPECT}")
    if(arg_ONLY_ERROR)  # and it is the compiler's only error ('.' matches newlines too)
      set_tests_properties(${name} PROPERTIES FAIL_REGULAR_EXPRESSION "error:.*error:")
    endif()
  else()
    set_tests_properties(${name} PROPERTIES WILL_FAIL TRUE)
  endif()
endfunction()

function(gocp_add_benchmark name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;LIBRARIES")
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "gocp_add_benchmark(${name}): SOURCES is required")
  endif()
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE gocp::gocp benchmark::benchmark_main ${arg_LIBRARIES})
  gocp_target_defaults(${name})
endfunction()

# detail/ headers are checked too: public headers include them in every order,
# and the headers are being moved around (spi/, backends/), so an internal header
# that leans on its includer's includes is the bug this check is for.
function(gocp_add_header_check)
  if(NOT GOCP_COMPILE_CHECKS)
    return()
  endif()
  set(include_dir "${PROJECT_SOURCE_DIR}/include")
  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/header_check")
  # CONFIGURE_DEPENDS: an added, moved or removed header re-runs the configure.
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS RELATIVE "${include_dir}" "${include_dir}/gocp/*.hpp")
  list(SORT headers)
  get_property(components GLOBAL PROPERTY GOCP_DECLARED_COMPONENTS)

  set(sources_core "")
  set(tus "")
  set(owners "")
  foreach(header IN LISTS headers)
    set(owner core)
    string(REGEX REPLACE "^gocp/" "" rel "${header}")
    foreach(comp IN LISTS components)
      get_property(regex GLOBAL PROPERTY GOCP_COMPONENT_${comp}_HEADERS)
      if(rel MATCHES "${regex}")
        set(owner ${comp})
        break()
      endif()
    endforeach()
    if(NOT owner STREQUAL "core" AND NOT TARGET gocp::${owner})
      message(STATUS "gocp: header check skips <${header}> (gocp::${owner} not built)")
      continue()
    endif()
    # Twice: the second include checks the include guard / #pragma once.
    set(tu "${out_dir}/${header}.cpp")
    file(CONFIGURE OUTPUT "${tu}" CONTENT "#include <${header}>\n#include <${header}>\n" @ONLY)
    list(APPEND sources_${owner} "${tu}")
    list(APPEND tus "${tu}")
    list(APPEND owners ${owner})
  endforeach()
  # TUs of headers that moved away (file(CONFIGURE) leaves unchanged ones untouched,
  # so nothing is recompiled for a reconfigure).
  file(GLOB_RECURSE stale "${out_dir}/*.cpp")
  foreach(tu IN LISTS stale)
    if(NOT tu IN_LIST tus)
      file(REMOVE "${tu}")
    endif()
  endforeach()

  list(REMOVE_DUPLICATES owners)
  foreach(owner IN LISTS owners)
    if(owner STREQUAL "core")
      set(target gocp_header_check)
      set(test compile.headers)
      set(libs gocp::gocp)
    else()
      set(target gocp_header_check_${owner})
      set(test compile.headers.${owner})
      set(libs gocp::${owner})
    endif()
    add_library(${target} OBJECT ${sources_${owner}})
    target_link_libraries(${target} PRIVATE ${libs})
    gocp_target_defaults(${target})
    add_test(NAME ${test}
      COMMAND "${CMAKE_COMMAND}" --build "${CMAKE_BINARY_DIR}" --target ${target} --config $<CONFIG>)
    set_tests_properties(${test} PROPERTIES LABELS compile RESOURCE_LOCK gocp_build_tree)
  endforeach()
endfunction()
