/**
 * `trm generate`: the file it writes reads back as the task's dataset, the same seed gives
 * the same file, --exclude keeps a test set apart, and bad flags are typed errors naming
 * the flag. Runs the built dist/cli.js.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exampleKey, getTask, readJsonlDataset } from '../../lib/index';
import { REPO_ROOT } from '../helpers/paths';

const cli = path.join(REPO_ROOT, 'dist', 'cli.js');
const sources = ['lib/cli.ts', ...['lib/cli', 'lib/tasks', 'lib/data'].flatMap((d) => fs.readdirSync(path.join(REPO_ROOT, d)).map((f) => path.join(d, f)))];
// A dist/ older than its sources would test yesterday's CLI: skip, saying why.
const built = fs.existsSync(cli) && sources.every((f) => fs.statSync(cli).mtimeMs >= fs.statSync(path.join(REPO_ROOT, f)).mtimeMs);
if (!built) console.log('skipping the generate CLI tests: dist/cli.js is missing or older than lib/ (run `npm run build:ts`)');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-generate-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function trm(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!built)('trm generate', () => {
  it('writes a Sudoku set with the asked blanks, the same for the same seed', () => {
    const a = path.join(tmp, 'a.jsonl'), b = path.join(tmp, 'b.jsonl');
    for (const out of [a, b]) {
      const r = trm(['generate', '--task', 'sudoku9', '--count', '20', '--seed', '7', '--min-blanks', '50', '--max-blanks', '52', '--out', out]);
      expect(r.status).toBe(0);
      expect(r.out).toMatch(/20 sudoku9 examples/);
    }
    expect(fs.readFileSync(a, 'utf8')).toBe(fs.readFileSync(b, 'utf8'));
    const task = getTask('sudoku9');
    const examples = readJsonlDataset(a, { seqLen: task.seqLen, vocabSize: task.vocabSize });
    expect(examples.map((e) => exampleKey(e.inputs))).toEqual(task.generate(20, 7, { minBlanks: 50, maxBlanks: 52 }).map((e) => exampleKey(e.inputs)));
  });

  it('sizes mazes and keeps an --exclude set apart', () => {
    const train = path.join(tmp, 'train.jsonl'), test = path.join(tmp, 'test.jsonl');
    expect(trm(['generate', '--task', 'maze', '--size', '7', '--count', '300', '--out', train]).status).toBe(0);
    const r = trm(['generate', '--task', 'maze', '--size', '7', '--count', '100', '--exclude', train, '--out', test]);
    expect(r.status).toBe(0);
    const trainKeys = new Set(readJsonlDataset(train, { seqLen: 49 }).map((e) => exampleKey(e.inputs)));
    const testSet = readJsonlDataset(test, { seqLen: 49 });
    expect(testSet.length).toBe(100);
    expect(testSet.filter((e) => trainKeys.has(exampleKey(e.inputs)))).toEqual([]);
  });

  it('reports bad flags as typed errors naming the flag, exit code 1', () => {
    const out = path.join(tmp, 'bad.jsonl');
    const cases: Array<[string[], RegExp]> = [
      [['--task', 'chess', '--count', '1', '--out', out], /OptionError.*field: task.*sudoku4, sudoku9, maze, compliance/],
      [['--task', 'compliance', '--count', '1', '--min-blanks', '3', '--out', out], /OptionError.*field: --min-blanks/],
      [['--task', 'sudoku9', '--count', '1', '--size', '9', '--out', out], /OptionError.*field: size/],
      [['--task', 'sudoku4', '--count', 'ten', '--out', out], /field: --count/],
      [['--task', 'sudoku4', '--count', '1'], /field: --out/],
    ];
    for (const [args, pattern] of cases) {
      const r = trm(['generate', ...args]);
      expect(r.status).toBe(1);
      expect(r.out).toMatch(pattern);
    }
    expect(fs.existsSync(out)).toBe(false);
  });
});
