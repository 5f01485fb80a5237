/**
 * `trm train`: trains a TRM with the official recipe (lib/train/trainer.ts) on a built-in
 * task's generated set or on a JSONL file, evaluates the EMA weights on held-out examples
 * every --eval-every steps and checkpoints into --out (a model directory that loadModel,
 * `trm eval` and `trm demo` read, plus the state `--resume` continues from).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OptionError } from '../errors';
import { readJsonlDataset } from '../data/jsonl';
import { CODEC_FILE, parseCodec, readCodecFile, readModelCodec, writeCodecFile, type Codec } from '../codecs/codec';
import { describeNotes, encodeDataset, isLabelledDataset, readLabelledJsonl } from '../codecs/dataset';
import { inferCodec } from '../codecs/infer';
import { parseConfig, type TrmConfig } from '../model/config';
import { readModelDirectory, type ModelDirectory } from '../model/directory';
import { getTask, TASK_NAMES } from '../tasks';
import { EVAL_SEED, heldOutSet, TRAIN_DATA_KEY } from '../tasks/splits';
import type { Example } from '../tasks/task';
import { FINE_TUNED_FROM_KEY, loadCheckpoint, saveCheckpoint, TRAIN_STATE_FILE, TRAINING_KEY, type TrainingDataSource } from '../train/checkpoint';
import { buildTrainingData } from '../train/data';
import type { TrainingRecipe } from '../train/recipe';
import { Trainer, type HeldOutReport, type StepReport } from '../train/trainer';
import { Command, FlagValues, intFlag, numberFlag, stringFlag } from './common';
import { percent } from './render';

const GENERATOR_FLAGS: Array<[string, string]> = [
  ['min-blanks', 'minBlanks'], ['max-blanks', 'maxBlanks'], ['min-path', 'minPathLength'], ['loop-percent', 'loopPercent'],
  ['min-clauses', 'minClauses'], ['max-clauses', 'maxClauses'],
];
/** Model flags and the config key each sets. */
const MODEL_FLAGS: Array<[string, string]> = [
  ['hidden', 'hidden_size'], ['heads', 'num_heads'], ['expansion', 'expansion'], ['h-cycles', 'H_cycles'], ['l-cycles', 'L_cycles'],
  ['layers', 'L_layers'], ['halt-max-steps', 'halt_max_steps'],
];
/** Recipe flags: [flag, recipe key, integer]. */
const RECIPE_FLAGS: Array<[string, keyof TrainingRecipe, boolean]> = [
  ['steps', 'steps', true], ['batch', 'batch', true], ['lr', 'lr', false], ['lr-min-ratio', 'lrMinRatio', false],
  ['warmup', 'warmupSteps', true], ['weight-decay', 'weightDecay', false], ['grad-clip', 'gradClip', false],
  ['ema', 'emaRate', false], ['seed', 'seed', true],
];
/** The only flags that may change on --resume: the rest of the run comes from the saved state. */
const RESUME_FLAGS = new Set(['out', 'resume', 'steps', 'threads', 'eval-every', 'eval-count', 'dtype', 'time-limit']);

export const DEFAULT_TRAIN_COUNT = 10000;
export const DEFAULT_EVAL_COUNT = 256;

