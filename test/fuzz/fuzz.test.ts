/**
 * Fuzzing the readers of untrusted files (the registry in targets.ts): mutated real files
 * must each either load or fail with one of lib/errors.ts's classes. Anything else (a
 * TypeError, a RangeError, a crash) is a finding: the input is saved and fast-check shrinks
 * it to a small edit of its seed.
 *
 * `npm test` runs a 10,000-input smoke (TRM_FUZZ_INPUTS unset); `npm run fuzz` runs
 * 1,000,000 (TRM_FUZZ_INPUTS=1000000), shared among the targets by their `share`.
 * TRM_FUZZ_SEED picks another fast-check seed (default 1, so runs repeat).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrmError } from '../../lib/errors';
import { FUZZ_TARGETS } from './targets';

const TOTAL = Number(process.env.TRM_FUZZ_INPUTS ?? 10_000);
const SEED = Number(process.env.TRM_FUZZ_SEED ?? 1);
const SMOKE = process.env.TRM_FUZZ_INPUTS === undefined;
const SHARE_SUM = FUZZ_TARGETS.reduce((s, t) => s + t.share, 0);
const FINDINGS_DIR = path.join(os.tmpdir(), 'trm-fuzz-findings');

describe.each(FUZZ_TARGETS.map((t) => [t.name, t] as const))('fuzz %s', (_name, target) => {
  const runs = Math.max(1, Math.round((TOTAL * target.share) / SHARE_SUM));
  it(`${runs} mutated inputs: each loads or throws a TrmError`, async () => {
    const outcomes = new Map<string, number>();
    const findings: string[] = [];
    const started = Date.now();
    let done = 0;
    const check = async (input: never): Promise<boolean> => {
      if (++done % 50_000 === 0) process.stderr.write(`fuzz ${target.name}: ${done} of ${runs} after ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
      try {
        await target.run(input);
        outcomes.set('accepted', (outcomes.get('accepted') ?? 0) + 1);
        return true;
      } catch (e) {
        if (e instanceof TrmError) {
          outcomes.set(e.name, (outcomes.get(e.name) ?? 0) + 1);
          return true;
        }
        fs.mkdirSync(FINDINGS_DIR, { recursive: true });
        const file = path.join(FINDINGS_DIR, `${target.name}-${findings.length}.bin`);
        fs.writeFileSync(file, target.bytes(input));
        findings.push(`${(e as Error)?.name}: ${(e as Error)?.message} (input saved to ${file})`);
        return false;
      }
    };
    let failure: unknown;
    try {
      await fc.assert(fc.asyncProperty(target.arbitrary(SMOKE), check), { numRuns: runs, seed: SEED, });
    } catch (e) {
      failure = e;
    }
    const seconds = (Date.now() - started) / 1000;
    const summary = [...outcomes].map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(`fuzz ${target.name}: ${runs} inputs in ${seconds.toFixed(1)} s (${target.corpus}); ${summary}`);
    // A failure with no finding is the harness's own (an arbitrary that threw): report it.
    if (failure !== undefined && findings.length === 0) throw failure;
    expect(findings, String(failure ?? '')).toEqual([]);
    // Every generated input ran (fast-check stops early only on a failure).
    expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBe(runs);
  }, Math.max(120_000, TOTAL * 10));
});
