// TRM_HOST_DEVICE marks the core's shared rules (act.h, bf16.h) as host and device functions
// under nvcc, so the CPU loop and the CUDA kernels compile the same definitions.
#pragma once

#if defined(__CUDACC__)
#define TRM_HOST_DEVICE __host__ __device__
#else
#define TRM_HOST_DEVICE
#endif
