/**
 * The fuzz target for the PyTorch checkpoint reader: any bytes go in; the only way out is
 * success or a TrmError (lib/errors.ts). Anything else (a TypeError, a RangeError, a hang
 * turned crash) is a bug in the reader, so it is rethrown. The whole path runs: the zip
 * reader, the pickle machine, every tensor's conversion, then the architecture and the
 * weight checks under each fixture's config layers. A plain function, for a fuzz registry.
 */
import * as path from 'node:path';
import { TrmError } from '../../lib/errors';
import { ConfigLayer, configFileLayer, runConfigLayer } from '../../lib/model/pytorch/arch';
import { BufferByteSource } from '../../lib/model/pytorch/bytes';
import { checkpointModelFromBytes } from '../../lib/model/pytorch/checkpoint';
import { readTorchStateDict } from '../../lib/model/pytorch/state-dict';
import { MLPT_ARCH, ROPE_DATASET, ROPE_RUN } from '../helpers/torch-fixtures';

let layerSets: ConfigLayer[][] | null = null;

function fixtureLayers(): ConfigLayer[][] {
  layerSets ??= [
    [runConfigLayer(path.join(ROPE_RUN, 'all_config.yaml')), configFileLayer(ROPE_DATASET)],
    [configFileLayer(MLPT_ARCH)],
  ];
  return layerSets;
}

function ours<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TrmError) return undefined;
    throw e;
  }
}

/** How far the bytes got: refused as an archive or pickle, read as a state_dict, or read as a whole model. */
export type FuzzOutcome = 'refused' | 'state_dict' | 'model';

export function fuzzPytorchCheckpoint(bytes: Uint8Array): FuzzOutcome {
  const stateDict = ours(() => readTorchStateDict(new BufferByteSource(bytes, '<fuzz>')));
  if (stateDict === undefined) return 'refused';
  for (const name of stateDict.names()) ours(() => stateDict.toFloat32(name));
  let outcome: FuzzOutcome = 'state_dict';
  for (const layers of fixtureLayers()) {
    if (ours(() => checkpointModelFromBytes(bytes, layers)) !== undefined) outcome = 'model';
  }
  return outcome;
}
