# Decides whether the CUDA backend (native/cuda) is built and, if so, defines trm_cuda.
# Sets TRM_CUDA_ENABLED (ON/OFF) and TRM_CUDA_STATUS (one line saying why, shown by
# cudaAvailable() when CUDA is off).
string(TOUPPER "${TRM_CUDA}" _trm_cuda_mode)
set(TRM_CUDA_ENABLED OFF)
if(_trm_cuda_mode STREQUAL "OFF")
  set(TRM_CUDA_STATUS "built without CUDA (TRM_CUDA=OFF; rebuild with TRM_CUDA=ON npm run build:native)")
elseif(_trm_cuda_mode STREQUAL "ON" OR _trm_cuda_mode STREQUAL "AUTO")
  include(CheckLanguage)
  check_language(CUDA)
  # AUTO also wants a driver: nvcc alone (a build box, a CI image) would give a backend that
  # can never run, and a slower install for nothing. The stub libcuda in the toolkit does not count.
  set(_trm_driver OFF)
  find_program(_trm_nvidia_smi nvidia-smi)
  if(_trm_nvidia_smi)
    execute_process(COMMAND ${_trm_nvidia_smi} -L RESULT_VARIABLE _trm_smi_rc OUTPUT_QUIET ERROR_QUIET)
    if(_trm_smi_rc EQUAL 0)
      set(_trm_driver ON)
    endif()
  endif()
  if(NOT _trm_driver)
    find_library(_trm_libcuda NAMES libcuda.so.1 cuda PATHS /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64
      NO_CMAKE_PATH NO_CMAKE_ENVIRONMENT_PATH)
    if(_trm_libcuda AND NOT _trm_libcuda MATCHES "stubs")
      set(_trm_driver ON)
    endif()
  endif()
  if(_trm_cuda_mode STREQUAL "ON")
    if(NOT CMAKE_CUDA_COMPILER)
      message(FATAL_ERROR "TRM_CUDA=ON but no CUDA compiler (nvcc) was found; set CUDACXX or put nvcc on PATH")
    endif()
    set(TRM_CUDA_ENABLED ON)
  elseif(CMAKE_CUDA_COMPILER AND _trm_driver)
    set(TRM_CUDA_ENABLED ON)
  elseif(NOT CMAKE_CUDA_COMPILER)
    set(TRM_CUDA_STATUS "built without CUDA (TRM_CUDA=AUTO found no nvcc; rebuild with TRM_CUDA=ON npm run build:native)")
  else()
    set(TRM_CUDA_STATUS "built without CUDA (TRM_CUDA=AUTO found nvcc but no NVIDIA driver; rebuild with TRM_CUDA=ON npm run build:native)")
  endif()
else()
  message(FATAL_ERROR "TRM_CUDA must be AUTO, ON or OFF, got '${TRM_CUDA}'")
endif()
# Recorded before the CUDA language is enabled, so scripts/build-native.js can tell a failed
# CUDA build (retry without it under AUTO) from any other failure (report it as it is).
set(TRM_CUDA_ATTEMPTED ${TRM_CUDA_ENABLED} CACHE INTERNAL "this configure builds the CUDA backend")

if(TRM_CUDA_ENABLED)
  # Ampere (mma.sync bf16) and Hopper; override with -DCMAKE_CUDA_ARCHITECTURES=native on a GPU box.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80;90")
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  set(TRM_CUDA_STATUS "built with CUDA ${CMAKE_CUDA_COMPILER_VERSION} for sm ${CMAKE_CUDA_ARCHITECTURES}")
  add_library(trm_cuda STATIC
    native/cuda/probe.cu
    native/cuda/device_weights.cu
    native/cuda/gemm.cu
    native/cuda/attention.cu
    native/cuda/norm.cu
    native/cuda/elementwise.cu
    native/cuda/embed.cu
    native/cuda/heads.cu
    native/cuda/act.cu
    native/cuda/step.cu
    native/cuda/cuda_model.cu
  )
  target_include_directories(trm_cuda PUBLIC native)
  set_target_properties(trm_cuda PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON POSITION_INDEPENDENT_CODE ON)
  # No --use_fast_math: parity with the CPU reference wants IEEE expf/division.
  target_compile_options(trm_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-O3 -lineinfo --expt-relaxed-constexpr -Xcompiler=-Wall>)
  # The runtime is linked statically so the addon needs only the driver (libcuda) at run time.
  target_link_libraries(trm_cuda PUBLIC CUDA::cudart_static trm_core)
endif()
message(STATUS "trm-node: ${TRM_CUDA_STATUS}")
