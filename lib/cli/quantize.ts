/** `trm quantize DIR --out DIR2`: the model with int8 Linear weights and per-channel scales (lib/model/quantized-directory.ts). */
import { OptionError } from '../errors';
import { quantizeModelDir } from '../model/quantized-directory';
import { QUANTIZATION_SCHEME } from '../model/quantize';
import { Command, stringFlag } from './common';

export const quantizeCommand: Command = {
  usage: `  trm quantize DIR --out DIR2       write DIR's model with int8 Linear weights (${QUANTIZATION_SCHEME})
    --out DIR2       the directory to write (config.json and model.safetensors); it then loads
                     with precision int8 by default`,
  flags: { out: { type: 'string' } },
  positionals: { min: 1, max: 1, names: 'DIR' },
  async run([dir], values) {
    const out = stringFlag(values, 'out');
    if (out === undefined) throw new OptionError('trm quantize needs --out', { field: '--out', value: undefined, expected: 'the directory to write the quantized model to' });
    const r = quantizeModelDir(dir, out);
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    console.log(`${r.out}: ${r.quantizedTensors} Linear weights in int8; model.safetensors ${kib(r.quantizedBytes)} ` +
      `(${((100 * r.quantizedBytes) / r.sourceBytes).toFixed(1)}% of the source's ${kib(r.sourceBytes)})`);
  },
};
