/**
 * `trm eval`, `trm solve` and `trm demo` through the built dist/cli.js, on a small random
 * sudoku4 model written to a temporary directory: the output's structure and ranges, the
 * accuracy end to end (labels made from the model's own answers must score 100%), bad
 * puzzles refused with a message naming the problem, and the demo's table and lines.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVAL_SEED, createModel, getTask, heldOutSet, parseConfig, randomWeights, writeJsonlDataset, writeModelDirectory } from '../../lib';
import type { Example, TrmConfig, WeightMap } from '../../lib';
import { DEFAULT_DEMO_DIR } from '../../lib/cli/demo';
import { cliIsFresh, trm } from '../helpers/cli';

const built = cliIsFresh(['lib/cli.ts', 'lib/cli', 'lib/evaluate.ts', 'lib/model-task.ts', 'lib/tasks', 'lib/index.ts']);
if (!built) console.log('skipping the eval/solve/demo CLI tests: dist/cli.js is missing or older than lib/ (run `npm run build:ts`)');

const HALT_MAX_STEPS = 6;
const task = getTask('sudoku4');
// The task's suggested shape, shrunk so every command runs in a fraction of a second.
const config: TrmConfig = parseConfig({ ...task.suggestedConfig(), hidden_size: 32, H_cycles: 1, L_cycles: 2, halt_max_steps: HALT_MAX_STEPS });
// q_head with random weights (the official init never halts early), so adaptive halting varies.
const weights: WeightMap = randomWeights(config, { seed: 11, qHeadStd: 1 });

let tmp: string;
let dir: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-cli-'));
  dir = path.join(tmp, 'sudoku4');
  writeModelDirectory(dir, config, weights);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function json(args: string[]): Record<string, any> {
  const r = trm(args);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

function expectRun(run: Record<string, any>, count: number, threshold: number | null): void {
  expect(run.count).toBe(count);
  expect(run.haltThreshold).toBe(threshold);
  expect(run.maxSteps).toBe(HALT_MAX_STEPS);
  for (const key of ['exactAccuracy', 'tokenAccuracy']) {
    expect(run[key]).toBeGreaterThanOrEqual(0);
    expect(run[key]).toBeLessThanOrEqual(1);
  }
  expect(run.exactAccuracy).toBeCloseTo(run.exactCorrect / count, 12);
  expect(run.labelledTokens).toBe(count * 16); // every Sudoku cell is labelled
  expect(run.tokenAccuracy).toBeCloseTo(run.correctTokens / run.labelledTokens, 12);
  expect(run.meanSteps).toBeGreaterThanOrEqual(1);
  expect(run.meanSteps).toBeLessThanOrEqual(HALT_MAX_STEPS);
  expect(run.stepCounts).toHaveLength(HALT_MAX_STEPS);
  expect(run.stepCounts.reduce((a: number, b: number) => a + b, 0)).toBe(count);
  expect(run.msPerAnswer).toBeGreaterThan(0);
  expect(run.repeats).toBe(1);
  expect(run).not.toHaveProperty('predictions');
}

describe.skipIf(!built)('trm eval', () => {
  it('--json: both runs, fields and ranges; fixed steps run halt_max_steps on every example', () => {
    const r = json(['eval', dir, '--count', '40', '--threads', '1', '--json']);
    expect(r).toMatchObject({ model: dir, task: 'sudoku4', backend: 'native', threads: 1, precision: 'fp32', haltMaxSteps: HALT_MAX_STEPS });
    expect(r.data).toMatchObject({ source: 'generated', seed: EVAL_SEED, count: 40, excludedTraining: 0 });
    expectRun(r.fixed, 40, null);
    expectRun(r.adaptive, 40, 0.5);
    expect(r.fixed.meanSteps).toBe(HALT_MAX_STEPS);
    expect(r.fixed.stepCounts.slice(0, -1).every((n: number) => n === 0)).toBe(true);
    expect(r.adaptive.meanSteps).toBeLessThan(HALT_MAX_STEPS);
    expect(r.notes.join(' ')).toMatch(/disjoint by seed only/);
  });

  it('--confidence and --stable-steps add a row per rule and one for all together; --h-cycles runs every row deeper', () => {
    const r = json(['eval', dir, '--count', '30', '--threads', '1', '--confidence', '0.3', '--stable-steps', '1', '--json']);
    expect(Object.keys(r)).toEqual(expect.arrayContaining(['fixed', 'adaptive', 'confidence', 'stable', 'combined']));
    expect(r.confidence).toMatchObject({ haltThreshold: null, confidenceThreshold: 0.3, stableSteps: null });
    expect(r.stable).toMatchObject({ haltThreshold: null, confidenceThreshold: null, stableSteps: 1 });
    expect(r.combined).toMatchObject({ haltThreshold: 0.5, confidenceThreshold: 0.3, stableSteps: 1 });
    for (const key of ['fixed', 'adaptive', 'confidence', 'stable', 'combined']) {
      const counts = Object.values(r[key].stoppedBy) as number[];
      expect(counts.reduce((a, b) => a + b, 0)).toBe(30);
    }
    expect(r.fixed.stoppedBy.maxSteps).toBe(30);
    expect(r.stable.stoppedBy.halt + r.stable.stoppedBy.confidence).toBe(0);
    // Every rule of the combined row can only stop a sample earlier than each alone.
    expect(r.combined.meanSteps).toBeLessThanOrEqual(Math.min(r.adaptive.meanSteps, r.confidence.meanSteps, r.stable.meanSteps));
    const deep = json(['eval', dir, '--count', '5', '--threads', '1', '--h-cycles', '2', '--l-cycles', '3', '--json']);
    expect([deep.hCycles, deep.lCycles, deep.fixed.hCycles, deep.adaptive.lCycles]).toEqual([2, 3, 2, 3]);
    expect(r.hCycles).toBe(config.H_cycles);
    const table = trm(['eval', dir, '--count', '10', '--stable-steps', '2', '--h-cycles', '2']);
    expect(table.status).toBe(0);
    expect(table.out).toMatch(/stable 2 step\(s\) +\d+\.\d% +\d+\.\d% +\d\.\d\d +\d+\.\d{3}  (halt|stable|maxSteps)/);
    expect(table.out).toMatch(/all of these rules/);
    expect(table.out).toMatch(/note: every row runs H_cycles 2 x L_cycles 2, off the training setting \(1 x 2\)/);
  });

  it('passes the model options on: bf16 precision', () => {
    const r = json(['eval', dir, '--count', '5', '--precision', 'bf16', '--json']);
    expect(r.precision).toBe('bf16');
    expect(r.fixed.meanSteps).toBe(HALT_MAX_STEPS);
  });

  it('scores 100% on labels that are the model\'s own answers, and exactly the share left intact', () => {
    // The same model, threads and batch as the CLI run, so the answers are the same.
    const model = createModel(config, weights, { threads: 1 });
    const examples = heldOutSet(task, 24, { seed: EVAL_SEED + 1 }).examples;
    const answers = model.inferSync({ inputs: examples.map((e) => e.inputs) }).predictions;
    model.dispose();
    const own: Example[] = examples.map((e, i) => ({ ...e, labels: answers.slice(i * 16, (i + 1) * 16) }));
    const file = path.join(tmp, 'own.jsonl');
    writeJsonlDataset(file, own);
    const r = json(['eval', dir, '--data', file, '--threads', '1', '--json']);
    expect(r.data).toEqual({ source: 'file', file, count: 24 });
    expect(r.fixed.exactAccuracy).toBe(1);
    expect(r.fixed.tokenAccuracy).toBe(1);

    // One label changed in every third example: exact 16/24, tokens (384 - 8) / 384.
    const spoiled = own.map((e, i) => {
      if (i % 3 !== 0) return e;
      const labels = e.labels.slice();
      labels[i % 16] = labels[i % 16] === 2 ? 3 : 2;
      return { ...e, labels };
    });
    writeJsonlDataset(file, spoiled);
    const s = json(['eval', dir, '--data', file, '--threads', '1', '--json', '--count', '24']);
    expect(s.fixed.exactCorrect).toBe(16);
    expect(s.fixed.correctTokens).toBe(384 - 8);
  });

  it('regenerates and excludes a training set described in config.json', () => {
    const described = path.join(tmp, 'described');
    writeModelDirectory(described, parseConfig({ ...config, train_data: { seed: 2, count: 300 } }), weights);
    const r = json(['eval', described, '--count', '10', '--json']);
    expect(r.data.excludedTraining).toBe(300);
    expect(r.notes.join(' ')).toMatch(/training set \(300 examples, seed 2\) regenerated and excluded/);
  });

  it('prints a table without --json', () => {
    const r = trm(['eval', dir, '--count', '10', '--threshold', '0.3']);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/task sudoku4, native backend/);
    expect(r.out).toMatch(new RegExp(`fixed ${HALT_MAX_STEPS} steps +\\d+\\.\\d% +\\d+\\.\\d% +${HALT_MAX_STEPS}\\.00 `));
    expect(r.out).toMatch(/adaptive p\(halt\)>0\.3 +\d+\.\d% +\d+\.\d% +\d\.\d\d /);
  });

  it('needs a task: a model without one, an unknown flag and a bad threshold are errors naming the problem', () => {
    const noTask = path.join(tmp, 'no-task');
    const { task: _, ...rest } = config;
    writeModelDirectory(noTask, parseConfig(rest), weights);
    const cases: Array<[string[], RegExp]> = [
      [['eval', noTask], /OptionError: the model does not name its task; field: --task/],
      [['eval', dir, '--task', 'sudoku9'], /ModelFormatError: task sudoku9 does not fit the model; field: seq_len/],
      [['eval', dir, '--bogus'], /OptionError: trm eval: Unknown option '--bogus'/],
      [['eval', dir, '--threshold', '2'], /field: --threshold; got: "2"/],
      [['eval', dir, '--confidence', '1.5'], /field: --confidence; got: "1.5"/],
      [['eval', dir, '--stable-steps', '0'], /field: --stable-steps; got: "0"/],
      [['eval', dir, '--h-cycles', 'x'], /field: --h-cycles; got: "x"/],
      [['eval', dir, '--l-cycles', '999'], /OptionError: invalid option; field: lCycles; got: 999; expected: an integer in \[1, 256\]/],
      [['eval', dir, '--h-cycles', '2', '--backend', 'onnx'], /OptionError: the onnx backend runs the recursion depth its step graph was exported with; field: hCycles/],
    ];
    for (const [args, pattern] of cases) {
      const r = trm(args);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(pattern);
    }
    expect(trm(['eval', noTask, '--task', 'sudoku4', '--count', '2']).status).toBe(0);
  });
});

describe.skipIf(!built)('trm solve', () => {
  it('prints the puzzle, the answer board, the steps and the halting probability', () => {
    const r = trm(['solve', dir, '--input', '1..4 .4.. ..1. 2..3']);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^sudoku4 puzzle:\n1 \. \| \. 4\n/);
    expect(r.out).toMatch(new RegExp(`answer after [1-${HALT_MAX_STEPS}] step\\(s\\) \\((halted: p\\(halt\\) 0\\.\\d+ > 0\\.5|ran to the step limit; p\\(halt\\) 0\\.\\d+)\\):\\n([.?1-4] [.?1-4] \\| [.?1-4] [.?1-4]\\n){2}----\\+----\\n`));
    expect(r.out).toMatch(/steps: \d; halting probability: 0\.\d{3}; confidence: 0\.\d{3} \(mean max softmax probability over the answer positions\)/);
    expect(r.out).toMatch(/check: (right|wrong \(\d+ of 16 answer positions differ)/);
  });

  it('takes the other stopping rules and says which one stopped the puzzle', () => {
    const r = trm(['solve', dir, '--input', '1..4 .4.. ..1. 2..3', '--threshold', '1', '--confidence', '0', '--h-cycles', '2']);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/answer after 1 step\(s\) \(stopped by confidence 0\.\d{3} >= 0\)/);
    const stable = trm(['solve', dir, '--input', '1..4 .4.. ..1. 2..3', '--threshold', '1', '--stable-steps', '1']);
    expect(stable.out).toMatch(/answer after \d step\(s\) \((stopped: predictions unchanged for 1 step\(s\)|ran to the step limit)/);
  });

  it('reads a file and draws a held-out puzzle', () => {
    const file = path.join(tmp, 'puzzle.txt');
    fs.writeFileSync(file, task.format(heldOutSet(task, 1).examples[0].inputs));
    const fromFile = trm(['solve', dir, '--file', file]);
    const random = trm(['solve', dir, '--random']);
    expect(fromFile.status).toBe(0);
    expect(random.status).toBe(0);
    expect(random.out).toMatch(`a held-out sudoku4 puzzle (seed ${EVAL_SEED}):`);
    // The same puzzle either way, so the same answer.
    const answer = (out: string) => out.slice(out.indexOf('answer after'));
    expect(answer(fromFile.out)).toBe(answer(random.out));
  });

  it('draws the --random puzzle with the generator options the model was trained with', () => {
    const options = { minBlanks: 10, maxBlanks: 10 };
    const hardDir = path.join(tmp, 'sudoku4-10-blanks');
    writeModelDirectory(hardDir, parseConfig({ ...config, train_data: { seed: 0, count: 0, options } }), weights);
    const r = trm(['solve', hardDir, '--random']);
    expect(r.status).toBe(0);
    const expected = heldOutSet(task, 1, { options }).examples[0].inputs;
    expect(expected.filter((t) => t === 1)).toHaveLength(10);
    expect(r.out).toContain(`puzzle (seed ${EVAL_SEED}):\n${task.format(expected)}\n`);
    // With the task's default options (6-10 blanks) the first held-out puzzle is another one.
    expect(task.format(heldOutSet(task, 1).examples[0].inputs)).not.toBe(task.format(expected));
  });

  it('refuses bad puzzles with exit code 1 and a message naming the problem', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--input', '1..4.4'], /InputError: a 4x4 Sudoku has 16 cells; field: text/],
      [['--input', '1..4.4..x.1.2..3'], /InputError: not a Sudoku cell; field: text\[cell 8\]; got: "x"/],
      [['--input', '11..............'], /InputError: this Sudoku has no solution/],
      [['--file', path.join(tmp, 'missing.txt')], /InputError: cannot read the puzzle file \(ENOENT\); field: --file/],
      [[], /OptionError: solve needs a puzzle/],
      [['--input', '1...............', '--random'], /OptionError: solve takes one puzzle; field: --input, --random/],
    ];
    for (const [args, pattern] of cases) {
      const r = trm(['solve', dir, ...args]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(pattern);
      expect(r.stdout).not.toMatch(/answer after/);
    }
  });
});

describe.skipIf(!built)('trm demo', () => {
  it('shows the step table, the boards, the halting step, the accuracy line and the ONNX comparison', () => {
    const r = trm(['demo', dir, '--count', '16'], { env: { NO_COLOR: '1', FORCE_COLOR: undefined } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    const header = lines.indexOf('step  changed  p(halt)  confidence  right');
    expect(header).toBeGreaterThan(0);
    const rows = lines.slice(header + 1, header + 1 + HALT_MAX_STEPS);
    rows.forEach((row, i) => expect(row).toMatch(new RegExp(`^ +${i + 1} +\\d+ +[01]\\.\\d{3} +[01]\\.\\d{3} +\\d+/16`)));
    expect(rows.filter((row) => row.includes('<- halts here'))).toHaveLength(1);
    expect(r.stdout).toMatch(/puzzle +step 1 +/);
    expect(r.stdout).toMatch(/Answer at step \d, where adaptive halting stops: (right|wrong)/);
    expect(r.stdout).toMatch(/puzzle 2 +(right|wrong), \d step\(s\)/);
    expect(r.stdout).toMatch(/Accuracy on 16 held-out puzzles/);
    expect(r.stdout).toMatch(/adaptive, p\(halt\) > 0\.5 +exact +\d+\.\d% \(\d+\/16\) +tokens +\d+\.\d% +mean steps +\d\.\d\d/);
    expect(r.stdout).toMatch(new RegExp(`fixed ${HALT_MAX_STEPS} steps \\(official\\) +exact .* mean steps +${HALT_MAX_STEPS}\\.00`));
    // Random weights solve (next to) nothing, and the demo says so.
    expect(r.stdout).toMatch(/untrained: almost no answer is right/);
    expect(r.stdout).toMatch(/native vs ONNX \(16 puzzles, 6 steps each, median of 3 runs\): native \d+\.\d+ ms\/answer, onnxruntime \d+\.\d+ ms\/answer|native vs ONNX: skipped, the onnx backend did not load/);
    expect(r.stdout).toMatch(/demo took \d+\.\d s/);
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  it('colours the changed cells when asked to, and skips ONNX with --no-onnx', () => {
    const r = trm(['demo', dir, '--count', '4', '--no-onnx'], { env: { FORCE_COLOR: '1', NO_COLOR: undefined } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\x1b\[30;43m/);
    expect(r.stdout).toMatch(/native vs ONNX: skipped \(--no-onnx\)/);
  });

  it('refuses a missing DIR with a typed error, and shows only puzzles of a small batch', () => {
    const missing = trm(['demo', path.join(tmp, 'nowhere')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/ModelFormatError: model directory cannot be opened/);
    const small = trm(['demo', dir, '--count', '2', '--no-onnx'], { env: { NO_COLOR: '1', FORCE_COLOR: undefined } });
    expect(small.status).toBe(0);
    expect(small.stdout).toMatch(/puzzle 2 +(right|wrong)/);
    expect(small.stdout).not.toMatch(/puzzle 3/);
    expect(small.stdout).toMatch(/Accuracy on 2 held-out puzzles/);
  });

  it('without DIR, runs the packaged model from any working directory, or says it is missing and runs an untrained one', () => {
    const r = trm(['demo', '--count', '8', '--no-onnx'], { cwd: tmp, env: { NO_COLOR: '1', FORCE_COLOR: undefined } });
    expect(r.status).toBe(0);
    if (fs.existsSync(path.join(DEFAULT_DEMO_DIR, 'config.json'))) {
      expect(r.stdout).toMatch(`trm demo: ${DEFAULT_DEMO_DIR}`);
    } else {
      expect(r.stdout).toMatch(`note: no trained model at ${DEFAULT_DEMO_DIR}`);
      expect(r.stdout).toMatch(/trm demo: an untrained sudoku4 model \(random weights\)/);
      expect(r.stdout).toMatch(/untrained: almost no answer is right/);
    }
  });
});
