/**
 * `trm train` through the built dist/cli.js on tiny models (a few seconds): a run from a
 * task writes a model directory that `trm eval` reads, `--resume` continues it, `--data`
 * takes the shape from the file, and bad flags are one-line OptionErrors with exit code 1.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getTask, writeJsonlDataset } from '../../lib';
import { readModelDirectory } from '../../lib/model/directory';
import { cliIsFresh, trm } from '../helpers/cli';

const built = cliIsFresh(['lib/cli.ts', 'lib/cli', 'lib/train', 'lib/index.ts']);
if (!built) console.log('skipping the trm train CLI tests: dist/cli.js is missing or older than lib/ (run `npm run build:ts`)');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-train-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const TINY = ['--hidden', '32', '--h-cycles', '1', '--l-cycles', '2', '--layers', '1', '--halt-max-steps', '3', '--batch', '8', '--threads', '2'];

describe.skipIf(!built)('trm train', () => {
  const dir = path.join(tmp, 'sudoku4');

  it('trains from a task, checkpoints a model trm eval reads, prints plain progress lines off a terminal', () => {
    const r = trm(['train', '--task', 'sudoku4', '--out', dir, '--steps', '6', '--eval-every', '3', '--eval-count', '16', '--train-count', '200', '--seed', '1', ...TINY]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/step 6\/6 {2}loss [\d.]+ {2}exact/);
    expect(r.stdout).toMatch(/held-out \(16\) at step 3: exact [\d.]+% fixed \(3 steps\)/);
    expect(r.stdout).not.toContain('\r');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ task: 'sudoku4', hidden_size: 32, train_data: { seed: 1, count: 200 }, training: { steps: 6, batch: 8, seed: 1 } });
    const e = trm(['eval', dir, '--count', '16', '--json']);
    expect(e.status).toBe(0);
    const evaluated = JSON.parse(e.stdout);
    expect(evaluated.fixed.count).toBe(16);
    expect(evaluated.data.excludedTraining).toBe(200);
  });

  it('--resume continues the saved run to a new --steps', () => {
    const r = trm(['train', '--out', dir, '--resume', '--steps', '9', '--eval-count', '0']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('resuming at step 6');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).training.steps).toBe(9);
  });

  it('--time-limit stops at a checkpoint that --resume continues', () => {
    const out = path.join(tmp, 'time-limited');
    const r = trm(['train', '--task', 'sudoku4', '--out', out, '--steps', '100000', '--eval-count', '0', '--train-count', '100', '--time-limit', '1', ...TINY]);
    expect(r.status).toBe(0);
    const stopped = Number(/time limit reached at step (\d+)/.exec(r.stdout)?.[1]);
    expect(stopped).toBeGreaterThan(0);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).training.steps).toBe(stopped);
    const again = trm(['train', '--out', out, '--resume', '--steps', String(stopped + 2)]);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`resuming at step ${stopped}`);
  });

  it('--data takes seq_len and the vocabulary from the file', () => {
    const file = path.join(tmp, 'train.jsonl');
    writeJsonlDataset(file, getTask('compliance').generate(40, 2));
    const out = path.join(tmp, 'from-data');
    const r = trm(['train', '--data', file, '--out', out, '--steps', '2', ...TINY]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config.seq_len).toBe(41);
    expect(config.vocab_size).toBeLessThanOrEqual(31);
  });

  it('--init starts from the weights of a model, keeps its architecture and says where they came from', () => {
    // A rate of 0 leaves every weight where it started, so the saved raw weights (--ema 0) must be the starting model's, bit for bit.
    const out = path.join(tmp, 'fine-tuned');
    const r = trm(['train', '--init', dir, '--task', 'sudoku4', '--out', out, '--steps', '2', '--lr', '0', '--ema', '0', '--train-count', '50', '--seed', '3', '--eval-count', '0', '--threads', '2']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`fine-tuning the model in ${dir}`);
    const [from, tuned] = [readModelDirectory(dir), readModelDirectory(out)];
    expect(Object.keys(tuned.weights).sort()).toEqual(Object.keys(from.weights).sort());
    for (const name of Object.keys(from.weights)) expect(tuned.weights[name], name).toEqual(from.weights[name]);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ hidden_size: 32, halt_max_steps: 3, train_data: { seed: 3, count: 50 }, training: { steps: 2, seed: 3 } });
    expect(config.fine_tuned_from).toEqual({ model: 'sudoku4', training: expect.objectContaining({ steps: 9, seed: 1 }) });

    // And with a rate, the weights move away from the start.
    const moved = path.join(tmp, 'fine-tuned-lr');
    expect(trm(['train', '--init', dir, '--task', 'sudoku4', '--out', moved, '--steps', '2', '--lr', '1e-2', '--warmup', '0', '--ema', '0', '--train-count', '50', '--eval-count', '0']).status).toBe(0);
    expect(readModelDirectory(moved).weights['inner.lm_head.weight']).not.toEqual(from.weights['inner.lm_head.weight']);
  });

  it('--augment applies a task\'s symmetries to --data token lists', () => {
    const file = path.join(tmp, 'sudoku4.jsonl');
    writeJsonlDataset(file, getTask('sudoku4').generate(40, 5));
    const out = path.join(tmp, 'augmented');
    const r = trm(['train', '--data', file, '--augment', 'sudoku4', '--init', dir, '--out', out, '--steps', '2', '--eval-count', '0', '--threads', '2']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config.training.data).toEqual({ file: 'sudoku4.jsonl', augment: 'sudoku4' });
    // The fine-tune of a file keeps the starting model's training-set description.
    expect(config.train_data).toMatchObject({ seed: 1, count: 200 });
    // The symmetries change what is trained on: the same run without --augment (same seed,
    // start and steps) ends on other weights.
    const plain = path.join(tmp, 'not-augmented');
    expect(trm(['train', '--data', file, '--init', dir, '--out', plain, '--steps', '2', '--eval-count', '0', '--threads', '2']).status).toBe(0);
    const [augmented, unaugmented] = [readModelDirectory(out).weights, readModelDirectory(plain).weights];
    expect(augmented['inner.lm_head.weight']).not.toEqual(unaugmented['inner.lm_head.weight']);
    // And a fine-tune of a fine-tune keeps the chain.
    const again = path.join(tmp, 'augmented-again');
    expect(trm(['train', '--data', file, '--init', out, '--out', again, '--steps', '1', '--eval-count', '0', '--threads', '2']).status).toBe(0);
    const chain = JSON.parse(fs.readFileSync(path.join(again, 'config.json'), 'utf8')).fine_tuned_from;
    expect(chain).toMatchObject({ model: 'augmented', training: { steps: 2 }, fine_tuned_from: { model: 'sudoku4', training: { steps: 9 } } });
  });

  const complianceFile = path.join(tmp, 'compliance.jsonl');
  writeJsonlDataset(complianceFile, getTask('compliance').generate(20, 2));
  const recordsFile = path.join(tmp, 'records.jsonl');
  fs.writeFileSync(recordsFile, '{"input": {"size": 3}, "label": "small"}\n{"input": {"size": 9}, "label": "large"}\n');
  const bad: Array<[string, string[], RegExp]> = [
    ['records with --init of a model without a codec', ['--init', dir, '--data', recordsFile, '--out', path.join(tmp, 'x')], /need the codec the model was trained with/],
    ['a model flag with --init', ['--init', dir, '--task', 'sudoku4', '--out', path.join(tmp, 'x'), '--hidden', '64'], /keeps the architecture.*--hidden/],
    ['--init with examples of another length', ['--init', dir, '--data', complianceFile, '--out', path.join(tmp, 'x')], /do not fit the model of --init \(seq_len\)/],
    ['--augment with --task', ['--task', 'sudoku4', '--augment', 'sudoku4', '--out', path.join(tmp, 'x')], /--augment is for --data/],
    ['--augment with another task\'s token lists', ['--data', complianceFile, '--augment', 'sudoku4', '--out', path.join(tmp, 'x')], /not sudoku4 token lists/],
    ['--augment with an unknown task', ['--data', complianceFile, '--augment', 'chess', '--out', path.join(tmp, 'x')], /unknown task/],
    ['no --out', ['--task', 'sudoku4'], /OptionError: .*--out|output directory/],
    ['both --task and --data', ['--task', 'sudoku4', '--data', 'x.jsonl', '--out', path.join(tmp, 'x')], /exactly one source/],
    ['neither --task nor --data', ['--out', path.join(tmp, 'x')], /exactly one source/],
    ['a held-out seed', ['--task', 'sudoku4', '--out', path.join(tmp, 'x'), '--seed', '1000000000'], /held-out/],
    ['an unknown mixer', ['--task', 'sudoku4', '--out', path.join(tmp, 'x'), '--mixer', 'conv'], /token mixer/],
    ['a bad learning rate', ['--task', 'sudoku4', '--out', path.join(tmp, 'x'), '--lr', 'fast'], /--lr/],
    ['an unknown flag', ['--task', 'sudoku4', '--out', path.join(tmp, 'x'), '--bogus', '1'], /bogus/],
    ['a recipe flag on --resume', ['--out', dir, '--resume', '--lr', '0.1'], /saved settings/],
    ['a second run into a directory that holds one', ['--task', 'sudoku4', '--out', dir], /already holds a training run/],
    ['a generator option with --data', ['--data', 'x.jsonl', '--out', path.join(tmp, 'x'), '--min-blanks', '3'], /need --task/],
  ];
  for (const [what, args, message] of bad) {
    it(`refuses ${what}`, () => {
      const r = trm(['train', ...args]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^trm: OptionError: /);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }

  it('--resume without a saved run is a ModelFormatError', () => {
    const r = trm(['train', '--out', path.join(tmp, 'empty'), '--resume']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ModelFormatError: no training state/);
  });
});