export const trainCommand: Command = {
  usage: `  trm train (--task NAME | --data FILE.jsonl) --out DIR [options]
                                    train a model (official TRM recipe); DIR is a model directory
    --task NAME      sudoku4 | sudoku9 | maze | compliance: a generated, augmented training set
    --data FILE      train on a JSONL file instead: token lists ({"inputs", "labels"}; seq_len and
                     vocabulary from the data) or records and texts ({"input", "label"}; a codec
                     inferred from the data, or --codec, written to DIR/${CODEC_FILE})
    --codec FILE     the codec (schema) of --data records or texts, instead of inferring one
    --augment TASK   with --data token lists: apply TASK's symmetries to every example drawn
    --init DIR       fine-tune: start from the weights of the model in DIR (its architecture and
                     codec; a fresh optimizer and schedule) instead of a random init
    --out DIR        where the model and checkpoints go
    --resume         continue the run saved in DIR (bit-identical at the same --threads)
    --steps N        optimizer steps (default 2000); on --resume, the new total
    --batch B        slots of the persistent ACT batch (default 64)
    --lr X, --warmup N, --lr-min-ratio R    AdamW rate (1e-3), linear warmup steps (100), cosine floor (1: constant)
    --weight-decay W (0.1), --grad-clip C (0: off), --ema R (0.999; 0: save raw weights)
    --hidden N, --heads N, --expansion N, --h-cycles N, --l-cycles N, --layers N, --halt-max-steps N
                     the model (default: the task's suggested config)
    --mixer M        attention | mlp (mlp_t token mixing)
    --train-count N  generated training examples (default ${DEFAULT_TRAIN_COUNT})
    --no-augment     train on the examples as generated
    --min-blanks, --max-blanks, --size, --min-path, --loop-percent, --min-clauses, --max-clauses
                     generator options (as trm generate)
    --eval-every N   held-out evaluation and checkpoint every N steps (default: steps / 10)
    --eval-count N   held-out examples (default ${DEFAULT_EVAL_COUNT}; seed ${EVAL_SEED}, training set excluded)
    --eval-data FILE held-out examples from a file (with --data)
    --time-limit S   stop after S seconds (saving first); --resume continues
    --seed S         weights, data and order (default 0; below ${EVAL_SEED})
    --threads N      engine threads (default: all cores)
    --dtype D        f32 (default) | bf16: storage of model.safetensors`,
  flags: {
    task: { type: 'string' }, data: { type: 'string' }, codec: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
    augment: { type: 'string' }, init: { type: 'string' },
    mixer: { type: 'string' }, 'train-count': { type: 'string' }, 'no-augment': { type: 'boolean' },
    'eval-every': { type: 'string' }, 'eval-count': { type: 'string' }, 'eval-data': { type: 'string' },
    threads: { type: 'string' }, dtype: { type: 'string' }, size: { type: 'string' }, 'time-limit': { type: 'string' },
    ...Object.fromEntries([...GENERATOR_FLAGS, ...MODEL_FLAGS, ...RECIPE_FLAGS].map(([flag]) => [flag, { type: 'string' as const }])),
  },
  positionals: { min: 0, max: 0, names: '' },
  async run(_positionals, values) {
    const out = stringFlag(values, 'out');
    if (out === undefined) throw new OptionError('train needs an output directory', { field: '--out', value: undefined, expected: 'a directory path' });
    const threads = intFlag(values, 'threads', 1);
    const dtypeFlag = stringFlag(values, 'dtype') ?? 'f32';
    if (dtypeFlag !== 'f32' && dtypeFlag !== 'bf16') throw new OptionError('unknown storage dtype', { field: '--dtype', value: dtypeFlag, expected: 'f32 or bf16' });
    const dtype = dtypeFlag === 'bf16' ? 'BF16' : 'F32';

    const plan = values.resume ? resumePlan(out, values) : freshPlan(out, values);
    const { trainer, data } = plan;
    try {
      const steps = trainer.recipe.steps;
      const evalExamples = heldOutExamples(trainer.config, data, values);
      console.log(`trm train: ${describeModel(trainer.config)}; ${plan.trainCount} training examples; batch ${trainer.recipe.batch}, lr ${trainer.recipe.lr}, ` +
        `${steps} steps, ${trainer.threads} threads${trainer.step > 0 ? `; resuming at step ${trainer.step}` : ''}`);
      const progress = new ProgressLine(steps, trainer.step);
      const { stoppedBy } = await trainer.run({
        until: steps,
        evalEvery: intFlag(values, 'eval-every', 1),
        evalExamples,
        timeLimit: numberFlag(values, 'time-limit', 1, 1e9),
        onStep: (r) => progress.add(r),
        onCheckpoint: (report) => {
          saveCheckpoint(out, trainer, data, { dtype });
          progress.evaluation(report, out);
        },
      });
      if (stoppedBy === 'timeLimit') console.log(`trm train: time limit reached at step ${trainer.step}; continue with trm train --out ${out} --resume`);
      else progress.finish(trainer.elapsedSeconds);
    } finally {
      trainer.dispose();
    }

    function heldOutExamples(config: TrmConfig, source: TrainingDataSource, flags: FlagValues): Example[] {
      const evalCount = intFlag(flags, 'eval-count', 0) ?? DEFAULT_EVAL_COUNT;
      if (evalCount === 0) return [];
      const evalData = stringFlag(flags, 'eval-data');
      if (evalData !== undefined && source.kind === 'file' && source.codec) {
        const encoded = encodeDataset(parseCodec(source.codec, source.file), readLabelledJsonl(evalData), evalData);
        for (const line of describeNotes(encoded.notes)) console.log(`trm train: held-out ${line}`);
        return encoded.examples.slice(0, evalCount);
      }
      if (evalData !== undefined) {
        return readJsonlDataset(evalData, { seqLen: config.seq_len, vocabSize: config.vocab_size, numPuzzleIdentifiers: config.num_puzzle_identifiers }).slice(0, evalCount);
      }
      if (source.kind !== 'task') return [];
      const task = getTask(source.task, source.taskParams ?? {});
      return heldOutSet(task, evalCount, { training: { seed: source.seed, count: source.count, options: source.options } }).examples;
    }

    function freshPlan(dir: string, flags: FlagValues) {
      if (fs.existsSync(path.join(dir, TRAIN_STATE_FILE))) {
        throw new OptionError('the output directory already holds a training run', { field: '--out', value: dir, expected: 'a new directory, or --resume to continue it' });
      }
      const recipe: Partial<TrainingRecipe> = {};
      for (const [flag, key, integer] of RECIPE_FLAGS) {
        const v = integer ? intFlag(flags, flag) : numberFlag(flags, flag, 0, 1e9);
        if (v !== undefined) recipe[key] = v;
      }
      const taskName = stringFlag(flags, 'task');
      const dataFile = stringFlag(flags, 'data');
      if ((taskName === undefined) === (dataFile === undefined)) {
        throw new OptionError('train needs exactly one source of examples', { field: taskName === undefined ? '--task' : '--data', expected: `--task (${TASK_NAMES.join(', ')}) or --data FILE.jsonl` });
      }
      const init = initialModel(flags);
      let source: TrainingDataSource;
      let base: Record<string, unknown>;
      if (taskName !== undefined) {
        if (flags.augment !== undefined) throw new OptionError('--augment is for --data token lists', { field: '--augment', value: flags.augment, expected: 'no --augment with --task (its examples are augmented unless --no-augment)' });
        const size = intFlag(flags, 'size');
        const task = getTask(taskName, size === undefined ? {} : { size });
        const options: Record<string, unknown> = {};
        for (const [flag, key] of GENERATOR_FLAGS) {
          const v = intFlag(flags, flag);
          if (v !== undefined) options[key] = v;
        }
        const count = intFlag(flags, 'train-count', 1) ?? DEFAULT_TRAIN_COUNT;
        const seed = recipe.seed ?? 0;
        source = { kind: 'task', task: task.name, ...(size === undefined ? {} : { taskParams: { size } }), seed, count, options, augment: !flags['no-augment'] };
        base = { ...task.suggestedConfig(), [TRAIN_DATA_KEY]: { seed, count, options }, ...(size === undefined ? {} : { task_params: { size } }) };
      } else {
        for (const [flag] of GENERATOR_FLAGS) {
          if (flags[flag] !== undefined) throw new OptionError('generator options need --task', { field: `--${flag}`, value: flags[flag], expected: 'no generator option with --data' });
        }
        const file = path.resolve(dataFile!);
        const codecFile = stringFlag(flags, 'codec');
        const initCodec = init ? readModelCodec(init.dir, init.config) : undefined;
        if (codecFile !== undefined || initCodec !== undefined || isLabelledDataset(file)) {
          if (flags.augment !== undefined) throw new OptionError('--augment is for token lists', { field: '--augment', value: flags.augment, expected: 'no --augment with records or texts' });
          if (init && codecFile !== undefined) throw new OptionError('a fine-tune keeps the codec of the model it starts from', { field: '--codec', value: codecFile, expected: `no --codec with --init (the codec is ${path.join(init.dir, CODEC_FILE)})` });
          if (init && initCodec === undefined) {
            throw new OptionError('records and texts need the codec the model was trained with', { field: '--init', value: init.dir, expected: `a model directory with ${CODEC_FILE}` });
          }
          const codec = initCodec ?? (codecFile !== undefined ? readCodecFile(codecFile) : inferCodec(readLabelledJsonl(file), file));
          source = { kind: 'file', file, codec: codec.toJSON() };
          base = { ...codec.suggestedConfig(), seq_len: codec.seqLen, vocab_size: codec.vocabSize, num_puzzle_identifiers: 1 };
          announceCodec(codec, initCodec ? `${init!.dir}` : codecFile, writeCodecFile(dir, codec));
        } else {
          const augmentTask = stringFlag(flags, 'augment');
          source = { kind: 'file', file, ...(augmentTask === undefined ? {} : { augmentTask: getTask(augmentTask).name }) };
          base = configFromData(readJsonlDataset(dataFile!));
        }
      }
      const config = init ? fineTuneConfig(init, base) : modelConfig(base, flags);
      if (source.kind === 'file' && source.augmentTask !== undefined) checkAugmentFits(source.augmentTask, config);
      const built = buildTrainingData(source, config);
      for (const line of built.notes ?? []) console.log(`trm train: training data ${line}`);
      const trainer = new Trainer({ config, train: built.examples, augment: built.augment, recipe, weights: init?.weights, threads });
      if (init) console.log(`trm train: fine-tuning the model in ${init.dir} (${init.config[TRAINING_KEY] ? 'its trained weights' : 'its weights'}; a fresh optimizer and schedule)`);
      return { trainer, data: source, trainCount: built.examples.length };
    }

    /** The model --init names, with the model flags refused: its architecture is what is trained. */
    function initialModel(flags: FlagValues): ModelDirectory | undefined {
      const dir = stringFlag(flags, 'init');
      if (dir === undefined) return undefined;
      for (const flag of [...MODEL_FLAGS.map(([f]) => f), 'mixer']) {
        if (flags[flag] !== undefined) {
          throw new OptionError('a fine-tune keeps the architecture of the model it starts from', { field: `--${flag}`, value: flags[flag], expected: `no model flag with --init (the model is ${dir})` });
        }
      }
      return readModelDirectory(dir);
    }

    function announceCodec(codec: Codec, declared: string | undefined, written: string) {
      console.log(`trm train: ${declared ? `codec from ${declared}` : 'codec inferred from the data (check it; edit it and pass --codec to change it)'}, written to ${written}:`);
      for (const line of codec.describe()) console.log(`  ${line}`);
      for (const slot of codec.labels.slots) console.log(`  label slot ${slot.name}: ${slot.classes.length} classes${slot.allowsNone ? ' or NONE' : ''}; position ${slot.position}`);
      console.log(`  seq_len ${codec.seqLen}, vocabulary ${codec.vocabSize} tokens`);
    }

    function resumePlan(dir: string, flags: FlagValues) {
      for (const key of Object.keys(flags)) {
        if (flags[key] !== undefined && !RESUME_FLAGS.has(key)) {
          throw new OptionError('on --resume the run continues with its saved settings', { field: `--${key}`, value: flags[key], expected: [...RESUME_FLAGS].map((f) => `--${f}`).join(', ') });
        }
      }
      const saved = loadCheckpoint(dir);
      const steps = intFlag(flags, 'steps', 1) ?? saved.recipe.steps;
      const built = buildTrainingData(saved.data, saved.config);
      const trainer = new Trainer({
        config: saved.config, train: built.examples, augment: built.augment, recipe: { ...saved.recipe, steps },
        weights: saved.state.weights, threads: threads ?? saved.threads,
      });
      trainer.restore(saved.state);
      return { trainer, data: saved.data, trainCount: built.examples.length };
    }
  },
};

