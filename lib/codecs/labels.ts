/**
 * The label side of a codec: how a label value becomes tokens at the label slots (the last
 * positions of the sequence, each holding QUERY in the input) and back. Three shapes:
 * - `class`: the label is one scalar, one of K classes: one slot;
 * - `fields`: the label is an object of several label fields (by path, nested allowed), each
 *   one of its own classes: one slot per field;
 * - `list`: the label is a list of up to `maxItems` classes in the order given (multi-intent
 *   utterances, in the order they are said): one slot per item, NONE in the unused ones.
 * Classes are JSON scalars (string, number, boolean), kept as given, so a label decodes to
 * the value it was.
 */
import { InputError, ModelFormatError } from '../errors';
import { NONE, Vocabulary } from './tokens';
import { flattenRecord, getPath, setPath } from './paths';

export type Scalar = string | number | boolean;

export type LabelSpec =
  | { kind: 'class'; classes: Scalar[] }
  | { kind: 'fields'; fields: Array<{ path: string; classes: Scalar[] }> }
  | { kind: 'list'; classes: Scalar[]; maxItems: number };

export interface LabelSlot {
  /** What the slot answers: 'label', a label field's path, or 'label[i]' of a list. */
  name: string;
  /** Sequence position of the slot. */
  position: number;
  classes: readonly Scalar[];
  /** Token of classes[0]; classes[k] is firstToken + k. */
  firstToken: number;
  /** Whether NONE is an answer here (list slots). */
  allowsNone: boolean;
}

/** A stable key of a scalar class: 1 and "1" are different classes. */
export function classKey(value: unknown): string {
  return JSON.stringify(value);
}

export function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

export class LabelLayout {
  readonly spec: LabelSpec;
  readonly slots: LabelSlot[];
  private readonly index: Array<Map<string, number>>;

  /** Appends the class tokens to `vocab`; the slots sit at positions `firstPosition`... */
  constructor(spec: LabelSpec, vocab: Vocabulary, firstPosition: number) {
    this.spec = spec;
    const names = (classes: readonly Scalar[], prefix: string) => classes.map((c) => `${prefix}=${String(c)}`);
    const slots: LabelSlot[] = [];
    if (spec.kind === 'class') {
      slots.push({ name: 'label', position: firstPosition, classes: spec.classes, firstToken: vocab.block(names(spec.classes, 'label')), allowsNone: false });
    } else if (spec.kind === 'fields') {
      spec.fields.forEach((f, k) => {
        slots.push({ name: f.path, position: firstPosition + k, classes: f.classes, firstToken: vocab.block(names(f.classes, f.path)), allowsNone: false });
      });
    } else {
      // One block for every item: an intent is the same token in the first slot and the second.
      const first = vocab.block(names(spec.classes, 'label'));
      for (let k = 0; k < spec.maxItems; k++) {
        slots.push({ name: `label[${k}]`, position: firstPosition + k, classes: spec.classes, firstToken: first, allowsNone: true });
      }
    }
    this.slots = slots;
    this.index = slots.map((s) => new Map(s.classes.map((c, k) => [classKey(c), k])));
  }

  /** Writes the label's tokens at the slot positions of `labels` (the rest is left as it is). */
  encode(label: unknown, labels: Int32Array): void {
    const put = (slot: number, value: unknown, field: string) => {
      const k = isScalar(value) ? this.index[slot].get(classKey(value)) : undefined;
      if (k === undefined) {
        throw new InputError('not one of the label classes', { field, value, expected: `one of ${describeClasses(this.slots[slot].classes)}` });
      }
      labels[this.slots[slot].position] = this.slots[slot].firstToken + k;
    };
    const spec = this.spec;
    if (spec.kind === 'class') {
      put(0, label, 'label');
    } else if (spec.kind === 'fields') {
      if (typeof label !== 'object' || label === null || Array.isArray(label)) {
        throw new InputError('the label is not an object of label fields', { field: 'label', value: label, expected: `{ ${spec.fields.map((f) => f.path).join(', ')} }` });
      }
      const known = new Set(spec.fields.map((f) => f.path));
      for (const path of Object.keys(flattenRecord(label as Record<string, unknown>, 'label'))) {
        if (!known.has(path)) throw new InputError('unknown label field', { field: `label.${path}`, expected: `only ${[...known].join(', ')}` });
      }
      spec.fields.forEach((f, k) => put(k, getPath(label as Record<string, unknown>, f.path), `label.${f.path}`));
    } else {
      if (!Array.isArray(label) || label.length === 0 || label.length > spec.maxItems) {
        throw new InputError('the label is not a list of classes', { field: 'label', value: label, expected: `a list of 1 to ${spec.maxItems} classes` });
      }
      this.slots.forEach((slot, k) => {
        if (k < label.length) put(k, label[k], `label[${k}]`);
        else labels[slot.position] = NONE;
      });
    }
  }

