/**
 * The Linear kernels for ISAs this CPU lacks, through stand-ins (native/tests/stand_in_check.cc),
 * under the op harness's Linear check at their tile edges:
 * - AMX bf16 / int8 (native/cpu/x86/kernels_amx.cc) against a C++ emulation of the tile
 *   instructions from the Intel SDM (native/tests/amx_emulation.h), also on two threads at
 *   once, and whole models on the amx table against the avx512 one (int8 bit for bit); where
 *   AVX-512 runs (the kernels' epilogue is AVX-512);
 * - AVX512_BF16 bf16 (kernels_avx512_bf16.cc) with vdpbf16ps and vcvtne2ps2bf16 written in
 *   AVX-512F from the SDM (native/tests/avx512bf16_emulation.h); where AVX-512 runs;
 * - AVX-VNNI int8 (kernels_int8_avxvnni.cc) with its instruction in the EVEX encoding of
 *   AVX512_VNNI + VL, the same operation; where AVX512_VNNI runs.
 * Where the CPU has AVX512_BF16 or AMX, each emulation is held to the real instructions too.
 * What the stand-ins cannot check (speed, Linux's grant of the AMX tile data, the hardware's
 * rounding order in TDPBF16PS, the VEX encoding) the tests of the real kernels check on a CPU
 * with the ISA (test/native/linear-kernels.test.ts, int8-kernels.test.ts skip elsewhere).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/native/addon';
import { buildNativeTool } from '../helpers/native-tool';

const runsHere = (name: string) => loadAddon().kernelProbe.linearKernels().some((k) => k.name === name && k.runs);
const x86 = process.arch === 'x64';

describe('kernels for ISAs this CPU lacks, through stand-ins', () => {
  // One run of the check serves every case below.
  let stdout: string | undefined;
  const run = (): string => {
    if (stdout !== undefined) return stdout;
    const out = spawnSync(buildNativeTool('trm_stand_in_check'), [], { encoding: 'utf8', timeout: 120_000 });
    console.log(out.stdout.split('\n').filter((l) => !l.startsWith('ok ')).join('\n'), out.stderr);
    expect(out.status, out.stdout + out.stderr).toBe(0);
    expect(out.stdout).toMatch(/all passed: \d+ case\(s\), 0 failure\(s\)/);
    stdout = out.stdout;
    return stdout;
  };

  it.skipIf(!x86 || !runsHere('gemm_f32_avx512_8x32'))(
    'AMX bf16 and int8 (emulated tiles) match the scalar kernels at every tile edge, on two threads, in whole models',
    () => {
      const out = run();
      for (const name of ['gemm_bf16_amx_32x32', 'gemm_int8_amx_32x32']) {
        expect(out).toMatch(new RegExp(`^ok +${name} \\(emulated\\) +\\d+ cases`, 'm'));
        expect(out).toMatch(new RegExp(`^ok +${name} \\(emulated\\) no stray writes +\\d+ cases`, 'm'));
        expect(out).toMatch(new RegExp(`^ok +${name} \\(emulated\\) on two threads at once`, 'm'));
      }
      expect(out).toMatch(/^ok +gemm_int8_amx_32x32 \(emulated\) vs gemm_int8_scalar bit for bit/m);
      // Whole models on the amx table (these GEMMs in the avx512 table), 2 threads.
      expect(out).toMatch(/^ok +model int8, amx table \(emulated\) vs avx512 bit for bit +4 cases/m);
      expect(out).toMatch(/^ok +model bf16, amx table \(emulated\) vs avx512 +4 cases/m);
      expect(out).toMatch(/^ok +models run their table's GEMM +4 cases/m);
      expect(out).toMatch(/^ok +AMX peak loops \(emulated\) run a round +1 cases/m);
    },
    180_000,
  );

  it.skipIf(!x86 || !runsHere('gemm_f32_avx512_8x32'))(
    'AVX512_BF16 bf16 (its two instructions in AVX-512F) matches the scalar kernel at every tile edge',
    () => {
      const out = run();
      expect(out).toMatch(/^ok +gemm_bf16_avx512bf16_8x32 \(emulated\) vs gemm_bf16_scalar +\d+ cases/m);
      expect(out).toMatch(/^ok +gemm_bf16_avx512bf16_8x32 \(emulated\) no stray writes +\d+ cases/m);
    },
    180_000,
  );

  it.skipIf(!x86 || !runsHere('gemm_f32_avx512_8x32'))(
    'each emulation is held to its instructions where this CPU has them, or says why not',
    () => {
      const out = run();
      expect(out).toMatch(/^(ok +vcvtne2ps2bf16 emulation vs hardware bit for bit|skip AVX512_BF16 emulation vs hardware: )/m);
      expect(out).toMatch(/^(ok +tdpbssd emulation vs hardware bit for bit|skip AMX emulation vs hardware: )/m);
    },
    180_000,
  );

  it.skipIf(!x86 || !runsHere('gemm_int8_avx512vnni_8x32'))(
    'AVX-VNNI int8 (its instruction as EVEX) matches the scalar kernel bit for bit',
    () => {
      const out = run();
      expect(out).toMatch(/^ok +gemm_int8_avxvnni_4x16 \(as EVEX\) vs gemm_int8_scalar bit for bit +\d+ cases/m);
      expect(out).toMatch(/^ok +gemm_int8_avxvnni_4x16 \(as EVEX\) column ranges bit for bit +\d+ cases/m);
    },
    180_000,
  );
});
