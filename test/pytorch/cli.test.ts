/**
 * `trm import` end to end on the official fixtures (../shared/golden/checkpoints): the
 * commands their README gives, then the imported directory through `trm info` and the
 * failure without a source for seq_len.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliIsFresh, trm } from '../helpers/cli';
import { MLPT_ARCH, MLPT_CHECKPOINT, ROPE_DATASET, ROPE_RUN } from '../helpers/torch-fixtures';

const built = cliIsFresh(['lib/cli.ts', 'lib/cli', 'lib/model', 'lib/model/pytorch', 'lib/index.ts']);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-import-cli-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe.skipIf(!built)('trm import', () => {
  it('imports the run folder\'s newest step with dataset.json, and the lone mlp_t step with its arch config', () => {
    const a = path.join(work, 'A');
    const r = trm(['import', ROPE_RUN, '--out', a, '--config', ROPE_DATASET]);
    expect(r.status, r.out).toBe(0);
    expect(r.stdout).toMatch(/\(step 200\)/);
    expect(r.stdout).toMatch(/seq_len.*: .*dataset\.json/);
    const info = trm(['info', a]);
    expect(info.status, info.out).toBe(0);
    expect(JSON.parse(info.stdout).config.imported_from.step).toBe(200);

    const b = path.join(work, 'B');
    const m = trm(['import', MLPT_CHECKPOINT, '--out', b, '--config', MLPT_ARCH]);
    expect(m.status, m.out).toBe(0);
    expect(m.stdout).toMatch(/seq_len.*: .*arch\.json/);
  });

  it('fails with the missing key and where it comes from, and needs --out', () => {
    const r = trm(['import', ROPE_RUN, '--out', path.join(work, 'C')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/MissingConfigError: the architecture lacks seq_len/);
    expect(fs.existsSync(path.join(work, 'C'))).toBe(false);
    const noOut = trm(['import', ROPE_RUN]);
    expect(noOut.status).toBe(1);
    expect(noOut.stderr).toMatch(/--out/);
  });
});