/**
 * The config of a fine-tune: the starting model's, which must read the new examples (same
 * seq_len, vocabulary and puzzle identifiers); a --task source's name and training-set
 * description replace the old ones (so held-out sets exclude what this run trains on), and
 * FINE_TUNED_FROM_KEY records where the weights came from (the chain, for a fine-tune of a fine-tune).
 */
function fineTuneConfig(init: ModelDirectory, data: Record<string, unknown>): TrmConfig {
  const from = init.config as Record<string, unknown>;
  for (const key of ['seq_len', 'vocab_size', 'num_puzzle_identifiers'] as const) {
    const needed = data[key] as number;
    const fits = key === 'seq_len' ? needed === from[key] : needed <= (from[key] as number);
    if (!fits) {
      throw new OptionError(`the examples do not fit the model of --init (${key})`, {
        field: '--init', value: init.dir, expected: `a model with ${key} ${key === 'seq_len' ? '' : 'at least '}${needed}, as the training examples need (it has ${from[key]})`,
      });
    }
  }
  const config: Record<string, unknown> = { ...from };
  delete config[TRAINING_KEY];
  for (const key of [TRAIN_DATA_KEY, 'task', 'task_params']) if (data[key] !== undefined) config[key] = data[key];
  // The starting model by its directory's name (as training.data names its file), its training
  // block, and where it came from in turn when it was a fine-tune itself.
  config[FINE_TUNED_FROM_KEY] = {
    model: path.basename(init.dir),
    ...(from[TRAINING_KEY] ? { training: from[TRAINING_KEY] } : {}),
    ...(from[FINE_TUNED_FROM_KEY] ? { [FINE_TUNED_FROM_KEY]: from[FINE_TUNED_FROM_KEY] } : {}),
  };
  return parseConfig(config, '<trm train --init config>');
}

