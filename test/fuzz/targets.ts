/**
 * The fuzz targets, run by fuzz.test.ts (`npm run fuzz`, and a smoke inside `npm test`).
 * A new reader joins with one line here (its file in targets/ exports a FuzzTarget).
 */
import { configTarget } from './targets/config';
import { jsonlTarget } from './targets/jsonl';
import { onnxTarget } from './targets/onnx';
import { safetensorsTarget } from './targets/safetensors';
import type { FuzzTarget } from './target';

export const FUZZ_TARGETS: readonly FuzzTarget<never>[] = [
  safetensorsTarget as FuzzTarget<never>,
  configTarget as FuzzTarget<never>,
  onnxTarget as FuzzTarget<never>,
  jsonlTarget as FuzzTarget<never>,
];
