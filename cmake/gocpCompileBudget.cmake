# The compile-cost budget of one translation unit (CTest `compile.quickstart_budget*`):
# compiles SOURCE once under /usr/bin/time and fails when its CPU time (user + system) or
# its peak memory exceeds the budget. CPU time, not wall time: CTest runs tests in
# parallel on a shared machine, which stretches the wall clock but hardly the CPU time.
# Run as a script:
#
#   cmake -DCXX=<compiler> -DSOURCE=<file.cpp> -DINCLUDE_DIR=<dir> [-DDEFINES=A;B]
#         -DFLAGS=-O0 -DMAX_CPU_S=<seconds> -DMAX_MB=<MB> -DOUT=<object> -P cmake/gocpCompileBudget.cmake
#
# The budgets (tests/CMakeLists.txt) are about 1.5x what GCC 12 took on a 2-core CI machine
# when they were set: generous enough for noise, tight enough that a change making every
# user's translation unit much dearer fails. scripts/compile_cost measures the same TUs
# with per-header detail and against sqlite_orm.
foreach(var CXX SOURCE INCLUDE_DIR MAX_CPU_S MAX_MB OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "gocpCompileBudget: pass -D${var}=...")
  endif()
endforeach()
set(time_program /usr/bin/time)
if(NOT EXISTS "${time_program}")
  message(FATAL_ERROR "gocpCompileBudget: ${time_program} not found (Debian: apt-get install time; .ci/install-deps does)")
endif()
set(defines "")
foreach(d IN LISTS DEFINES)
  list(APPEND defines "-D${d}")
endforeach()
execute_process(
  COMMAND "${time_program}" -f "gocp-budget %e %U %S %M" "${CXX}" -std=c++20 ${FLAGS} ${defines} -I "${INCLUDE_DIR}"
          -c "${SOURCE}" -o "${OUT}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gocpCompileBudget: ${SOURCE} did not compile:\n${out}${err}")
endif()
if(NOT err MATCHES "gocp-budget ([0-9.]+) ([0-9.]+) ([0-9.]+) ([0-9]+)")
  message(FATAL_ERROR "gocpCompileBudget: no figures from ${time_program}:\n${err}")
endif()
set(wall "${CMAKE_MATCH_1}")
set(user "${CMAKE_MATCH_2}")
set(sys "${CMAKE_MATCH_3}")
math(EXPR peak_mb "${CMAKE_MATCH_4} / 1024")
# CMake's math() has no fractions: CPU time in tenths of a second
string(REGEX REPLACE "^([0-9]+)\\.([0-9]).*$" "\\1\\2" user_ds "${user}")
string(REGEX REPLACE "^([0-9]+)\\.([0-9]).*$" "\\1\\2" sys_ds "${sys}")
math(EXPR cpu_ds "${user_ds} + ${sys_ds}")
math(EXPR cpu_whole "${cpu_ds} / 10")
math(EXPR cpu_tenth "${cpu_ds} % 10")
math(EXPR max_ds "${MAX_CPU_S} * 10")
set(figures "${cpu_whole}.${cpu_tenth} s CPU (budget ${MAX_CPU_S} s; wall ${wall} s), peak ${peak_mb} MB (budget ${MAX_MB} MB)")
get_filename_component(name "${SOURCE}" NAME)
if(cpu_ds GREATER max_ds OR peak_mb GREATER MAX_MB)
  message(FATAL_ERROR "gocp: compiling ${name} ${FLAGS} ${defines} took ${figures}: over budget. "
                      "Find the cause with scripts/compile_cost (per header) or -ftime-trace (clang++-14); raise the "
                      "budget in tests/CMakeLists.txt only for a cost that buys something, saying so in the commit.")
endif()
message(STATUS "gocp: compiling ${name} ${FLAGS} ${defines} took ${figures}: within budget")