/** --augment applies a task's symmetries, which only make sense on that task's token layout. */
function checkAugmentFits(taskName: string, config: TrmConfig): void {
  const task = getTask(taskName).suggestedConfig() as Record<string, unknown>;
  if (task.seq_len !== config.seq_len || (task.vocab_size as number) < config.vocab_size) {
    throw new OptionError(`the examples are not ${taskName} token lists`, {
      field: '--augment', value: taskName, expected: `examples of ${task.seq_len} tokens below ${task.vocab_size} (these have ${config.seq_len} tokens, vocabulary ${config.vocab_size})`,
    });
  }
}

/** The config for --data: seq_len, vocabulary and puzzle ids from the examples; a small default model. */
export function configFromData(examples: readonly Example[]): Record<string, unknown> {
  if (examples.length === 0) throw new OptionError('the data file has no examples', { field: '--data', value: 0, expected: 'at least one example' });
  let vocab = 0;
  let ids = 0;
  for (const e of examples) {
    for (const t of e.inputs) vocab = Math.max(vocab, t + 1);
    for (const t of e.labels) vocab = Math.max(vocab, t + 1);
    ids = Math.max(ids, e.puzzleIdentifier + 1);
  }
  return {
    seq_len: examples[0].inputs.length, vocab_size: vocab, num_puzzle_identifiers: ids,
    hidden_size: 128, num_heads: 2, expansion: 4, H_cycles: 3, L_cycles: 4, L_layers: 2, halt_max_steps: 16,
    halt_exploration_prob: 0.1, pos_encodings: 'rope', mlp_t: false,
    // One learned row per puzzle identifier when the data has several (the official puzzle embedding).
    puzzle_emb_ndim: ids > 1 ? 128 : 0, puzzle_emb_len: 0, no_ACT_continue: true,
  };
}

