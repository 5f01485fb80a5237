/**
 * A codec: how a model's inputs (records or short text) and labels become its tokens and
 * back. It lives beside the weights as `codec.json`; a model directory without one is a
 * token model, as before. Ids follow from the description alone (tokens.ts), so the file is
 * the whole codec.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError, TrmError } from '../errors';
import { writeFileAtomic } from '../util/write-file-atomic';
import type { TrmConfig } from '../model/config';
import { IGNORE_LABEL, type Example } from '../tasks/task';
import { RecordCodec, parseRecordCodec } from './record-codec';
import { CODEC_FORMAT } from './codec-types';
import { TextCodec, parseTextCodec } from './text-codec';
import type { EncodeNote } from './codec-types';

export type Codec = RecordCodec | TextCodec;

export const CODEC_FILE = 'codec.json';

/** A codec from its JSON description (what toJSON gives and codec.json holds); `file` names it in errors. */
export function parseCodec(raw: unknown, file = '<codec>'): Codec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ModelFormatError('a codec is a JSON object', { file, field: 'codec', value: raw, expected: `{ "format": "${CODEC_FORMAT}", "kind": "record" | "text", ... }` });
  const r = raw as Record<string, unknown>;
  if (r.format !== CODEC_FORMAT) throw new ModelFormatError('unknown codec format', { file, field: 'format', value: r.format, expected: `"${CODEC_FORMAT}"` });
  if (r.kind === 'record') return parseRecordCodec(r, file);
  if (r.kind === 'text') return parseTextCodec(r, file);
  throw new ModelFormatError('unknown codec kind', { file, field: 'kind', value: r.kind, expected: '"record" or "text"' });
}

export function readCodecFile(file: string): Codec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ModelFormatError(`cannot read the codec (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file, field: CODEC_FILE, expected: 'a readable JSON file' });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`the codec is not valid JSON (${(e as Error).message})`, { file, field: CODEC_FILE, expected: 'a JSON object' });
  }
  return parseCodec(raw, file);
}

export function writeCodecFile(dir: string, codec: Codec): string {
  const file = path.join(path.resolve(dir), CODEC_FILE);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, JSON.stringify(codec.toJSON(), null, 2) + '\n');
  } catch (e) {
    if (e instanceof TrmError) throw e;
    throw new ModelFormatError(`cannot write the codec (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file, field: CODEC_FILE });
  }
  return file;
}

/** The codec of a model directory, or undefined when it has none; a ModelFormatError when it does not fit the config. */
export function readModelCodec(dir: string, config: TrmConfig): Codec | undefined {
  const file = path.join(path.resolve(dir), CODEC_FILE);
  if (!fs.existsSync(file)) return undefined;
  const codec = readCodecFile(file);
  checkCodecFits(codec, config, file);
  return codec;
}

export function checkCodecFits(codec: Codec, config: TrmConfig, file?: string): void {
  if (codec.seqLen !== config.seq_len) throw new ModelFormatError('the codec does not fit the model', { file, field: 'seq_len', value: config.seq_len, expected: `${codec.seqLen} (the codec's sequence length)` });
  if (codec.vocabSize > config.vocab_size) throw new ModelFormatError('the codec does not fit the model', { file, field: 'vocab_size', value: config.vocab_size, expected: `at least ${codec.vocabSize} (the codec's tokens)` });
}

/** A training or scoring example: the input's tokens, and the label's at the label slots (IGNORE_LABEL elsewhere). */
export function encodeExample(codec: Codec, input: unknown, label: unknown): { example: Example; notes: EncodeNote[] } {
  const { inputs, notes } = codec.encodeInput(input);
  const labels = new Int32Array(codec.seqLen).fill(IGNORE_LABEL);
  codec.labels.encode(label, labels);
  return { example: { inputs, labels, puzzleIdentifier: 0 }, notes };
}
