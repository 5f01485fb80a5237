/**
 * What `GET /v1/models` says about one version: when and from where it was published
 * (`version.json`, written by publish), the held-out accuracy its model card states, and
 * how many examples it was trained on (config.json's `train_data` and `training` blocks, and
 * the `training` blocks of the runs a fine-tune started from).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CODEC_FILE } from '../codecs/codec';
import type { TrmConfig } from '../model/config';
import { FINE_TUNED_FROM_KEY, TRAINING_KEY } from '../train/checkpoint';
import { writeFileAtomic } from '../util/write-file-atomic';

/** Written into every published version directory. */
export const VERSION_FILE = 'version.json';
/** The model card: the held-out table `trm eval` measured (see models/<name>/README.md). */
export const CARD_FILE = 'README.md';

export interface Accuracy {
  /** Exact-match fraction over the held-out set. */
  exact: number;
  correct: number;
  count: number;
}

export interface VersionMetadata {
  /** ISO 8601 time of publishing; for an unpublished directory (the shipped models) its config's mtime. */
  created: string | null;
  /** The directory it was published from. */
  source: string | null;
  task: string | null;
  /** 'record' or 'text' for a codec model (its codec.json's kind; GET .../codec has the rest), else null. */
  codec: 'record' | 'text' | null;
  /** The card's "fixed" (official eval, all steps) and "adaptive" (halting) rows. */
  heldOutAccuracy: { fixed?: Accuracy; adaptive?: Accuracy } | null;
  trainingSamples: { distinct: number | null; drawn: number | null; steps: number | null } | null;
}

interface PublishRecord { version: number; created: string; source: string }

export function writePublishRecord(dir: string, record: PublishRecord): void {
  writeFileAtomic(path.join(dir, VERSION_FILE), JSON.stringify(record, null, 2) + '\n');
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

/** The "| fixed (...) | 99.6% (996/1000) |" rows of a card (the format test/models/cards.test.ts checks). */
export function cardAccuracy(card: string): VersionMetadata['heldOutAccuracy'] {
  const row = (label: string): Accuracy | undefined => {
    const m = new RegExp(`^\\| ${label}[^|]*\\| [0-9.]+% \\((\\d+)/(\\d+)\\)`, 'm').exec(card);
    if (!m) return undefined;
    const correct = Number(m[1]), count = Number(m[2]);
    return { exact: count > 0 ? correct / count : 0, correct, count };
  };
  const fixed = row('fixed'), adaptive = row('adaptive');
  return fixed || adaptive ? { ...(fixed && { fixed }), ...(adaptive && { adaptive }) } : null;
}

function codecKind(value: unknown): VersionMetadata['codec'] {
  return value === 'record' || value === 'text' ? value : null;
}

/**
 * Steps and examples drawn over the whole making of the weights: the `training` block, plus
 * the runs a fine-tune started from (`fine_tuned_from`, written by `trm train --init`, each
 * holding its run's `training` block and its own start). A count missing anywhere is null.
 */
function trainingTotals(config: Record<string, unknown>): { steps: number | null; drawn: number | null } | undefined {
  type Block = Record<string, unknown> | undefined;
  const runs: Block[] = [config[TRAINING_KEY] as Block];
  for (let from = config[FINE_TUNED_FROM_KEY] as Block; from && typeof from === 'object'; from = from[FINE_TUNED_FROM_KEY] as Block) {
    runs.push(from[TRAINING_KEY] as Block);
  }
  if (runs[0] === undefined) return undefined;
  const total = (key: string): number | null => runs.reduce<number | null>((sum, run) => {
    const v = numberOrNull(run?.[key]);
    return sum === null || v === null ? null : sum + v;
  }, 0);
  return { steps: total('steps'), drawn: total('examples_drawn') };
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function versionMetadata(dir: string, config: TrmConfig): VersionMetadata {
  const record = readJson(path.join(dir, VERSION_FILE));
  let created = typeof record?.created === 'string' ? record.created : null;
  if (created === null) {
    try {
      created = fs.statSync(path.join(dir, 'config.json')).mtime.toISOString();
    } catch {
      created = null;
    }
  }
  let heldOutAccuracy: VersionMetadata['heldOutAccuracy'] = null;
  try {
    heldOutAccuracy = cardAccuracy(fs.readFileSync(path.join(dir, CARD_FILE), 'utf8'));
  } catch {
    heldOutAccuracy = null;
  }
  const trainData = config.train_data as Record<string, unknown> | undefined;
  const training = trainingTotals(config as Record<string, unknown>);
  const trainingSamples = trainData || training
    ? { distinct: numberOrNull(trainData?.count), drawn: training?.drawn ?? null, steps: training?.steps ?? null }
    : null;
  return {
    created,
    source: typeof record?.source === 'string' ? record.source : null,
    task: typeof config.task === 'string' ? config.task : null,
    codec: codecKind(readJson(path.join(dir, CODEC_FILE))?.kind),
    heldOutAccuracy,
    trainingSamples,
  };
}
