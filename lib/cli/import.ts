/** `trm import PATH --out DIR`: an official PyTorch checkpoint (or a run folder's newest) as a model directory. */
import { OptionError } from '../errors';
import { importCheckpoint } from '../model/pytorch/import';
import { Command, msSince, stringFlag } from './common';

export const importCommand: Command = {
  usage: `  trm import PATH --out DIR         convert an official PyTorch checkpoint (step_<N>, or a run
                                    folder: its newest step_<N>) into a model directory
    --out DIR        the model directory to write
    --config FILE    JSON or YAML over all_config.yaml's arch: the official model config, or the
                     dataset's dataset.json (seq_len of a RoPE model lives only there)`,
  flags: { out: { type: 'string' }, config: { type: 'string' } },
  positionals: { min: 1, max: 1, names: 'PATH' },
  async run([checkpoint], values) {
    const out = stringFlag(values, 'out');
    if (out === undefined) throw new OptionError('trm import needs --out', { field: '--out', expected: 'the model directory to write' });
    const start = process.hrtime.bigint();
    const { dir, config, importedFrom } = importCheckpoint(checkpoint, { out, config: stringFlag(values, 'config') });
    console.log(`${dir}: imported ${importedFrom.path}${importedFrom.step === null ? '' : ` (step ${importedFrom.step})`} in ${msSince(start).toFixed(0)} ms`);
    console.log(`  sha256 ${importedFrom.sha256}`);
    console.log(`  seq_len ${config.seq_len}, vocab_size ${config.vocab_size}, hidden_size ${config.hidden_size}, L_layers ${config.L_layers}, `
      + `${config.mlp_t ? 'mlp_t' : `attention (${config.pos_encodings})`}, puzzle identifiers ${config.num_puzzle_identifiers}`);
    const byOrigin = new Map<string, string[]>();
    for (const [key, from] of Object.entries(importedFrom.read_from)) byOrigin.set(from, [...(byOrigin.get(from) ?? []), key]);
    for (const [from, keys] of byOrigin) console.log(`  ${keys.join(', ')}: ${from}`);
  },
};
