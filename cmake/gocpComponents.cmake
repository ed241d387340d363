# Optional client components of gocp, one helper call each (after sqlpp11's
# add_component in cmake/Sqlpp11TargetHelper.cmake):
#
#   gocp_add_component(NAME <name>
#                      PACKAGE <package> TARGET <imported target> | PKG_CONFIG <module>
#                      [DESCRIPTION <text>] [HEADERS <regex>])
#
# gives, when option GOCP_WITH_<NAME> is ON (its default: ON when the client
# library is found):
#   - the INTERFACE target gocp_<name>, alias gocp::<name>, EXPORT_NAME <name>,
#     linking gocp::gocp and the client library: find_package(<package>) and its
#     <imported target>, or pkg-config <module> (as PkgConfig::gocp_dep_<name>);
#   - with src/<name>.cpp, the STATIC target gocp_<name>_compiled, alias
#     gocp::<name>_compiled: its compiled mode (detail/config.hpp);
#   - with GOCP_INSTALL: its own export, gocp<Name>Targets.cmake, installed and
#     in the build tree, and its own gocp<Name>Config.cmake (from
#     cmake/gocpComponentConfig.cmake.in) that finds the client library with
#     find_dependency and includes that export. gocpConfig.cmake loads every
#     built component (global property GOCP_COMPONENTS), nothing per component.
# HEADERS is a regex on header paths under include/gocp/ that need this component
# (default: the name as a path part, e.g. backends/postgres.hpp, backends/postgres-inl.hpp);
# the header self-containment check builds those only against gocp::<name>.
include_guard(GLOBAL)

set(GOCP_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/gocp"
  CACHE STRING "Install location of gocp's CMake package files, relative to the prefix")
mark_as_advanced(GOCP_INSTALL_CMAKEDIR)

