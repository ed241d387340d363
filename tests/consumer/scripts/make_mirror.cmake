# A throwaway git mirror of this checkout that has the README's release tag, so the
# README's FetchContent snippet runs verbatim (only its URL is substituted) against the
# commit under test, whether or not the checkout itself carries the tag.
#
#   cmake -DSOURCE=<checkout> -DMIRROR=<dir.git> -DTAG=<vX.Y.Z> -P make_mirror.cmake

cmake_minimum_required(VERSION 3.21)
find_package(Git REQUIRED)
function(git)
  execute_process(COMMAND "${GIT_EXECUTABLE}" ${ARGN} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "git ${ARGN} failed: ${err}")
  endif()
endfunction()
file(REMOVE_RECURSE "${MIRROR}")
git(init --quiet --bare "${MIRROR}")
# HEAD itself, even when it is detached or on no branch (a CI checkout)
git(-C "${MIRROR}" fetch --quiet "${SOURCE}" HEAD)
git(-C "${MIRROR}" tag "${TAG}" FETCH_HEAD)
message(STATUS "mirror ${MIRROR}: ${TAG} is HEAD of ${SOURCE}")
