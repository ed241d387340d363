# A throwaway git mirror of this checkout shaped as the published repository is: the
# README's GIT_TAG (`main`) a branch at the commit under test, and no tags. So the README's
# FetchContent snippet runs verbatim (only its URL is substituted) against this commit,
# whatever branch or detached HEAD the checkout is on.
#
#   cmake -DSOURCE=<checkout> -DMIRROR=<dir.git> -DREF=<the README's GIT_TAG> -P make_mirror.cmake

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
git(-C "${MIRROR}" update-ref "refs/heads/${REF}" FETCH_HEAD)
git(-C "${MIRROR}" symbolic-ref HEAD "refs/heads/${REF}")
message(STATUS "mirror ${MIRROR}: branch ${REF} is HEAD of ${SOURCE}; no tags, as published")
