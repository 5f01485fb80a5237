/**
 * The slow check (TRM_SLOW=1, `npm run test:slow`; 50 s on 2 idle cores, 95 s with another
 * job on one of them): `trm train
 * --task sudoku4` with the shipped model's recipe, cut to 300 steps, must reach 95% exact
 * accuracy on held-out puzzles, as `trm eval` measures it (training set regenerated and
 * excluded).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliIsFresh, trmAsync } from '../helpers/cli';

const slow = process.env.TRM_SLOW !== undefined && process.env.TRM_SLOW !== '' && process.env.TRM_SLOW !== '0';
const built = cliIsFresh(['lib/cli.ts', 'lib/cli', 'lib/train', 'lib/index.ts']);
if (slow && !built) console.log('skipping the slow training test: dist/cli.js is missing or older than lib/ (run `npm run build:ts`)');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-train-slow-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!slow || !built)('trm train --task sudoku4 (slow)', () => {
  it('reaches 95% held-out exact accuracy', async () => {
    const dir = path.join(tmp, 'sudoku4');
    const start = Date.now();
    const r = await trmAsync(['train', '--task', 'sudoku4', '--out', dir, '--steps', '300', '--train-count', '10000', '--lr', '2e-3', '--warmup', '50',
      '--ema', '0.99', '--seed', '0', '--threads', '2', '--eval-every', '300', '--eval-count', '64']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const e = await trmAsync(['eval', dir, '--count', '500', '--json', '--threads', '2']);
    expect(e.status).toBe(0);
    const result = JSON.parse(e.stdout);
    console.log(`sudoku4, 300 steps in ${((Date.now() - start) / 1000).toFixed(0)} s: held-out exact ${(100 * result.fixed.exactAccuracy).toFixed(1)}% fixed, ` +
      `${(100 * result.adaptive.exactAccuracy).toFixed(1)}% adaptive (${result.fixed.count} puzzles)`);
    expect(result.data.excludedTraining).toBe(10000);
    expect(result.fixed.exactAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(result.adaptive.exactAccuracy).toBeGreaterThanOrEqual(0.95);
  }, 600_000);
});
