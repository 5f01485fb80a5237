/**
 * The seed corpora: the shipped models (models/*) and the golden models of the official code
 * (../shared/golden, configs and safetensors), read once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig, type TrmConfig } from '../../lib/model/config';
import { GOLDEN_DIR, REPO_ROOT } from '../helpers/paths';

export interface ModelSeed {
  label: string;
  configText: string;
  config: TrmConfig;
  weightsBytes: Buffer;
}

let cached: ModelSeed[] | undefined;

/** Every model directory with config.json and model.safetensors, smallest weights first. */
export function modelSeeds(): ModelSeed[] {
  if (cached) return cached;
  const dirs: string[] = [];
  for (const root of [path.join(REPO_ROOT, 'models'), GOLDEN_DIR, path.join(GOLDEN_DIR, 'checkpoints')]) {
    if (!fs.existsSync(root)) continue;
    for (const name of fs.readdirSync(root)) dirs.push(path.join(root, name));
  }
  cached = dirs
    .filter((d) => fs.existsSync(path.join(d, 'config.json')) && fs.existsSync(path.join(d, 'model.safetensors')))
    .map((d) => {
      const configText = fs.readFileSync(path.join(d, 'config.json'), 'utf8');
      return { label: path.relative(path.dirname(REPO_ROOT), d), configText, config: parseConfig(JSON.parse(configText)), weightsBytes: fs.readFileSync(path.join(d, 'model.safetensors')) };
    })
    .sort((a, b) => a.weightsBytes.length - b.weightsBytes.length);
  return cached;
}
