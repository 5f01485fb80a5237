/**
 * Every way a checkpoint can be wrong is a typed error (a TrmError subclass naming what is
 * wrong), never a crash or a silently wrong model. The bad files are built here from the
 * official fixtures: byte edits (truncation, a flipped data byte, a claimed compression
 * method) and rewrites with the test's own pickle and zip writer (test/helpers/torch-writer.ts:
 * foreign globals, hostile opcodes, a dropped tensor, a wrong shape, other dtypes); none is
 * made by torch.save.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MissingConfigError, ModelFormatError, OptionError, TrmError, importCheckpoint, loadModel } from '../../lib';
import { ConfigLayer, configFileLayer, runConfigLayer } from '../../lib/model/pytorch/arch';
import { checkpointModelFromBytes } from '../../lib/model/pytorch/checkpoint';
import { BufferByteSource } from '../../lib/model/pytorch/bytes';
import { ZipArchive } from '../../lib/model/pytorch/zip';
import { GOLDEN_DIR } from '../helpers/paths';
import {
  MLPT_ARCH, MLPT_CHECKPOINT, ROPE_CHECKPOINT, ROPE_DATASET, ROPE_RUN, fixtureBytes, fixtureEntries, fixtureFiles, fixtureStem,
} from '../helpers/torch-fixtures';
import { PickleWriter, TensorEntry, ZipFile, stateDictPickle, zipBytes } from '../helpers/torch-writer';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-import-bad-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const ROPE_LAYERS: ConfigLayer[] = [runConfigLayer(path.join(ROPE_RUN, 'all_config.yaml')), configFileLayer(ROPE_DATASET)];
const MLPT_LAYERS: ConfigLayer[] = [configFileLayer(MLPT_ARCH)];

/** The error `fn` throws; fails the test if it throws nothing or something that is not ours. */
function caught(fn: () => unknown): TrmError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof TrmError)) throw new Error(`expected a TrmError, got ${String(e)}`);
    return e;
  }
  throw new Error('expected an error, got none');
}

function readRope(bytes: Uint8Array): TrmError {
  return caught(() => checkpointModelFromBytes(bytes, ROPE_LAYERS));
}

/** The rope fixture with its data.pkl replaced (and the zip rebuilt around it). */
function withPickle(pickle: Buffer, file = ROPE_CHECKPOINT): Buffer {
  const files = fixtureFiles(file).map((f) => (f.name.endsWith('/data.pkl') ? { ...f, data: pickle } : f));
  return zipBytes(files);
}

function withEntries(edit: (entries: TensorEntry[]) => TensorEntry[], file = ROPE_CHECKPOINT): Buffer {
  return withPickle(stateDictPickle(edit(fixtureEntries(file))), file);
}

function withFiles(edit: (files: ZipFile[]) => ZipFile[], file = ROPE_CHECKPOINT): Buffer {
  return zipBytes(edit(fixtureFiles(file)));
}

describe('the fixtures themselves read', () => {
  it('as a sanity baseline for every rewrite below', () => {
    expect(checkpointModelFromBytes(fixtureBytes(ROPE_CHECKPOINT), ROPE_LAYERS).config.seq_len).toBe(16);
    expect(checkpointModelFromBytes(withEntries((e) => e), ROPE_LAYERS).config.num_puzzle_identifiers).toBe(3);
    expect(checkpointModelFromBytes(fixtureBytes(MLPT_CHECKPOINT), MLPT_LAYERS).config.mlp_t).toBe(true);
  });
});

