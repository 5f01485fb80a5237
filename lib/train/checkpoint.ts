/**
 * Checkpoints of a training run, in the model directory itself:
 * - config.json + model.safetensors: the model (EMA weights), loadable by loadModel, with a
 *   `training` block in config.json (recipe, steps done, seconds spent);
 * - train_state.safetensors: what a resume needs, raw weights, Adam moments, EMA, the
 *   persistent batch (examples, ACT steps, carries), with the run's counters (step, data
 *   position; every random stream is keyed by them, so they are the RNG state) as JSON in
 *   its metadata; train_state.json is the same JSON for people.
 * Every file is written to a temporary name and renamed, model.safetensors before
 * config.json and the state before its JSON copy: a crash mid-save leaves each file whole,
 * old or new, and the model directory loadable. Resume reads only train_state.safetensors,
 * which holds its own counters, so it never mixes two saves.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError } from '../errors';
import { writeModelDirectory } from '../model/directory';
import { parseConfig, type TrmConfig } from '../model/config';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../model/safetensors';
import { writeFileAtomic } from '../util/write-file-atomic';
import type { WeightMap } from '../model/weights';
import { resolveRecipe, type TrainingRecipe } from './recipe';
import type { Trainer, TrainerState } from './trainer';

export const TRAIN_STATE_FILE = 'train_state.safetensors';
export const TRAIN_STATE_JSON = 'train_state.json';
/** The config.json key of the training summary. */
export const TRAINING_KEY = 'training';
/** The config.json key that says which model a fine-tune (`trm train --init`) started from: its name, training summary and own start. */
export const FINE_TUNED_FROM_KEY = 'fine_tuned_from';
const STATE_FORMAT = 'trm-node-train-state/1';

/** Where the training examples came from, so a resume can rebuild the same stream. */
export type TrainingDataSource =
  | { kind: 'task'; task: string; taskParams?: Record<string, unknown>; seed: number; count: number; options?: Record<string, unknown>; augment: boolean }
  | { kind: 'file'; file: string; augmentTask?: string; codec?: object };

export interface SavedRun {
  config: TrmConfig;
  recipe: TrainingRecipe;
  threads: number;
  data: TrainingDataSource;
  state: TrainerState;
}

interface StateHeader {
  format: string;
  step: number;
  stream_position: number;
  elapsed_seconds: number;
  adam_updates: number;
  threads: number;
  recipe: TrainingRecipe;
  data: TrainingDataSource;
  config: Record<string, unknown>;
}

/** The `training` block of config.json: how the weights were made. */
export function trainingSummary(trainer: Trainer, data: TrainingDataSource): Record<string, unknown> {
  const r = trainer.recipe;
  return {
    steps: trainer.step, batch: r.batch, lr: r.lr, seed: r.seed, elapsed_seconds: Math.round(trainer.elapsedSeconds * 10) / 10,
    threads: trainer.threads, examples_drawn: trainer.examplesDrawn, recipe: r,
    data: data.kind === 'file'
      ? { file: path.basename(data.file), ...(data.codec ? { codec: 'codec.json' } : {}), ...(data.augmentTask ? { augment: data.augmentTask } : {}) }
      : { task: data.task, augment: data.augment },
  };
}

/** Writes the model (EMA weights) and the resume state into `dir`. */
export function saveCheckpoint(dir: string, trainer: Trainer, data: TrainingDataSource, options: { dtype?: 'F32' | 'BF16' } = {}): void {
  const config = { ...trainer.config, [TRAINING_KEY]: trainingSummary(trainer, data) } as TrmConfig;
  writeModelDirectory(dir, config, trainer.modelWeights(), { dtype: options.dtype });

  const state = trainer.state();
  const header: StateHeader = {
    format: STATE_FORMAT, step: state.step, stream_position: state.streamPosition, elapsed_seconds: state.elapsedSeconds,
    adam_updates: state.adamUpdates, threads: trainer.threads, recipe: trainer.recipe, data, config: { ...trainer.config },
  };
  const tensors: Record<string, TensorToWrite> = {};
  const addGroup = (prefix: string, map: WeightMap) => {
    for (const [name, data] of Object.entries(map)) tensors[`${prefix}.${name}`] = { dtype: 'F32', shape: [data.length], data };
  };
  addGroup('weights', state.weights);
  addGroup('adam_m', state.firstMoments);
  addGroup('adam_v', state.secondMoments);
  addGroup('ema', state.averages);
  const s = state.slots;
  tensors['slots.inputs'] = { dtype: 'I32', shape: [s.inputs.length], data: s.inputs };
  tensors['slots.labels'] = { dtype: 'I32', shape: [s.labels.length], data: s.labels };
  tensors['slots.puzzle_identifiers'] = { dtype: 'I32', shape: [s.puzzleIdentifiers.length], data: s.puzzleIdentifiers };
  tensors['slots.steps'] = { dtype: 'I32', shape: [s.steps.length], data: s.steps };
  tensors['slots.halted'] = { dtype: 'U8', shape: [s.halted.length], data: s.halted };
  tensors['slots.z_H'] = { dtype: 'F32', shape: [s.zH.length], data: s.zH };
  tensors['slots.z_L'] = { dtype: 'F32', shape: [s.zL.length], data: s.zL };
  const json = JSON.stringify(header, null, 2);
  writeSafetensors(path.join(dir, TRAIN_STATE_FILE), tensors, { [STATE_FORMAT]: json });
  writeFileAtomic(path.join(dir, TRAIN_STATE_JSON), json + '\n');
}

/** Reads the resume state of `dir` (a ModelFormatError when it is missing or not one). */
export function loadCheckpoint(dir: string): SavedRun {
  const file = path.join(path.resolve(dir), TRAIN_STATE_FILE);
  if (!fs.existsSync(file)) {
    throw new ModelFormatError('no training state to resume from', { file, expected: `${TRAIN_STATE_FILE}, written by trm train into its --out directory` });
  }
  const st = readSafetensors(file);
  const raw = st.metadata[STATE_FORMAT];
  if (raw === undefined) throw new ModelFormatError('not a trm-node training state', { file, field: '__metadata__', expected: `a "${STATE_FORMAT}" entry` });
  let header: StateHeader;
  try {
    header = JSON.parse(raw) as StateHeader;
  } catch {
    throw new ModelFormatError('training state header is not JSON', { file, field: STATE_FORMAT });
  }
  const config = parseConfig(header.config, file);
  const recipe = resolveRecipe(header.recipe);
  const group = (prefix: string): WeightMap => {
    const out: WeightMap = {};
    for (const name of st.names()) if (name.startsWith(`${prefix}.`)) out[name.slice(prefix.length + 1)] = st.toFloat32(name);
    return out;
  };
  const state: TrainerState = {
    step: header.step,
    streamPosition: header.stream_position,
    elapsedSeconds: header.elapsed_seconds,
    adamUpdates: header.adam_updates,
    weights: group('weights'),
    firstMoments: group('adam_m'),
    secondMoments: group('adam_v'),
    averages: group('ema'),
    slots: {
      inputs: st.toInt32('slots.inputs'), labels: st.toInt32('slots.labels'), puzzleIdentifiers: st.toInt32('slots.puzzle_identifiers'),
      steps: st.toInt32('slots.steps'), halted: Uint8Array.from(st.toInt32('slots.halted')),
      zH: st.toFloat32('slots.z_H'), zL: st.toFloat32('slots.z_L'),
    },
  };
  return { config, recipe, threads: header.threads, data: header.data, state };
}
