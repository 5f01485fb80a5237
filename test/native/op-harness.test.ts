/**
 * The op harness (native/tests/op_harness.cc): every op on every kernel table this CPU runs
 * against the float64 and scalar references, at tile edges, with stray-write sentinels; and
 * every CUDA kernel where a GPU is present. It is a plain C++ executable linked against the
 * core alone, so building and running it here proves the core builds and runs without Node.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { supportedIsas } from '../../lib';
import { loadAddon } from '../../lib/native/addon';
import { buildNativeTool } from '../helpers/native-tool';

describe('op harness', () => {
  it('builds without Node and passes every op on every table this CPU runs', () => {
    const run = spawnSync(buildNativeTool('trm_op_harness'), [], { encoding: 'utf8' });
    console.log(run.stdout.split('\n').filter((l) => !l.startsWith('ok ')).join('\n'));
    expect(run.status, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/all passed: \d+ case\(s\), 0 failure\(s\)/);
    // Every table the addon can pick is one the harness checked, op by op, and every Linear
    // GEMM of kernel_list.inc that runs here, fp32, bf16 and int8.
    for (const isa of supportedIsas()) {
      for (const op of ['rmsnorm_rows', 'softmax_rows', 'silu_mul', 'add', 'dot', 'axpy', 'attention']) {
        expect(run.stdout).toMatch(new RegExp(`^ok +${op} ${isa} +\\d+ cases`, 'm'));
      }
    }
    const gemms = loadAddon().kernelProbe.linearKernels().filter((k) => k.runs);
    expect(new Set(gemms.map((k) => k.dtype))).toEqual(new Set(['f32', 'bf16', 'int8']));
    for (const { name } of gemms) expect(run.stdout).toMatch(new RegExp(`^ok +${name} +\\d+ cases`, 'm'));
    // CUDA is checked or skipped with its reason, never silently absent.
    expect(run.stdout).toMatch(/^(op harness: CUDA on |skip CUDA ops: )/m);
  }, 120_000);
});
