/**
 * The acceptance path through the built CLI, as a new user runs it: generate labelled JSONL,
 * `trm train --data` a record model and a text model (a few steps of a tiny model: the
 * commands, not the accuracy, are under test), `trm eval --data`, `trm solve --json/--text`
 * with the readable trace, `--resume` on codec data, and malformed data refused with the line
 * and the field.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliIsFresh, trm } from '../helpers/cli';

const built = cliIsFresh(['lib/cli.ts', 'lib/cli', 'lib/codecs', 'lib/datagen', 'lib/train', 'lib/trm-model.ts', 'lib/index.ts']);
if (!built) console.log('skipping the codec CLI tests: dist/cli.js is missing or older than lib/ (run `npm run build:ts`)');

const TINY = ['--hidden', '32', '--layers', '1', '--h-cycles', '1', '--l-cycles', '1', '--batch', '8', '--threads', '1', '--eval-count', '16'];

let tmp: string;
const at = (name: string) => path.join(tmp, name);
function ok(args: string[]): string {
  const r = trm(args);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-codec-cli-'));
  if (!built) return;
  ok(['generate', '--dataset', 'compliance-records', '--count', '200', '--seed', '0', '--out', at('records.jsonl')]);
  ok(['generate', '--dataset', 'compliance-records', '--count', '40', '--seed', '1000000000', '--exclude', at('records.jsonl'), '--out', at('records-heldout.jsonl')]);
  ok(['generate', '--dataset', 'intents', '--count', '200', '--seed', '0', '--out', at('intents.jsonl')]);
  ok(['generate', '--dataset', 'intents', '--split', 'heldout', '--count', '40', '--seed', '1000000000', '--out', at('intents-heldout.jsonl')]);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!built)('a record model from JSONL', () => {
  it('train infers and prints the schema, writes codec.json, and evaluates on held-out records', () => {
    const out = ok(['train', '--data', at('records.jsonl'), '--eval-data', at('records-heldout.jsonl'), '--out', at('rec'), '--steps', '3', '--eval-every', '3', ...TINY]);
    expect(out).toContain('codec inferred from the data');
    expect(out).toContain('compliance_check.actual_value: number in [0, 999.9], 1 decimal(s), 4 digit tokens');
    expect(out).toContain('element_features.storey: number in [0, 999.9], 1 decimal(s), 4 digit tokens, optional');
    expect(out).toMatch(/label slot violated_rule: 15 classes; position 18/);
    expect(out).toMatch(/held-out \(16\) at step 3/);
    const codec = JSON.parse(fs.readFileSync(at('rec/codec.json'), 'utf8'));
    expect(codec.kind).toBe('record');
    expect(codec.label.fields.map((f: { path: string }) => f.path)).toEqual(['status', 'violated_rule']);
    const config = JSON.parse(fs.readFileSync(at('rec/config.json'), 'utf8'));
    expect(config.seq_len).toBe(19);
    expect(config.training.data).toEqual({ file: 'records.jsonl', codec: 'codec.json' });
  });

  it('--resume rebuilds the encoded data from the saved codec', () => {
    const out = ok(['train', '--out', at('rec'), '--resume', '--steps', '4', '--eval-every', '4']);
    expect(out).toContain('resuming at step 3');
  });

  it('--init fine-tunes on more records with the codec of the model it starts from', () => {
    ok(['generate', '--dataset', 'compliance-records', '--count', '30', '--seed', '7', '--out', at('records-more.jsonl')]);
    const out = ok(['train', '--init', at('rec'), '--data', at('records-more.jsonl'), '--out', at('rec-tuned'), '--steps', '2', '--eval-count', '0', '--threads', '1']);
    expect(out).toContain(`codec from ${at('rec')}`);
    expect(fs.readFileSync(at('rec-tuned/codec.json'), 'utf8')).toBe(fs.readFileSync(at('rec/codec.json'), 'utf8'));
    const config = JSON.parse(fs.readFileSync(at('rec-tuned/config.json'), 'utf8'));
    expect(config.fine_tuned_from).toMatchObject({ model: 'rec', training: { steps: 4 } });
    expect(config.seq_len).toBe(19);
  });

  it('eval scores the labels, overall and per label field', () => {
    const report = JSON.parse(ok(['eval', at('rec'), '--data', at('records-heldout.jsonl'), '--json', '--threads', '1']));
    expect(report.codec).toBe('record');
    expect(report.data.count).toBe(40);
    for (const run of [report.fixed, report.adaptive]) {
      expect(run.labelledTokens).toBe(80);
      expect(run.slots.map((s: { name: string }) => s.name)).toEqual(['status', 'violated_rule']);
      // Exact (both right) is at most the worse field's accuracy.
      expect(run.exactAccuracy).toBeLessThanOrEqual(Math.min(...run.slots.map((s: { accuracy: number }) => s.accuracy)) + 1e-12);
    }
    const noData = trm(['eval', at('rec'), '--threads', '1']);
    expect(noData.status).toBe(1);
    expect(noData.stderr).toMatch(/a codec model is scored on labelled data; field: --data/);
    const table = ok(['eval', at('rec'), '--data', at('records-heldout.jsonl'), '--threads', '1']);
    expect(table).toMatch(/fixed 4 steps/);
    expect(table).toMatch(/violated_rule/);
  });

  it('solve --json prints each step, the label and its probability', () => {
    const record = fs.readFileSync(at('records-heldout.jsonl'), 'utf8').split('\n')[0];
    const input = JSON.stringify(JSON.parse(record).input);
    const out = ok(['solve', at('rec'), '--json', input, '--threshold', '1', '--threads', '1']);
    const steps = out.split('\n').filter((l) => l.startsWith('step '));
    expect(steps).toHaveLength(4); // threshold 1 never halts early: every step shown
    expect(steps[0]).toMatch(/^step 1: status (PASS|FAIL) \d\.\d\d, violated_rule \S+ \d\.\d\d$/);
    expect(out).toMatch(/label after 4 step\(s\) \(ran to the step limit; p\(halt\) \d\.\d{3}\): \{"status":"(PASS|FAIL)","violated_rule":"[^"]+"\}/);
    expect(out).toMatch(/probability: \d\.\d{3} \(the product of status \d\.\d{3}, violated_rule \d\.\d{3}\)/);
  });

  it('solve reports an unknown category and refuses an out-of-range number', () => {
    const record = JSON.parse(fs.readFileSync(at('records-heldout.jsonl'), 'utf8').split('\n')[0]).input;
    const unknown = { ...record, rule_context: { ...record.rule_context, severity: 'cosmetic' } };
    expect(ok(['solve', at('rec'), '--json', JSON.stringify(unknown), '--threads', '1'])).toContain('note: input.rule_context.severity: "cosmetic" is not among the 3 values seen in training; encoded as UNK');
    const big = { ...record, compliance_check: { ...record.compliance_check, actual_value: 1234 } };
    const r = trm(['solve', at('rec'), '--json', JSON.stringify(big), '--threads', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^trm: InputError: number out of range; field: input\.compliance_check\.actual_value; got: 1234; expected: a number in \[0, 999\.9\]/);
    expect(trm(['solve', at('rec'), '--text', 'hello', '--threads', '1']).stderr).toMatch(/a record-codec model takes --json RECORD/);
    expect(trm(['solve', at('rec'), '--json', '{nope', '--threads', '1']).stderr).toMatch(/the record is not valid JSON \(.*\); field: --json/);
    expect(trm(['solve', 'models/sudoku-4x4', '--json', '{}', '--threads', '1']).stderr).toMatch(/OptionError: --json needs a codec model/);
  });
});

describe.skipIf(!built)('a text model from JSONL', () => {
  it('train, eval and solve --text, multi-intent labels as a list', () => {
    const out = ok(['train', '--data', at('intents.jsonl'), '--eval-data', at('intents-heldout.jsonl'), '--out', at('txt'), '--steps', '2', '--eval-every', '2', '--halt-max-steps', '2', ...TINY]);
    expect(out).toMatch(/text: UTF-8 bytes, one token each, at most \d+/);
    expect(out).toMatch(/label slot label\[0\]: 10 classes or NONE/);
    const report = JSON.parse(ok(['eval', at('txt'), '--data', at('intents-heldout.jsonl'), '--json', '--threads', '1']));
    expect(report.codec).toBe('text');
    expect(report.fixed.slots.map((s: { name: string }) => s.name)).toEqual(['label[0]', 'label[1]']);
    const solved = ok(['solve', at('txt'), '--text', 'set an alarm for 7am and whats the weather in oslo', '--threads', '1']);
    expect(solved).toMatch(/^step 1: label\[0\] \S+ \d\.\d\d, label\[1\] \S+ \d\.\d\d/m);
    expect(solved).toMatch(/label after \d step\(s\) .*: \[("[a-z]+"(,"[a-z]+")?)?\]/);
  });

  it('a codec flag that does not fit the data, and a malformed line, name what is wrong', () => {
    const codec = at('txt/codec.json');
    const r = trm(['train', '--data', at('records.jsonl'), '--codec', codec, '--out', at('bad1'), '--steps', '1', ...TINY]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^trm: DatasetError: line 1: input: the input is not text/);
    const lines = fs.readFileSync(at('records.jsonl'), 'utf8').split('\n');
    const second = JSON.parse(lines[1]);
    second.input.compliance_check.actual_value = 'x';
    fs.writeFileSync(at('broken.jsonl'), [lines[0], JSON.stringify(second), ''].join('\n'));
    const broken = trm(['train', '--data', at('broken.jsonl'), '--out', at('bad2'), '--steps', '1', ...TINY]);
    expect(broken.stderr).toMatch(/DatasetError: line 2: input\.compliance_check\.actual_value: the field is a number on line 1 and a category here/);
  });
});
