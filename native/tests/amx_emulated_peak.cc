// peak_amx.cc compiled against the tile-instruction emulation (amx_emulation.h), renamed to
// sit beside trm_core's: stand_in_check.cc runs one round of each loop, which faults there if
// the loop uses a tile it did not configure.
#include <immintrin.h>

#include "tests/amx_emulation.h"

#define dot_loop_bf16_amx dot_loop_bf16_amx_emulated
#define dot_loop_int8_amx dot_loop_int8_amx_emulated
#include "cpu/x86/peak_amx.cc"
