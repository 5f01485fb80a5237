/**
 * The official checkpoint fixtures (../shared/golden/checkpoints) taken apart for tests that
 * rebuild them with a change: their zip records as they are, and their tensors as the
 * writer's entries (read with the reader under test; the parity tests check that reading).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BufferByteSource } from '../../lib/model/pytorch/bytes';
import { readTorchStateDict } from '../../lib/model/pytorch/state-dict';
import { ZipArchive } from '../../lib/model/pytorch/zip';
import { GOLDEN_DIR } from './paths';
import { TensorEntry, ZipFile } from './torch-writer';

export const CHECKPOINTS = path.join(GOLDEN_DIR, 'checkpoints');
export const ROPE_RUN = path.join(CHECKPOINTS, 'att-rope-puzzle', 'run');
export const ROPE_CHECKPOINT = path.join(ROPE_RUN, 'step_200');
export const ROPE_DATASET = path.join(CHECKPOINTS, 'att-rope-puzzle', 'dataset.json');
export const MLPT_CHECKPOINT = path.join(CHECKPOINTS, 'mlpt-nopuzzle', 'step_50');
export const MLPT_ARCH = path.join(CHECKPOINTS, 'mlpt-nopuzzle', 'arch.json');

const KIND: Record<string, string> = { F32: 'FloatStorage', BF16: 'BFloat16Storage', F16: 'HalfStorage', F64: 'DoubleStorage' };

export function fixtureBytes(file: string): Buffer {
  return fs.readFileSync(file);
}

/** The archive's records, in their order. */
export function fixtureFiles(file: string): ZipFile[] {
  const archive = new ZipArchive(new BufferByteSource(fixtureBytes(file), file));
  return archive.names().map((name) => ({ name, data: archive.read(name) }));
}

/** The state_dict's tensors as writer entries: same names, storages, offsets, sizes and strides. */
export function fixtureEntries(file: string): TensorEntry[] {
  const sd = readTorchStateDict(new BufferByteSource(fixtureBytes(file), file));
  return sd.names().map((name) => {
    const t = sd.tensor(name);
    return { name, storage: { kind: KIND[t.storage.dtype], key: t.storage.key, numel: t.storage.numel }, offset: t.storageOffset, shape: [...t.shape], stride: [...t.stride] };
  });
}

/** The record stem ("step_200") of a fixture. */
export function fixtureStem(file: string): string {
  return fixtureFiles(file)[0].name.split('/')[0];
}
