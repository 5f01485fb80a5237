/**
 * `trm quantize`: a model directory with its Linear weights stored as int8 and one float32
 * scale per output channel (the scheme in quantize.ts), about a quarter of the fp32 size.
 * config.json is copied byte for byte; every other tensor keeps its name, dtype and bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError, OptionError, TrmError } from '../errors';
import { CONFIG_FILE, WEIGHTS_FILE, readModelDirectory } from './directory';
import { QUANTIZATION_KEY, QUANTIZATION_SCHEME, SCALE_SUFFIX, isQuantizedLinear, quantizeRows } from './quantize';
import { TensorToWrite, readSafetensors, writeSafetensors } from './safetensors';
import { writeFileAtomic } from '../util/write-file-atomic';
import { detectCheckpointPrefix } from './weights';

export interface QuantizeReport {
  /** The directory written, resolved. */
  out: string;
  /** Linear weights stored as int8. */
  quantizedTensors: number;
  /** Bytes of the source and of the written model.safetensors. */
  sourceBytes: number;
  quantizedBytes: number;
}

/**
 * Writes `out`/config.json and `out`/model.safetensors from the model in `dir`. The source
 * is fully checked first (readModelDirectory), so a bad source writes nothing; each file is
 * replaced atomically. A source that is already quantized gives the same int8 values again.
 */
export function quantizeModelDir(dir: string, out: string): QuantizeReport {
  const { dir: root, weights } = readModelDirectory(dir);
  const target = path.resolve(out);
  if (target === root) {
    throw new OptionError('the quantized model would overwrite its source', { field: 'out', value: out, expected: `a directory other than ${root}` });
  }
  const sourceFile = path.join(root, WEIGHTS_FILE);
  const source = readSafetensors(sourceFile);
  const prefix = detectCheckpointPrefix(source.names(), sourceFile);
  const tensors: Record<string, TensorToWrite> = {};
  let quantizedTensors = 0;
  for (const name of source.names()) {
    const canonical = name.slice(prefix.length);
    const info = source.info(name);
    if (isQuantizedLinear(canonical)) {
      const [rows, cols] = info.shape;
      const { q, scale } = quantizeRows(weights[canonical], rows, cols);
      tensors[name] = { dtype: 'I8', shape: [rows, cols], data: q };
      tensors[name + SCALE_SUFFIX] = { dtype: 'F32', shape: [rows], data: scale };
      quantizedTensors++;
    } else if (canonical.endsWith(SCALE_SUFFIX) && isQuantizedLinear(canonical.slice(0, -SCALE_SUFFIX.length))) {
      // An already quantized source: the scale is written again beside its weight above.
    } else {
      tensors[name] = { dtype: info.dtype, shape: info.shape, bytes: source.bytesOf(name) };
    }
  }
  const metadata = { ...source.metadata, [QUANTIZATION_KEY]: QUANTIZATION_SCHEME };
  const outWeights = path.join(target, WEIGHTS_FILE);
  try {
    fs.mkdirSync(target, { recursive: true });
    writeSafetensors(outWeights, tensors, metadata);
    writeFileAtomic(path.join(target, CONFIG_FILE), fs.readFileSync(path.join(root, CONFIG_FILE)));
  } catch (e) {
    if (e instanceof TrmError) throw e;
    throw new ModelFormatError(`cannot write the quantized model (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      file: target, field: 'out', expected: 'a writable directory',
    });
  }
  return { out: target, quantizedTensors, sourceBytes: fs.statSync(sourceFile).size, quantizedBytes: fs.statSync(outWeights).size };
}
