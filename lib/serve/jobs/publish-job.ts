/**
 * A finished job's model becomes the next version of its model: the checkpoint's model
 * files (EMA weights, config.json) are copied into a temporary folder beside the job's
 * checkpoint with `metadata.json` (job id, dataset hash, recipe, held-out accuracy, created,
 * training time) and a model card (README.md, whose held-out rows GET /v1/models reads),
 * each file fsync'd, the folder renamed into place; the repository's publish then adds it
 * as the next version (its own hidden folder and rename, and retention).
 *
 * Promotion moves `current`: 'always'; 'if-better' only when the new model is at least as
 * accurate as the version it would replace on every held-out set (fine-tune: the original
 * held-out set and the held-out feedback); 'never' leaves it. A model with versions but no
 * `current` alias serves its highest version, so a new version would go live by being the
 * highest: before publishing one that is not promoted, `current` is pinned to what serves now.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_FILE, WEIGHTS_FILE } from '../../model/directory';
import { CURRENT_ALIAS, defaultVersion, readAliases, writeAliases } from '../aliases';
import { listVersions, syncToDisk } from '../publish';
import type { ModelRepository } from '../repository';
import type { Accuracy, JobRecord, JobResult } from './store';

export const METADATA_FILE = 'metadata.json';

function writeSynced(file: string, data: string | Buffer): void {
  fs.writeFileSync(file, data);
  syncToDisk(file);
}

export function fileSha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export interface Finished {
  checkpoint: string;
  heldOut: Record<string, Accuracy>;
  baseline: Record<string, Accuracy> | null;
  trainingSeconds: number;
  /** The sha256 of the training data: the uploaded dataset's, or the fine-tune mix's; null for a generated task set. */
  datasetSha256: string | null;
}

function percent(a: Accuracy): string {
  return `${(100 * a.exact).toFixed(1)}% (${a.correct}/${a.count})`;
}

/** The card rows `cardAccuracy` (version-info.ts) reads: the first held-out set is the model's "fixed" row. */
function card(job: JobRecord, heldOut: Record<string, Accuracy>): string {
  const sets = Object.entries(heldOut);
  const lines = [`# ${job.model}, trained by ${job.id}`, '', `${job.kind} job; recipe ${JSON.stringify(job.spec.recipe)}.`, '',
    '| held-out | exact |', '| --- | --- |'];
  sets.forEach(([set, a], i) => lines.push(`| ${i === 0 ? 'fixed' : set} (${set}, all ACT steps) | ${percent(a)} |`));
  return lines.join('\n') + '\n';
}

/** Whether the new scores are no worse than the baseline on every set they share; why, in words. */
export function noWorse(heldOut: Record<string, Accuracy>, baseline: Record<string, Accuracy> | null): { better: boolean; reason: string } {
  if (!baseline) return { better: true, reason: 'no earlier version to compare with' };
  const worse = Object.keys(baseline).filter((set) => heldOut[set] && heldOut[set].exact < baseline[set].exact);
  const compared = Object.keys(baseline).filter((set) => heldOut[set]).map((set) => `${set} ${percent(baseline[set])} -> ${percent(heldOut[set])}`);
  if (compared.length === 0) return { better: false, reason: 'no held-out set to compare on' };
  return worse.length === 0
    ? { better: true, reason: `no worse on every held-out set (${compared.join('; ')})` }
    : { better: false, reason: `worse on ${worse.join(', ')} (${compared.join('; ')})` };
}

export async function publishJob(repository: ModelRepository, root: string, job: JobRecord, finished: Finished): Promise<JobResult> {
  const { spec } = job;
  const jobDir = path.dirname(finished.checkpoint);
  const staging = path.join(jobDir, `.publish-${process.pid}-${Date.now()}`);
  const ready = path.join(jobDir, 'model');
  fs.rmSync(ready, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  for (const name of [CONFIG_FILE, WEIGHTS_FILE]) {
    fs.copyFileSync(path.join(finished.checkpoint, name), path.join(staging, name));
    syncToDisk(path.join(staging, name));
  }
  const metadata = {
    job: job.id, kind: spec.kind, model: spec.model,
    source: spec.task !== undefined ? { task: spec.task, options: spec.taskOptions ?? {}, count: spec.trainCount ?? null } : spec.dataset !== undefined ? { dataset: spec.dataset } : { feedback: spec.model, baseVersion: spec.baseVersion },
    datasetSha256: finished.datasetSha256,
    recipe: spec.recipe,
    heldOutAccuracy: finished.heldOut,
    baselineAccuracy: finished.baseline,
    created: new Date().toISOString(),
    trainingSeconds: Math.round(finished.trainingSeconds * 10) / 10,
  };
  writeSynced(path.join(staging, METADATA_FILE), JSON.stringify(metadata, null, 2) + '\n');
  writeSynced(path.join(staging, 'README.md'), card(job, finished.heldOut));
  syncToDisk(staging);
  fs.renameSync(staging, ready);
  syncToDisk(jobDir);

  const verdict = spec.promote === 'always' ? { better: true, reason: 'promote: always' }
    : spec.promote === 'never' ? { better: false, reason: 'promote: never' } : noWorse(finished.heldOut, finished.baseline);
  const modelDir = path.join(root, spec.model);
  const versions = listVersions(modelDir);
  const aliases = readAliases(modelDir);
  if (!verdict.better && versions.length > 0 && aliases[CURRENT_ALIAS] === undefined) {
    writeAliases(modelDir, { ...aliases, [CURRENT_ALIAS]: defaultVersion(versions, aliases)! });
  }
  const { version, deleted } = await repository.publish(ready, { name: spec.model, ...(verdict.better ? { alias: CURRENT_ALIAS } : {}) });
  return {
    version, promoted: verdict.better, promoteReason: verdict.reason, heldOut: finished.heldOut, baseline: finished.baseline,
    trainingSeconds: metadata.trainingSeconds, deleted,
  };
}
