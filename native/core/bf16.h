// float <-> bf16 as every backend rounds it: the CPU tables (activations and packed weights)
// and the CUDA kernels include this one definition, so both multiply by the same bf16 values.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/host_device.h"

namespace trm {

// static: each ISA translation unit keeps its own copy, so the linker can never hand a
// scalar unit the AVX-512 build of it (an inline function is one definition program-wide).
// Round to nearest even; NaN stays NaN; subnormals flush to signed zero, as vcvtne2ps2bf16
// does (CUDA's __float2bfloat16_rn keeps them, so it would not match the CPU tables).
TRM_HOST_DEVICE static inline uint16_t bf16_from_f32(float x) {
  uint32_t bits;
  memcpy(&bits, &x, 4);
  if ((bits & 0x7f800000u) == 0) return static_cast<uint16_t>((bits >> 16) & 0x8000u);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

TRM_HOST_DEVICE static inline float f32_from_bf16(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float x;
  memcpy(&x, &bits, 4);
  return x;
}

// The value a bf16 operand carries, as fp32.
TRM_HOST_DEVICE static inline float round_to_bf16(float x) { return f32_from_bf16(bf16_from_f32(x)); }

}  // namespace trm
