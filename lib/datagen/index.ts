/** The labelled-data generators by name, for `trm generate --dataset` and the shipped models' cards. */
import { OptionError } from '../errors';
import { complianceRecords } from './compliance-records';
import { intentUtterances, type IntentSplit } from './intents';
import type { LabelledExample } from './labelled';

export const DATASET_NAMES = ['compliance-records', 'intents'] as const;

export interface DatasetOptions {
  /** intents: 'train' (default) or 'heldout' phrasings and slot values. */
  split?: string;
  exclude?: ReadonlySet<string>;
}

export function generateDataset(name: string, count: number, seed: number, options: DatasetOptions = {}): LabelledExample[] {
  if (name === 'compliance-records') {
    if (options.split !== undefined) throw new OptionError('compliance-records has no splits', { field: 'split', value: options.split, expected: 'no --split (held-out records come from another seed with --exclude)' });
    return complianceRecords(count, seed, { exclude: options.exclude });
  }
  if (name === 'intents') return intentUtterances(count, seed, { split: options.split as IntentSplit | undefined, exclude: options.exclude });
  throw new OptionError('unknown dataset', { field: '--dataset', value: name, expected: `one of ${DATASET_NAMES.join(', ')}` });
}

export { complianceRecords, intentUtterances };
export { inputKey, writeLabelledJsonl, type LabelledExample } from './labelled';