function modelConfig(base: Record<string, unknown>, flags: FlagValues): TrmConfig {
  const config = { ...base };
  for (const [flag, key] of MODEL_FLAGS) {
    const v = intFlag(flags, flag, 1);
    if (v !== undefined) config[key] = v;
  }
  const mixer = stringFlag(flags, 'mixer');
  if (mixer !== undefined) {
    if (mixer !== 'attention' && mixer !== 'mlp') throw new OptionError('unknown token mixer', { field: '--mixer', value: mixer, expected: 'attention or mlp' });
    config.mlp_t = mixer === 'mlp';
    // mlp_t mixes tokens with a learned MLP, which already knows positions; attention needs RoPE.
    config.pos_encodings = mixer === 'mlp' ? 'none' : 'rope';
  }
  if (flags.hidden !== undefined && flags.heads === undefined) config.num_heads = Math.max(1, Math.floor((config.hidden_size as number) / 64));
  if ((config.puzzle_emb_ndim as number) > 0) config.puzzle_emb_ndim = config.hidden_size;
  return parseConfig(config, '<trm train config>');
}

function describeModel(c: TrmConfig): string {
  return `hidden ${c.hidden_size}, ${c.mlp_t ? 'mlp_t' : `attention (${c.num_heads} heads)`}, H_cycles ${c.H_cycles}, L_cycles ${c.L_cycles}, ` +
    `${c.L_layers} layers, halt_max_steps ${c.halt_max_steps}`;
}

