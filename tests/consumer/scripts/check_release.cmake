# The version is written in three places; they must agree: project(VERSION) in
# CMakeLists.txt (passed as VERSION), the README's find_package version, and CHANGELOG.md's
# newest release heading. The README's FetchContent GIT_TAG names what the published
# repository carries -- the `main` branch, no tags -- never a release tag that does not exist.
#
#   cmake -DVERSION=<x.y.z> -DREADME=<README.md> -DCHANGELOG=<CHANGELOG.md> -P check_release.cmake

cmake_minimum_required(VERSION 3.21)
file(READ "${README}" readme)
if(NOT readme MATCHES "GIT_TAG[ ]+([^ \n)]+)")
  message(FATAL_ERROR "README.md: no GIT_TAG in its FetchContent snippet")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL "main")
  message(FATAL_ERROR "README.md fetches GIT_TAG ${CMAKE_MATCH_1}, but the published repository carries "
                      "the main branch and no tags: `GIT_TAG main` (pinning by commit hash is explained beside it)")
endif()
if(NOT readme MATCHES "find_package\\(gocp ([0-9.]+)")
  message(FATAL_ERROR "README.md: no `find_package(gocp <version>` snippet")
endif()
if(NOT VERSION VERSION_GREATER_EQUAL CMAKE_MATCH_1)
  message(FATAL_ERROR "README.md asks find_package for ${CMAKE_MATCH_1}, newer than ${VERSION}")
endif()
file(READ "${CHANGELOG}" changelog)
if(NOT changelog MATCHES "\n## \\[([0-9]+\\.[0-9]+\\.[0-9]+)\\]")
  message(FATAL_ERROR "CHANGELOG.md: no `## [x.y.z]` release heading")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL VERSION)
  message(FATAL_ERROR "CHANGELOG.md's newest release is ${CMAKE_MATCH_1}, but project(VERSION) is ${VERSION}")
endif()
message(STATUS "version ${VERSION}: CMakeLists.txt, README.md and CHANGELOG.md agree")