describe('truncated and corrupt archives', () => {
  const bytes = fixtureBytes(ROPE_CHECKPOINT);
  it.each([0, 3, 100, 4096, Math.floor(bytes.length / 2), bytes.length - 23, bytes.length - 22, bytes.length - 1])('cut to %i bytes', (n) => {
    const e = readRope(bytes.subarray(0, n));
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.message).toMatch(n < 4 ? /not a PyTorch checkpoint/ : /truncated|corrupt/);
  });

  it('a flipped byte in a tensor record fails its CRC', () => {
    const archive = new ZipArchive(new BufferByteSource(bytes));
    const entry = archive.get(`${fixtureStem(ROPE_CHECKPOINT)}/data/7`)!;
    const bad = Buffer.from(bytes);
    bad[entry.dataOffset + 100] ^= 0x40;
    expect(readRope(bad).message).toMatch(/CRC-32/);
  });

  it('a compressed (repacked) archive is refused with how to fix it', () => {
    const files = fixtureFiles(ROPE_CHECKPOINT);
    const e = readRope(zipBytes(files, { method: 8 }));
    expect(e.message).toMatch(/compressed \(method 8\)/);
    expect(e.expected).toMatch(/torch\.save/);
  });

  it('a missing storage record, a record of the wrong size, no version record, big-endian', () => {
    const stem = fixtureStem(ROPE_CHECKPOINT);
    expect(readRope(withFiles((f) => f.filter((x) => x.name !== `${stem}/data/3`))).message).toMatch(/storage record missing/);
    expect(readRope(withEntries((es) => es.map((e) => (e.storage.key === '3' ? { ...e, storage: { ...e.storage, numel: e.storage.numel + 1 } } : e)))).message)
      .toMatch(/wrong size for its element count/);
    expect(readRope(withFiles((f) => f.filter((x) => x.name !== `${stem}/version`))).message).toMatch(/no version record/);
    expect(readRope(withFiles((f) => f.map((x) => (x.name === `${stem}/byteorder` ? { ...x, data: Buffer.from('big') } : x)))).message).toMatch(/big-endian/);
    expect(readRope(withFiles((f) => f.filter((x) => !x.name.endsWith('/data.pkl')))).message).toMatch(/no <name>\/data\.pkl/);
  });
});

describe('foreign globals and hostile pickles are refused before anything runs', () => {
  const marker = path.join(work, 'pwned');
  const exploit = (module: string, name: string, protocol: 2 | 4 = 2): Buffer => {
    const w = new PickleWriter().proto(protocol);
    if (protocol === 4) w.stackGlobal(module, name); else w.global(module, name);
    return w.mark().str(`touch ${marker}`).tuple().reduce().stop().toBuffer();
  };

  it.each([
    ['os', 'system', 2], ['posix', 'system', 2], ['builtins', 'eval', 4], ['__builtin__', 'getattr', 2], ['builtins', 'exec', 4],
    ['subprocess', 'check_output', 2], ['collections', 'defaultdict', 2], ['torch._utils', '_rebuild_tensor', 2],
    ['numpy.core.multiarray', '_reconstruct', 2], ['torch.nn.modules.linear', 'Linear', 4], ['torch', 'load', 2],
  ] as const)('%s.%s (protocol %i)', (module, name, protocol) => {
    const e = readRope(withPickle(exploit(module, name, protocol)));
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.value).toBe(`${module}.${name}`);
    expect(e.message).toContain(`${module}.${name}`);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a foreign global in the middle of the official state_dict pickle', () => {
    const original = fixtureFiles(ROPE_CHECKPOINT).find((f) => f.name.endsWith('/data.pkl'))!.data;
    const needle = Buffer.from('torch._utils\n_rebuild_tensor_v2\n');
    const at = original.indexOf(needle);
    expect(at).toBeGreaterThan(0);
    const hostile = Buffer.concat([original.subarray(0, at), Buffer.from('os\nsystem\n'), original.subarray(at + needle.length)]);
    expect(readRope(withPickle(hostile)).value).toBe('os.system');
  });

  it.each([
    ['INST', Buffer.from('\x80\x02(ios\nsystem\nX\x00\x00\x00\x00.', 'latin1')],
    ['OBJ', new PickleWriter().proto(2).mark().global('collections', 'OrderedDict').raw(0x6f).stop().toBuffer()],
    ['NEWOBJ', new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().raw(0x81).stop().toBuffer()],
    ['NEWOBJ_EX', new PickleWriter().proto(4).global('collections', 'OrderedDict').emptyTuple().emptyDict().raw(0x92).stop().toBuffer()],
    ['EXT1', new PickleWriter().proto(2).raw(0x82, 1).stop().toBuffer()],
  ] as const)('the %s opcode', (opcode, pickle) => {
    const e = readRope(withPickle(pickle));
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.message).toContain(opcode);
  });

  it('REDUCE on an allowed but uncallable global, BUILD on a tensor, an unknown persistent id', () => {
    const callStorage = new PickleWriter().proto(2).global('torch', 'FloatStorage').emptyTuple().reduce().stop().toBuffer();
    expect(readRope(withPickle(callStorage)).message).toMatch(/not an allowed constructor/);
    const entries = fixtureEntries(ROPE_CHECKPOINT);
    const one = stateDictPickle([entries[2]], { metadata: false });
    // Replace the final SETITEMS + STOP with: a tensor BUILD (SETITEMS left off, stack: dict, mark, name, tensor).
    const build = Buffer.concat([one.subarray(0, one.length - 2), new PickleWriter().emptyDict().build().stop().toBuffer()]);
    expect(readRope(withPickle(build)).message).toMatch(/sets the state of an object/);
    const pid = new PickleWriter().proto(2).str('module').binpersid().stop().toBuffer();
    expect(readRope(withPickle(pid)).message).toMatch(/unknown persistent id/);
  });

  it('sizes meant only to make decoding slow or memory-hungry', () => {
    const long4 = Buffer.concat([Buffer.from([0x80, 0x02, 0x8b, 0x10, 0x27, 0x00, 0x00]), Buffer.alloc(10000, 0x7f), Buffer.from([0x2e])]);
    expect(readRope(withPickle(long4)).message).toMatch(/integer is too long/);
    const digits = Buffer.from(`\x80\x02L${'9'.repeat(5000)}L\n.`, 'latin1');
    expect(readRope(withPickle(digits)).message).toMatch(/sensible length/);
    const huge = Buffer.concat([new PickleWriter().proto(2).emptyDict().toBuffer(), Buffer.alloc(9 << 20, 0x4e), Buffer.from([0x2e])]);
    expect(readRope(withPickle(huge)).message).toMatch(/far larger than it can be/);
  });

  it('a pickle that is not a state_dict of tensors', () => {
    expect(readRope(withPickle(new PickleWriter().proto(2).raw(0x5d).stop().toBuffer())).message).toMatch(/does not hold a state_dict/);
    const nested = new PickleWriter().proto(2).emptyDict().str('model').emptyDict().raw(0x73).stop().toBuffer();
    expect(readRope(withPickle(nested)).message).toMatch(/nested dict/);
    const notTensor = new PickleWriter().proto(2).emptyDict().str('step').int(200).raw(0x73).stop().toBuffer();
    expect(readRope(withPickle(notTensor)).field).toBe('step');
  });
});

