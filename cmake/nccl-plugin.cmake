# specfuse_nccl.so: c10d's ProcessGroupNCCL for initDistributed({ backend: 'nccl' }) (the source and
# why it is a plugin: native/nccl_plugin/nccl_backend.cc, native/dist/nccl_plugin_abi.h).
#
# ProcessGroupNCCL.hpp includes CUDA's headers (cuda_runtime.h, which needs the compiler package's
# crt/host_config.h; cublas_v2.h, cusparse.h, cusolverDn.h through ATen/cuda/CUDAContext.h, and
# through cuda_fp16.h CCCL's nv/target) and nccl.h, which a CPU-only install (torch wheel installed
# with --no-deps) does not have. The full torch wheel brings all but crt/ and nv/ (torch depends on
# no compiler package); scripts/install.mjs adds pip's cuda-toolkit[crt,cccl] (3 MB of headers) of
# torch's CUDA version. So the plugin is built only when all of them and
# libtorch_cuda.so are found, and skipped with one line otherwise; the addon then answers backend
# 'nccl' with an error that says how to get it.
#
# SPECFUSE_NCCL (CMake option or environment variable): AUTO (default) builds when everything is
# found, ON requires it (a configure error otherwise), OFF never builds it.
# Where headers are looked for, first match wins, each list searched as a whole:
#   CUDA: SPECFUSE_CUDA_INCLUDE_DIR (CMake or environment, one folder or a ;-list; when given,
#         nothing else is searched); the pip CUDA packages beside torch (site-packages/nvidia/*/include:
#         cu13 holds them all, CUDA 12 wheels one package each), whose version is the one torch was
#         built with; then CUDA_HOME / CUDA_PATH / CUDAToolkit (a full libtorch with a CUDA toolkit),
#         for whatever the pip packages lack. Each header is taken from the first folder holding it.
#   NCCL: NCCL_INCLUDE_DIR (CMake or environment; when given, nothing else is searched); the pip
#         package beside torch (site-packages/nvidia/nccl/include); the CUDA include folders above;
#         /usr/include. nccl.h must be the NCCL version libtorch was built with: the plugin refuses
#         to create a group otherwise (native/nccl_plugin/nccl_backend.cc says why).

set(SPECFUSE_NCCL_FILE "specfuse_nccl.so")
if(NOT DEFINED SPECFUSE_NCCL)
  if(DEFINED ENV{SPECFUSE_NCCL} AND NOT "$ENV{SPECFUSE_NCCL}" STREQUAL "")
    set(SPECFUSE_NCCL "$ENV{SPECFUSE_NCCL}")
  else()
    set(SPECFUSE_NCCL AUTO)
  endif()
endif()
string(TOUPPER "${SPECFUSE_NCCL}" SPECFUSE_NCCL)
if(SPECFUSE_NCCL MATCHES "^(1|TRUE|YES)$")
  set(SPECFUSE_NCCL ON)
elseif(SPECFUSE_NCCL MATCHES "^(0|FALSE|NO)$")
  set(SPECFUSE_NCCL OFF)
endif()
if(NOT SPECFUSE_NCCL MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "SPECFUSE_NCCL=${SPECFUSE_NCCL}: expected AUTO, ON or OFF")
endif()

# The folders of `dirs` that together hold every header of `headers`; when one is missing, empty,
# and the first missing header in <out>_missing.
function(specfuse_header_dirs out headers dirs)
  set(found "")
  foreach(h ${headers})
    set(hit "")
    foreach(d ${dirs})
      if(EXISTS "${d}/${h}")
        set(hit "${d}")
        break()
      endif()
    endforeach()
    if(NOT hit)
      set(${out} "" PARENT_SCOPE)
      set(${out}_missing "${h}" PARENT_SCOPE)
      return()
    endif()
    list(APPEND found "${hit}")
  endforeach()
  list(REMOVE_DUPLICATES found)
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

