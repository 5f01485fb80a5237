/**
 * What every `trm` command shares: the command shape the dispatcher in cli.ts runs, flag
 * parsing into typed values (a bad flag is an OptionError naming the flag), and the model
 * loading flags.
 */
import { OptionError } from '../errors';
import type { InferOptions, LoadOptions } from '../types';

export type FlagValues = Record<string, string | boolean | undefined>;
export type FlagSpec = Record<string, { type: 'string' | 'boolean' }>;

export interface Command {
  /** Lines of the usage text: the synopsis, then one line per option. */
  usage: string;
  /** Takes LOAD_FLAGS (described once, in LOAD_USAGE). */
  loadsModel?: boolean;
  /** Takes STOP_FLAGS (described once, in STOP_USAGE). */
  stopping?: boolean;
  /** The flags this command takes; any other is an error. */
  flags: FlagSpec;
  /** Positional arguments after the command name: how many, and their names for the error. */
  positionals: { min: number; max: number; names: string };
  run(positionals: string[], values: FlagValues): Promise<void>;
}

/** The flags of `loadModel`'s options, for every command that loads a model. */
export const LOAD_FLAGS: FlagSpec = {
  backend: { type: 'string' }, threads: { type: 'string' }, isa: { type: 'string' }, precision: { type: 'string' },
};

export const LOAD_USAGE = `  model options of info, run, eval and solve:
    --backend NAME   native (default) | onnx
    --threads N      worker threads (default: all cores)
    --isa NAME       auto | amx | avx512 | avx2 | scalar (native backend)
    --precision P    fp32 (default; int8 for a \`trm quantize\` directory) | bf16 (native backend) | int8`;

export function stringFlag(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function intFlag(values: FlagValues, name: string, min = -Infinity): number | undefined {
  const value = stringFlag(values, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    throw new OptionError('not an integer', { field: `--${name}`, value, expected: min === -Infinity ? 'an integer' : `an integer >= ${min}` });
  }
  return n;
}

export function numberFlag(values: FlagValues, name: string, min: number, max: number): number | undefined {
  const value = stringFlag(values, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !(n >= min && n <= max)) {
    throw new OptionError('out of range', { field: `--${name}`, value, expected: `a number in [${min}, ${max}]` });
  }
  return n;
}

/** The loadModel options from --backend, --threads, --isa and --precision; loadModel checks their values. */
export function loadOptions(values: FlagValues): LoadOptions {
  const options: Record<string, unknown> = {};
  const threads = intFlag(values, 'threads', 1);
  if (threads !== undefined) options.threads = threads;
  for (const key of ['backend', 'isa', 'precision']) {
    const v = stringFlag(values, key);
    if (v !== undefined) options[key] = v;
  }
  return options as LoadOptions;
}

/** The stopping-rule and recursion-depth flags of run, eval and solve (beside each one's --threshold and --steps). */
export const STOP_FLAGS: FlagSpec = {
  confidence: { type: 'string' }, 'stable-steps': { type: 'string' }, 'h-cycles': { type: 'string' }, 'l-cycles': { type: 'string' },
};

export const STOP_USAGE = `  stopping and depth options of run, eval and solve:
    --confidence C   stop a sample once its confidence (mean max softmax probability) >= C
    --stable-steps K stop a sample once its predictions have not changed for K steps
    --h-cycles N     H_cycles of every step instead of the config's (off the training setting)
    --l-cycles N     L_cycles likewise`;

export type StopFlagOptions = Pick<InferOptions, 'confidenceThreshold' | 'stableSteps' | 'hCycles' | 'lCycles'>;

/** The infer options of --confidence, --stable-steps, --h-cycles and --l-cycles; infer checks the cycle bounds. */
export function stopOptions(values: FlagValues): StopFlagOptions {
  const options: StopFlagOptions = {};
  const confidence = numberFlag(values, 'confidence', 0, 1);
  if (confidence !== undefined) options.confidenceThreshold = confidence;
  const stable = intFlag(values, 'stable-steps', 1);
  if (stable !== undefined) options.stableSteps = stable;
  const h = intFlag(values, 'h-cycles', 1);
  if (h !== undefined) options.hCycles = h;
  const l = intFlag(values, 'l-cycles', 1);
  if (l !== undefined) options.lCycles = l;
  return options;
}

/** Milliseconds since `start` (a process.hrtime.bigint()). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}