/** The progress display: one rewritten line on a terminal, plain lines (every ~5% and at each eval) otherwise. */
class ProgressLine {
  private readonly tty = process.stdout.isTTY === true;
  private readonly startTime = Date.now();
  private readonly startStep: number;
  private window = { steps: 0, loss: 0, halted: 0, correct: 0, actSteps: 0 };
  private last?: StepReport;
  private readonly printEvery: number;

  constructor(private readonly total: number, startStep: number) {
    this.startStep = startStep;
    this.printEvery = Math.max(1, Math.round(total / 20));
  }

  add(r: StepReport): void {
    this.last = r;
    const w = this.window;
    w.steps++;
    w.loss += r.loss;
    w.halted += r.halted;
    w.correct += r.haltedCorrect;
    w.actSteps += r.haltedSteps;
    if (this.tty) {
      process.stdout.write(`\r${this.line()}\x1b[K`);
      // The figures are of the last printEvery steps, not of the whole run, so they move.
      if (r.step % this.printEvery === 0) this.resetWindow();
    } else if (r.step % this.printEvery === 0) {
      this.flush();
    }
  }

  evaluation(report: HeldOutReport | undefined, dir: string): void {
    if (this.tty) process.stdout.write('\n');
    else this.flush();
    if (report) {
      const f = report.fixed, a = report.adaptive;
      console.log(`  held-out (${f.count}) at step ${report.step}: exact ${percent(f.exactAccuracy)} fixed (${f.maxSteps} steps), ` +
        `${percent(a.exactAccuracy)} adaptive (mean ${a.meanSteps.toFixed(2)} steps); token ${percent(f.tokenAccuracy)}; saved ${dir}`);
    } else {
      console.log(`  saved ${dir}`);
    }
  }

  finish(elapsedSeconds: number): void {
    if (this.tty) process.stdout.write('\n');
    console.log(`trm train: done, ${formatSeconds(elapsedSeconds)} in all`);
  }

  private flush(): void {
    if (this.window.steps === 0) return;
    console.log(this.line());
    this.resetWindow();
  }

  private resetWindow(): void {
    this.window = { steps: 0, loss: 0, halted: 0, correct: 0, actSteps: 0 };
  }

  private line(): string {
    const r = this.last!;
    const w = this.window;
    const done = r.step - this.startStep;
    const rate = done / Math.max(1e-3, (Date.now() - this.startTime) / 1000);
    const eta = (this.total - r.step) / Math.max(rate, 1e-9);
    const exact = w.halted > 0 ? percent(w.correct / w.halted) : '-';
    const steps = w.halted > 0 ? (w.actSteps / w.halted).toFixed(2) : '-';
    return `step ${r.step}/${this.total}  loss ${(w.loss / w.steps).toFixed(4)}  exact ${exact}  act steps ${steps}  ` +
      `${rate.toFixed(2)} steps/s  ETA ${formatSeconds(eta)}`;
  }
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)}s`;
}