describe('other formats say what they are and how to re-save', () => {
  it('the legacy (pre-1.6) torch.save format', () => {
    // Its first pickle is the magic number 0x1950a86a20f9469cfc6c as a LONG1, then the protocol version and system info.
    const legacy = Buffer.concat([Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]),
      Buffer.from([0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e]), Buffer.alloc(64)]);
    const e = readRope(legacy);
    expect(e.message).toMatch(/legacy/);
    expect(e.message).toContain('torch.save');
    expect(e.message).toContain('_use_new_zipfile_serialization=True');
  });

  it('a bare pickle, a safetensors file, a tar archive, random bytes', () => {
    expect(readRope(new PickleWriter().proto(2).emptyDict().stop().toBuffer()).message).toMatch(/bare pickle/);
    expect(readRope(fs.readFileSync(path.join(GOLDEN_DIR, 'att-rope-puzzle', 'model.safetensors'))).message).toMatch(/safetensors file/);
    const tar = Buffer.alloc(1024);
    tar.write('ustar', 257, 'latin1');
    expect(readRope(tar).message).toMatch(/tar/);
    expect(readRope(Buffer.from('hello, not a checkpoint at all')).message).toMatch(/not a PyTorch checkpoint/);
  });
});

describe('tensors that do not fit the architecture', () => {
  it('a missing tensor is named', () => {
    const e = readRope(withEntries((es) => es.filter((x) => !x.name.endsWith('lm_head.weight'))));
    expect(e.message).toMatch(/missing from the weights: _orig_mod\.model\.inner\.lm_head\.weight/);
  });

  it('a wrong shape is named with what the config implies', () => {
    const e = readRope(withEntries((es) => es.map((x) => (x.name.endsWith('q_head.weight') ? { ...x, shape: [1, 64] } : x))));
    expect(e.field).toBe('_orig_mod.model.inner.q_head.weight');
    expect(e.message).toMatch(/wrong shape/);
    // A config that disagrees with the tensors: another hidden size, another vocabulary.
    const hidden = caught(() => checkpointModelFromBytes(fixtureBytes(ROPE_CHECKPOINT), [...ROPE_LAYERS, { label: 'test', values: { hidden_size: 32 } }]));
    expect(hidden.message).toMatch(/wrong shape/);
    const vocab = caught(() => checkpointModelFromBytes(fixtureBytes(ROPE_CHECKPOINT), [...ROPE_LAYERS, { label: 'test', values: { vocab_size: 12 } }]));
    expect(vocab.message).toMatch(/vocab_size from test disagrees/);
  });

  it('unsupported dtypes: a complex storage, an integer weight', () => {
    const complex = readRope(withEntries((es) => es.map((x) => (x.storage.key === '4' ? { ...x, storage: { ...x.storage, kind: 'ComplexFloatStorage' } } : x))));
    expect(complex.message).toMatch(/ComplexFloatStorage is not supported/);
    // data/5 is q_head.bias, 2 floats = 8 bytes: one int64 element as a LongStorage.
    const long = readRope(withEntries((es) => es.map((x) => (x.storage.key === '5' ? { ...x, storage: { ...x.storage, kind: 'LongStorage', numel: 1 }, shape: [1] } : x))));
    expect(long.field).toBe('_orig_mod.model.inner.q_head.bias');
    expect(long.message).toMatch(/not floating point/);
    const int = readRope(withEntries((es) => es.map((x) => (x.storage.key === '5' ? { ...x, storage: { ...x.storage, kind: 'IntStorage' } } : x))));
    expect(int.value).toBe('I32');
  });

  it('views past their storage, broadcast views, non-finite weights', () => {
    expect(readRope(withEntries((es) => es.map((x) => (x.storage.key === '4' ? { ...x, offset: 1 } : x)))).message).toMatch(/past the end of its storage/);
    // q_head.weight [2, 64] as a stride-0 broadcast of q_head.bias's 2-element storage: the right shape, from too little data.
    const bias = fixtureEntries(ROPE_CHECKPOINT).find((x) => x.name.endsWith('q_head.bias'))!;
    const broadcast = readRope(withEntries((es) => es.map((x) => (x.name.endsWith('q_head.weight') ? { ...x, storage: bias.storage, stride: [1, 0] } : x))));
    expect(broadcast.message).toMatch(/more elements than its storage/);
    const stem = fixtureStem(ROPE_CHECKPOINT);
    const nan = withFiles((f) => f.map((x) => {
      if (x.name !== `${stem}/data/5`) return x;
      const data = Buffer.from(x.data);
      data.writeFloatLE(NaN, 4);
      return { ...x, data };
    }));
    expect(readRope(nan).message).toMatch(/non-finite value/);
  });
});

