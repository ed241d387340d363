# Checks that every include between gocp's headers goes down the layers (CTest
# `compile.layers`). Run as a script:
#
#   cmake -DGOCP_INCLUDE_DIR=<dir holding gocp/> -P cmake/gocpCheckLayers.cmake
#
# The layers, lowest first. A header belongs to the first layer one of whose entries
# is its path (below gocp/) or a folder above it. A header may include headers of its
# own layer and of the layers below; the ground floor `detail/` may include nothing of
# gocp outside `detail/`. A layer's own internals live in `<layer folder>/detail/`
# (cache/detail, backends/detail, orm/detail), so they take their layer's rank.
set(GOCP_LAYERS
  "detail: detail/"
  "vocabulary: errors.hpp events.hpp field_traits.hpp value.hpp dialect.hpp model.hpp model/ query.hpp aggregates.hpp stats.hpp"
  "spi: spi/"
  "db: db/"
  "cache: cache/"
  "backends: backends/"
  "orm: queryset.hpp executor.hpp grouping.hpp object_cursor.hpp bulk_create.hpp from_cache.hpp schema.hpp schema-inl.hpp policy.hpp repository.hpp relations.hpp relations/ policies/ orm/"
  "umbrella: gocp.hpp")

if(NOT GOCP_INCLUDE_DIR)
  message(FATAL_ERROR "gocpCheckLayers: pass -DGOCP_INCLUDE_DIR=<the folder that holds gocp/>")
endif()
get_filename_component(root "${GOCP_INCLUDE_DIR}/gocp" ABSOLUTE)

# Sets <out_rank> and <out_name> to the layer of `rel` (a path below gocp/), or -1.
function(_gocp_layer_of rel out_rank out_name)
  set(rank 0)
  foreach(layer IN LISTS GOCP_LAYERS)
    string(REGEX MATCH "^([a-z]+): (.*)$" _ "${layer}")
    set(name "${CMAKE_MATCH_1}")
    string(REPLACE " " ";" entries "${CMAKE_MATCH_2}")
    foreach(entry IN LISTS entries)
      string(LENGTH "${entry}" n)
      string(SUBSTRING "${rel}" 0 ${n} head)
      if((entry MATCHES "/$" AND head STREQUAL entry) OR rel STREQUAL entry)
        set(${out_rank} ${rank} PARENT_SCOPE)
        set(${out_name} ${name} PARENT_SCOPE)
        return()
      endif()
    endforeach()
    math(EXPR rank "${rank} + 1")
  endforeach()
  set(${out_rank} -1 PARENT_SCOPE)
  set(${out_name} "" PARENT_SCOPE)
endfunction()

file(GLOB_RECURSE headers RELATIVE "${root}" "${root}/*.hpp")
list(SORT headers)
set(errors "")
set(arrows 0)
foreach(rel IN LISTS headers)
  _gocp_layer_of("${rel}" rank name)
  if(rank EQUAL -1)
    string(APPEND errors "  gocp/${rel} is in no layer: add it (or its folder) to GOCP_LAYERS in cmake/gocpCheckLayers.cmake\n")
    continue()
  endif()
  get_filename_component(dir "${rel}" DIRECTORY)
  file(STRINGS "${root}/${rel}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]gocp/|^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line IN LISTS lines)
    if(line MATCHES "#[ \t]*include[ \t]*<gocp/([^>]+)>")
      set(target "${CMAKE_MATCH_1}")
    elseif(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
      if(dir STREQUAL "")
        set(target "${CMAKE_MATCH_1}")
      else()
        set(target "${dir}/${CMAKE_MATCH_1}")
      endif()
      cmake_path(NORMAL_PATH target)
    else()
      continue()
    endif()
    math(EXPR arrows "${arrows} + 1")
    _gocp_layer_of("${target}" target_rank target_name)
    if(target_rank EQUAL -1)
      string(APPEND errors "  gocp/${rel} includes gocp/${target}, which is in no layer (or not a gocp header)\n")
    elseif(rel MATCHES "^detail/" AND NOT target MATCHES "^detail/")
      string(APPEND errors "  gocp/${rel} (detail/, the ground floor) includes gocp/${target} (layer ${target_name}): "
                           "detail/ may include only detail/; move the header beside the layer it serves, "
                           "as <layer>/detail/\n")
    elseif(target_rank GREATER rank)
      string(APPEND errors "  gocp/${rel} (layer ${name}) includes gocp/${target} (layer ${target_name}), "
                           "which is above it: includes go down only\n")
    endif()
  endforeach()
endforeach()

list(LENGTH headers count)
if(count EQUAL 0)
  message(FATAL_ERROR "gocp layers: no header under ${root}")
endif()
if(errors)
  message(FATAL_ERROR "gocp layers: includes that do not go down (layers, lowest first: "
                      "detail vocabulary spi db cache backends orm umbrella):\n${errors}")
endif()
message(STATUS "gocp layers: ${count} headers, ${arrows} includes between them, every one going down")
