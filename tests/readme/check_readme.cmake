# Keeps a document true (the README, docs/tutorial.md): every ```cpp block in it must
# compile against the headers, and one block must be each file of VERBATIM itself (the
# README's quick start is examples/quickstart.cpp, which CTest runs; the tutorial shows
# docs/library.hpp, which its blocks include from DOC_INCLUDE_DIR).
#
#   cmake -DREADME=<doc.md> -DVERBATIM=<file> -DINCLUDE_DIR=... [-DDOC_INCLUDE_DIR=...] -DCXX=... -DOUT_DIR=...
#         -DCXXFLAGS=<flag>|<flag>... [-DPCH_DIR=...] -P check_readme.cmake
#
# A block is compiled with -fsyntax-only CXXFLAGS -I INCLUDE_DIR [-I DOC_INCLUDE_DIR]. PCH_DIR,
# searched first, may hold precompiled headers (<header>.gch) built with those flags.

cmake_minimum_required(VERSION 3.21)
file(READ "${README}" text)
# VERBATIM: one file, or several separated by '|' (a ';' would split the CTest command).
# Their texts are read where compared: C++ is full of ';', which a CMake list splits on.
string(REPLACE "|" ";" verbatim_files "${VERBATIM}")
if(NOT CXXFLAGS)
  message(FATAL_ERROR "check_readme.cmake: -DCXXFLAGS=<flag>|<flag>... is required")
endif()
string(REPLACE "|" ";" cxxflags "${CXXFLAGS}")
set(verbatim_found "")
set(pch_include "")
if(PCH_DIR)
  set(pch_include -I "${PCH_DIR}")
endif()
set(doc_includes "")
if(DOC_INCLUDE_DIR)
  set(doc_includes -I "${DOC_INCLUDE_DIR}")
endif()
# Walk the blocks with string(FIND): C++ is full of ';' and '[', which CMake lists split on.
file(MAKE_DIRECTORY "${OUT_DIR}")
set(index 0)
set(rest "${text}")
while(TRUE)
  string(FIND "${rest}" "```cpp\n" open)
  if(open EQUAL -1)
    break()
  endif()
  math(EXPR body_start "${open} + 7")
  string(SUBSTRING "${rest}" ${body_start} -1 rest)
  string(FIND "${rest}" "```" close)
  if(close EQUAL -1)
    message(FATAL_ERROR "${README}: a ```cpp block is not closed")
  endif()
  string(SUBSTRING "${rest}" 0 ${close} code)
  math(EXPR after "${close} + 3")
  string(SUBSTRING "${rest}" ${after} -1 rest)
  foreach(f IN LISTS verbatim_files)
    file(READ "${f}" verbatim_text)
    if(code STREQUAL verbatim_text)
      list(APPEND verbatim_found "${f}")
    endif()
  endforeach()
  math(EXPR index "${index} + 1")
  set(source "${OUT_DIR}/readme_snippet_${index}.cpp")
  file(WRITE "${source}" "${code}")
  execute_process(COMMAND "${CXX}" -fsyntax-only ${cxxflags} ${pch_include} -I "${INCLUDE_DIR}" ${doc_includes} "${source}"
                  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${README} ```cpp block ${index} does not compile:\n${err}${out}")
  endif()
endwhile()
if(index EQUAL 0)
  message(FATAL_ERROR "${README} has no ```cpp block")
endif()
foreach(f IN LISTS verbatim_files)
  if(NOT f IN_LIST verbatim_found)
    message(FATAL_ERROR "${README}: no block is ${f} verbatim: copy the file into it")
  endif()
endforeach()
message(STATUS "${README}: ${index} C++ block(s) compile; ${VERBATIM} among them verbatim")
