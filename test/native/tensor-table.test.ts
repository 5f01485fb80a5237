/**
 * The tensor table lives once in the core (native/core/tensor_table.h): the CPU model, the
 * CUDA model and the gradient engine all load by it. lib/model/weights.ts checks files
 * against its own list (it needs no addon, and names the config fields behind each axis),
 * so the two lists are held against each other here, for every architecture switch the
 * config has and for the shipped models.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, randomConfig } from '../../lib';
import { nativeSpec } from '../../lib/backends/native';
import type { TrmConfig } from '../../lib/model/config';
import { expectedTensors } from '../../lib/model/weights';
import { loadAddon } from '../../lib/native/addon';
import { REPO_ROOT } from '../helpers/paths';

const shipped = fs.readdirSync(path.join(REPO_ROOT, 'models')).map((name): [string, TrmConfig] => [
  `models/${name}`,
  parseConfig(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'models', name, 'config.json'), 'utf8'))),
]);

const CONFIGS: [string, TrmConfig][] = [
  ['attention + RoPE', randomConfig({ L_layers: 2 })],
  ['learned positions, puzzle prefix', randomConfig({ pos_encodings: 'learned', puzzle_emb_ndim: 40, puzzle_emb_len: 2, num_puzzle_identifiers: 3 })],
  ['mlp_t, no positions', randomConfig({ mlp_t: true, pos_encodings: 'none', L_layers: 3 })],
  ...shipped,
];

describe('the TypeScript tensor list equals the core table', () => {
  const addon = loadAddon();
  it.each(CONFIGS)('%s', (_name, config) => {
    const core = addon.tensorTable(nativeSpec(config));
    const ts = expectedTensors(config);
    expect(ts.map((t) => t.name)).toEqual(core.map((t) => t.name));
    expect(ts.map((t) => t.shape)).toEqual(core.map((t) => t.shape));
    // The table is what every native backend loads, so a training engine sees it whole.
    expect(core.length).toBeGreaterThanOrEqual(6 + 4 * config.L_layers);
  });
});