  /** The label value of the answer tokens at the slots (`tokens`: the whole sequence). */
  decode(tokens: ArrayLike<number>, offset = 0): unknown {
    const values = this.slots.map((slot, k) => this.slotValue(k, tokens[offset + slot.position]));
    const spec = this.spec;
    if (spec.kind === 'class') return values[0];
    if (spec.kind === 'fields') {
      const out: Record<string, unknown> = {};
      spec.fields.forEach((f, k) => setPath(out, f.path, values[k]));
      return out;
    }
    return values.filter((v) => v !== null);
  }

  /** The class of `token` at slot `k`: a class, null for NONE, or an InputError for a token the slot cannot hold. */
  slotValue(k: number, token: number): Scalar | null {
    const slot = this.slots[k];
    if (slot.allowsNone && token === NONE) return null;
    const c = token - slot.firstToken;
    if (!(c >= 0 && c < slot.classes.length)) {
      throw new InputError('not a label token of this slot', { field: slot.name, value: token, expected: `a token in [${slot.firstToken}, ${slot.firstToken + slot.classes.length})${slot.allowsNone ? ` or NONE (${NONE})` : ''}` });
    }
    return slot.classes[c];
  }
}


export function describeClasses(classes: readonly Scalar[]): string {
  const shown = classes.slice(0, 12).map((c) => JSON.stringify(c)).join(', ');
  return classes.length > 12 ? `${shown}, ... (${classes.length} classes)` : shown;
}

/** Checks a label spec read from codec.json. */
export function parseLabelSpec(raw: unknown, file: string): LabelSpec {
  const fail = (field: string, value: unknown, expected: string): never => {
    throw new ModelFormatError('invalid label description', { file, field, value, expected });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('label', raw, '{ "kind": "class" | "fields" | "list", ... }');
  const r = raw as Record<string, unknown>;
  const classes = (value: unknown, field: string): Scalar[] => {
    if (!Array.isArray(value) || value.length === 0 || !value.every(isScalar)) fail(field, value, 'a non-empty list of strings, numbers or booleans');
    const list = value as Scalar[];
    if (new Set(list.map(classKey)).size !== list.length) fail(field, value, 'distinct classes');
    return list;
  };
  if (r.kind === 'class') return { kind: 'class', classes: classes(r.classes, 'label.classes') };
  if (r.kind === 'list') {
    const maxItems = r.maxItems;
    if (typeof maxItems !== 'number' || !Number.isInteger(maxItems) || maxItems < 1 || maxItems > 64) fail('label.maxItems', maxItems, 'an integer in [1, 64]');
    return { kind: 'list', classes: classes(r.classes, 'label.classes'), maxItems: maxItems as number };
  }
  if (r.kind === 'fields') {
    if (!Array.isArray(r.fields) || r.fields.length === 0) fail('label.fields', r.fields, 'a non-empty list of { "path", "classes" }');
    const fields = (r.fields as unknown[]).map((f, k) => {
      const path = (f as Record<string, unknown> | null)?.path;
      if (typeof path !== 'string' || !/^[^.]+(\.[^.]+)*$/.test(path)) fail(`label.fields[${k}].path`, path, 'a field path such as "status" or "result.rule"');
      return { path: path as string, classes: classes((f as Record<string, unknown>).classes, `label.fields[${k}].classes`) };
    });
    if (new Set(fields.map((f) => f.path)).size !== fields.length) fail('label.fields', fields.map((f) => f.path), 'distinct paths');
    return { kind: 'fields', fields };
  }
  return fail('label.kind', r.kind, '"class", "fields" or "list"');
}