describe('the architecture', () => {
  it('a RoPE model without dataset.json lacks seq_len, and says where it comes from', () => {
    const e = caught(() => checkpointModelFromBytes(fixtureBytes(ROPE_CHECKPOINT), ROPE_LAYERS.slice(0, 1)));
    expect(e).toBeInstanceOf(MissingConfigError);
    expect((e as MissingConfigError).missing.map((m) => m.key)).toEqual(['seq_len']);
    expect(e.message).toMatch(/dataset\.json/);
  });

  it('what no config file gives is read from the tensors, and noted so', () => {
    const { seq_len: _, vocab_size: __, ...arch } = JSON.parse(fs.readFileSync(MLPT_ARCH, 'utf8'));
    const { config } = checkpointModelFromBytes(fixtureBytes(MLPT_CHECKPOINT), [{ label: 'arch', values: arch }]);
    expect([config.seq_len, config.vocab_size]).toEqual([16, 11]);
    const dir = path.join(work, 'mlpt-lone');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(MLPT_CHECKPOINT, path.join(dir, 'step_50'));
    const { importedFrom } = importCheckpoint(dir, { out: path.join(work, 'mlpt-lone-out'), config: arch });
    expect(importedFrom.read_from.seq_len).toBe('the columns of model.inner.L_level.layers.0.mlp_t.gate_up_proj.weight');
    expect(importedFrom.read_from.vocab_size).toBe('the rows of model.inner.embed_tokens.embedding_weight');
    expect(importedFrom.read_from.H_cycles).toBe('options.config');
  });

  it('a lone checkpoint without any config lists every arch key it needs', () => {
    const e = caught(() => checkpointModelFromBytes(fixtureBytes(MLPT_CHECKPOINT), [])) as MissingConfigError;
    expect(e).toBeInstanceOf(MissingConfigError);
    expect(e.missing.map((m) => m.key).sort()).toEqual(['H_cycles', 'L_cycles', 'L_layers', 'expansion', 'halt_max_steps', 'hidden_size', 'num_heads', 'pos_encodings']);
    expect(e.missing.find((m) => m.key === 'H_cycles')!.from).toMatch(/all_config\.yaml/);
  });

  it('another official model (HRM) in all_config.yaml is refused', () => {
    const dir = path.join(work, 'hrm');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'all_config.yaml'), fs.readFileSync(path.join(ROPE_RUN, 'all_config.yaml'), 'utf8')
      .replace('recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1', 'hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1'));
    fs.copyFileSync(ROPE_CHECKPOINT, path.join(dir, 'step_1'));
    const e = caught(() => importCheckpoint(dir, { out: path.join(work, 'hrm-out'), config: ROPE_DATASET }));
    expect(e.field).toBe('arch.name');
  });

  it('bad config files and bad options', () => {
    const yamlBad = path.join(work, 'bad.yaml');
    fs.writeFileSync(yamlBad, 'seq_len: 16\nseq_len: 17\n');
    expect(caught(() => importCheckpoint(ROPE_RUN, { out: path.join(work, 'x'), config: yamlBad })).message).toMatch(/not plain JSON or YAML/);
    const tagged = path.join(work, 'tagged.yaml');
    fs.writeFileSync(tagged, 'arch: !!python/object/apply:os.system ["touch x"]\n');
    expect(caught(() => importCheckpoint(ROPE_RUN, { out: path.join(work, 'x'), config: tagged }))).toBeInstanceOf(ModelFormatError);
    expect(caught(() => importCheckpoint(ROPE_RUN, { out: path.join(work, 'x'), config: path.join(work, 'nope.json') })).message).toMatch(/cannot read the config file/);
    expect(caught(() => importCheckpoint(ROPE_RUN, { out: '' }))).toBeInstanceOf(OptionError);
    const empty = path.join(work, 'empty-run');
    fs.mkdirSync(empty, { recursive: true });
    fs.writeFileSync(path.join(empty, 'step_x'), '');
    expect(caught(() => importCheckpoint(empty, { out: path.join(work, 'x') })).message).toMatch(/holds no checkpoint/);
    expect(caught(() => importCheckpoint(path.join(work, 'missing'), { out: path.join(work, 'x') })).message).toMatch(/cannot be opened/);
  });

  it('a failed import leaves no model directory behind', () => {
    const out = path.join(work, 'never');
    caught(() => importCheckpoint(ROPE_RUN, { out }));
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('loadModel on a checkpoint file', () => {
  it('in an official run folder whose all_config.yaml says everything: loads and runs', async () => {
    // A run folder made here for the mlp_t fixture: its step_50 as it is, and the all_config.yaml
    // pretrain.py would have written for it (arch keys from arch.json, without the dataset's keys).
    const dir = path.join(work, 'mlpt-run');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(MLPT_CHECKPOINT, path.join(dir, 'step_50'));
    const { seq_len: _, vocab_size: __, num_puzzle_identifiers: ___, batch_size: ____, ...arch } = JSON.parse(fs.readFileSync(MLPT_ARCH, 'utf8'));
    const lines = Object.entries({ ...arch, name: 'recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1' }).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
    fs.writeFileSync(path.join(dir, 'all_config.yaml'), `arch:\n${lines.join('\n')}\nseed: 0\n`);
    const model = await loadModel(path.join(dir, 'step_50'), { threads: 1 });
    expect(model.config.seq_len).toBe(16);
    expect(model.config.num_puzzle_identifiers).toBe(1);
    const r = model.inferSync({ inputs: new Int32Array(16).fill(1), puzzleIdentifiers: new Int32Array(1) }, { maxSteps: 1 });
    expect(r.logits.length).toBe(16 * 11);
    model.dispose();
  });

  it('in the RoPE run folder: MissingConfigError for seq_len, which only trm import --config can give', async () => {
    await expect(loadModel(path.join(ROPE_RUN, 'step_200'))).rejects.toBeInstanceOf(MissingConfigError);
  });

  it('a lone checkpoint file (no all_config.yaml) says to import it', async () => {
    await expect(loadModel(MLPT_CHECKPOINT)).rejects.toThrow(/trm import/);
  });
});