function(gocp_add_component)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;PACKAGE;TARGET;PKG_CONFIG;DESCRIPTION;HEADERS" "")
  if(NOT arg_NAME OR NOT ((arg_PACKAGE AND arg_TARGET) OR arg_PKG_CONFIG))
    message(FATAL_ERROR "gocp_add_component: needs NAME and either PACKAGE + TARGET or PKG_CONFIG")
  endif()
  set(name "${arg_NAME}")
  string(TOUPPER "${name}" NAME)
  string(SUBSTRING "${name}" 0 1 first)
  string(SUBSTRING "${name}" 1 -1 rest)
  string(TOUPPER "${first}" first)
  set(Name "${first}${rest}")  # file names: gocp<Name>Targets.cmake, gocp<Name>Config.cmake
  if(NOT DEFINED arg_HEADERS)
    set(arg_HEADERS "(^|/)${name}([-/._]|$)")
  endif()
  # Declared even when off, so the header check can say which headers it skipped.
  set_property(GLOBAL APPEND PROPERTY GOCP_DECLARED_COMPONENTS "${name}")
  set_property(GLOBAL PROPERTY GOCP_COMPONENT_${name}_HEADERS "${arg_HEADERS}")

  if(arg_PKG_CONFIG)
    set(what "pkg-config module ${arg_PKG_CONFIG}")
    set(dep_target "PkgConfig::gocp_dep_${name}")
    find_package(PkgConfig QUIET)
    set(found FALSE)
    if(PKG_CONFIG_FOUND)
      # GLOBAL: a parent project linking gocp::<name> must see it too.
      pkg_check_modules(gocp_dep_${name} QUIET IMPORTED_TARGET GLOBAL "${arg_PKG_CONFIG}")
      set(found "${gocp_dep_${name}_FOUND}")
    endif()
  else()
    set(what "${arg_PACKAGE} (${arg_TARGET})")
    set(dep_target "${arg_TARGET}")
    find_package(${arg_PACKAGE} QUIET)
    set(found "${${arg_PACKAGE}_FOUND}")
    if(found AND NOT TARGET ${arg_TARGET})
      set(found FALSE)
      set(what "${what}; ${arg_PACKAGE} was found but defines no target ${arg_TARGET}")
    endif()
  endif()
  if(found)
    set(found ON)
  else()
    set(found OFF)
  endif()
  option(GOCP_WITH_${NAME} "Provide gocp::${name} (${arg_DESCRIPTION}; needs ${what})" ${found})
  if(NOT GOCP_WITH_${NAME})
    message(STATUS "gocp: gocp::${name} off (GOCP_WITH_${NAME}=OFF; needs ${what})")
    return()
  endif()
  if(NOT found)  # ON without the library: say so here, not at link time
    message(FATAL_ERROR "GOCP_WITH_${NAME} is ON but ${what} was not found. Install it "
      "(Debian/Ubuntu: .ci/install-deps lists the packages) or configure with -DGOCP_WITH_${NAME}=OFF.")
  endif()

  add_library(gocp_${name} INTERFACE)
  add_library(gocp::${name} ALIAS gocp_${name})
  set_target_properties(gocp_${name} PROPERTIES EXPORT_NAME ${name})
  target_link_libraries(gocp_${name} INTERFACE gocp::gocp ${dep_target})
  message(STATUS "gocp: gocp::${name} -> ${what}")
  # Its compiled mode (include/gocp/detail/config.hpp), when the component has a source:
  # gocp::<name>_compiled compiles src/<name>.cpp once and defines GOCP_<NAME>_COMPILED,
  # so <gocp/backends/<name>.hpp> declares only the factory. It implies the core's
  # compiled mode (gocp::gocp_compiled). Built only when linked; not installed.
  if(EXISTS "${PROJECT_SOURCE_DIR}/src/${name}.cpp")
    add_library(gocp_${name}_compiled STATIC EXCLUDE_FROM_ALL "${PROJECT_SOURCE_DIR}/src/${name}.cpp")
    add_library(gocp::${name}_compiled ALIAS gocp_${name}_compiled)
    target_link_libraries(gocp_${name}_compiled PUBLIC gocp::${name} gocp::gocp_compiled)
    target_compile_definitions(gocp_${name}_compiled PUBLIC GOCP_${NAME}_COMPILED)
    set_property(GLOBAL APPEND PROPERTY GOCP_COMPILED_TARGETS gocp_${name}_compiled)
  endif()

  # Built components, in order; gocpConfig.cmake loads each.
  set_property(GLOBAL APPEND PROPERTY GOCP_COMPONENTS "${name}")
  if(NOT GOCP_INSTALL)
    return()
  endif()
  # Own export per component: gocpConfig.cmake includes it only when the client
  # library is found, so users without it are unaffected.
  install(TARGETS gocp_${name} EXPORT gocp${Name}Targets)
  install(EXPORT gocp${Name}Targets NAMESPACE gocp:: DESTINATION "${GOCP_INSTALL_CMAKEDIR}")
  export(EXPORT gocp${Name}Targets NAMESPACE gocp:: FILE "${PROJECT_BINARY_DIR}/gocp${Name}Targets.cmake")

  # What gocp<Name>Config.cmake does to find the client library, leaving
  # _gocp_dep_found; find_dependency only when the component is required, so a
  # missing optional client never fails find_package(gocp).
  if(arg_PKG_CONFIG)
    set(GOCP_COMPONENT_FIND "if(gocp_FIND_REQUIRED_${name})
  find_dependency(PkgConfig)
else()
  find_package(PkgConfig QUIET)
endif()
set(_gocp_dep_found FALSE)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(gocp_dep_${name} QUIET IMPORTED_TARGET \"${arg_PKG_CONFIG}\")
  set(_gocp_dep_found \"\${gocp_dep_${name}_FOUND}\")
endif()")
  else()
    set(GOCP_COMPONENT_FIND "if(gocp_FIND_REQUIRED_${name})
  find_dependency(${arg_PACKAGE})
else()
  find_package(${arg_PACKAGE} QUIET)
endif()
set(_gocp_dep_found \"\${${arg_PACKAGE}_FOUND}\")")
  endif()
  set(GOCP_COMPONENT_NAME "${name}")
  set(GOCP_COMPONENT_FILE_NAME "${Name}")
  set(GOCP_COMPONENT_WHAT "${what}")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/gocpComponentConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/gocp${Name}Config.cmake" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/gocp${Name}Config.cmake" DESTINATION "${GOCP_INSTALL_CMAKEDIR}")
endfunction()