function(specfuse_env_or_cache out name)
  if(${name})
    set(${out} "${${name}}" PARENT_SCOPE)
  elseif(DEFINED ENV{${name}} AND NOT "$ENV{${name}}" STREQUAL "")
    set(${out} "$ENV{${name}}" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

set(nccl_skip "")
if(SPECFUSE_NCCL STREQUAL "OFF")
  set(nccl_skip "SPECFUSE_NCCL=OFF")
endif()
foreach(lib torch_cuda c10_cuda)
  if(NOT nccl_skip AND NOT EXISTS "${TORCH_LIB}/lib${lib}.so")
    set(nccl_skip "${TORCH_LIB}/lib${lib}.so not found (a CPU-only libtorch)")
  endif()
endforeach()

set(cuda_headers cuda_runtime.h cuda_runtime_api.h crt/host_config.h nv/target cublas_v2.h cusparse.h cusolverDn.h)
set(cuda_dirs "")
set(nccl_dir "")
if(NOT nccl_skip)
  get_filename_component(torch_site "${SPECFUSE_LIBTORCH}/.." ABSOLUTE)
  specfuse_env_or_cache(cuda_override SPECFUSE_CUDA_INCLUDE_DIR)
  if(cuda_override)
    set(cuda_candidates "${cuda_override}")
  else()
    file(GLOB cuda_candidates LIST_DIRECTORIES true "${torch_site}/nvidia/*/include")
    foreach(root "$ENV{CUDA_HOME}" "$ENV{CUDA_PATH}")
      if(root)
        list(APPEND cuda_candidates "${root}/include")
      endif()
    endforeach()
    find_package(CUDAToolkit QUIET)
    if(CUDAToolkit_FOUND)
      list(APPEND cuda_candidates ${CUDAToolkit_INCLUDE_DIRS})
    endif()
  endif()
  specfuse_header_dirs(cuda_dirs "${cuda_headers}" "${cuda_candidates}")
  if(NOT cuda_dirs)
    set(nccl_skip "CUDA's ${cuda_dirs_missing} not found in: ${cuda_candidates}")
  endif()
endif()
if(NOT nccl_skip)
  specfuse_env_or_cache(nccl_override NCCL_INCLUDE_DIR)
  if(nccl_override)
    set(nccl_candidates "${nccl_override}")
  else()
    set(nccl_candidates "${torch_site}/nvidia/nccl/include" ${cuda_candidates} /usr/include)
  endif()
  specfuse_header_dirs(nccl_dir "nccl.h" "${nccl_candidates}")
  if(NOT nccl_dir)
    set(nccl_skip "nccl.h not found in: ${nccl_candidates}")
  endif()
endif()

if(nccl_skip)
  if(SPECFUSE_NCCL STREQUAL "ON")
    message(FATAL_ERROR "specfuse: SPECFUSE_NCCL=ON but the NCCL plugin cannot be built: ${nccl_skip}")
  endif()
  message(STATUS "specfuse: NCCL plugin skipped (backend 'nccl' unavailable in this build): ${nccl_skip}")
  # a plugin left by an earlier build would otherwise be loaded by this one
  file(REMOVE "${addon_dir}/${SPECFUSE_NCCL_FILE}")
  return()
endif()

message(STATUS "specfuse: NCCL plugin with CUDA headers from ${cuda_dirs}, nccl.h from ${nccl_dir}")
add_library(specfuse_nccl SHARED "${CMAKE_SOURCE_DIR}/native/nccl_plugin/nccl_backend.cc")
set_target_properties(specfuse_nccl PROPERTIES PREFIX "" OUTPUT_NAME specfuse_nccl SUFFIX ".so"
  CXX_VISIBILITY_PRESET hidden
  BUILD_WITH_INSTALL_RPATH ON
  INSTALL_RPATH "${SPECFUSE_RPATH}")
target_include_directories(specfuse_nccl PRIVATE "${CMAKE_SOURCE_DIR}/native")
target_include_directories(specfuse_nccl SYSTEM PRIVATE
  "${SPECFUSE_LIBTORCH}/include"
  "${SPECFUSE_LIBTORCH}/include/torch/csrc/api/include"
  ${cuda_dirs}
  ${nccl_dir})
# USE_C10D_NCCL: what the wheel's libtorch_cuda.so was built with (the header is empty without it).
target_compile_definitions(specfuse_nccl PRIVATE
  USE_C10D_NCCL=1
  SPECFUSE_TORCH_VERSION="${SPECFUSE_TORCH_VERSION}")
target_compile_options(specfuse_nccl PRIVATE -Wall -Wno-unused-parameter)
# --no-undefined: every symbol it uses must come from the libraries below, so that a missing one is
# a build error here rather than a dlopen error on a GPU machine.
target_link_options(specfuse_nccl PRIVATE "-Wl,--disable-new-dtags" "-Wl,--no-undefined")
target_link_libraries(specfuse_nccl PRIVATE
  "${TORCH_LIB}/libtorch_cuda.so" "${TORCH_LIB}/libc10_cuda.so" "${TORCH_LIB}/libtorch_cpu.so" "${TORCH_LIB}/libc10.so")
