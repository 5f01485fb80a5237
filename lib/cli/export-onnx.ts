/** `trm export-onnx DIR`: the model as an ONNX step graph (what the onnx backend runs) or a fixed-step run graph. */
import * as path from 'node:path';
import { OptionError } from '../errors';
import { readModelDirectory } from '../model/directory';
import { writeFileAtomic } from '../util/write-file-atomic';
import { exportOnnx, onnxFileName, ONNX_OPSET } from '../onnx/exporter';
import { Command, intFlag, stringFlag } from './common';

export const exportOnnxCommand: Command = {
  usage: `  trm export-onnx DIR [options]     export the model as an ONNX graph
    --out FILE       where to write it (default: DIR/model.onnx, which --backend onnx then loads)
    --graph KIND     step (default: one ACT step, what the onnx backend runs) | run (--steps
                     fixed ACT steps, no halting, for other runtimes)
    --steps N        ACT steps of the run graph (default: the model's halt_max_steps)
    --precision P    fp32 (default) | int8: Linear layers as MatMulInteger on int8 weights and
                     activations (default file DIR/model.int8.onnx, which --backend onnx
                     --precision int8 loads)`,
  flags: { out: { type: 'string' }, graph: { type: 'string' }, steps: { type: 'string' }, precision: { type: 'string' } },
  positionals: { min: 1, max: 1, names: 'DIR' },
  async run([dir], values) {
    const graph = stringFlag(values, 'graph') ?? 'step';
    if (graph !== 'step' && graph !== 'run') throw new OptionError('unknown graph kind', { field: '--graph', value: graph, expected: 'step or run' });
    const steps = intFlag(values, 'steps');
    if (steps !== undefined && graph !== 'run') throw new OptionError('--steps applies to the run graph only', { field: '--steps', value: steps, expected: '--graph run' });
    const precision = stringFlag(values, 'precision') ?? 'fp32';
    if (precision !== 'fp32' && precision !== 'int8') throw new OptionError('unknown export precision', { field: '--precision', value: precision, expected: 'fp32 or int8' });
    const { dir: root, config, weights } = readModelDirectory(dir);
    const out = path.resolve(stringFlag(values, 'out') ?? path.join(root, onnxFileName(precision)));
    const bytes = exportOnnx(config, weights, steps === undefined ? { graph, precision } : { graph, steps, precision });
    writeFileAtomic(out, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    console.log(`${out}: ${graph} graph, ${precision}, opset ${ONNX_OPSET}, ${(bytes.byteLength / 1024).toFixed(1)} KiB`);
  },
};
