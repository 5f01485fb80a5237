// The stand-ins' instructions, one call each, from the units that hold them: the emulations
// (built without the ISA) and the hardware instructions (built with it; call those only on a
// CPU that runs the ISA). stand_in_check.cc holds each emulation to its hardware where the CPU
// has it, so a session on such a CPU checks the emulation that checks the kernels elsewhere.
#pragma once

#include <cstdint>

namespace trm::tests {

// vdpbf16ps on 16 lanes: out = src + the pair products of a and b (16 words of bf16 pairs).
void emulated_dpbf16_ps(const float* src, const uint32_t* a, const uint32_t* b, float* out);
void hardware_dpbf16_ps(const float* src, const uint32_t* a, const uint32_t* b, float* out);
// vcvtne2ps2bf16: b's 16 values to out[0..15], a's to out[16..31].
void emulated_cvtne2ps_pbh(const float* a, const float* b, uint16_t* out);
void hardware_cvtne2ps_pbh(const float* a, const float* b, uint16_t* out);
// One 16 x 16 tile product with 16 x 64-byte A and B tiles: tdpbf16ps (c as fp32) or tdpbssd
// (c as int32), c (16 x 16 words) updated in place.
void emulated_tile_dp(bool int8, const uint8_t* a, const uint8_t* b, void* c);
void hardware_tile_dp(bool int8, const uint8_t* a, const uint8_t* b, void* c);

}  // namespace trm::tests
