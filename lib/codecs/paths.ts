/** Nested record fields by path ("element_features.type"): reading one, and listing every leaf. */
import { InputError } from '../errors';

/** The value at `path` of `record`, or undefined when any step of the path is absent. */
export function getPath(record: Record<string, unknown>, path: string): unknown {
  let node: unknown = record;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/**
 * Every leaf of `record` by path (objects are walked into; anything else is a leaf). `where`
 * names the record in errors. A key with a dot in it would make paths ambiguous, so it is an
 * InputError, as is an empty object (a leaf with no value).
 */
export function flattenRecord(record: Record<string, unknown>, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(node)) {
      if (key === '' || key.includes('.')) {
        throw new InputError('a field name is empty or has a dot in it', { field: `${where}${prefix ? `.${prefix}` : ''}`, value: key, expected: 'names without dots (a dot separates the parts of a path)' });
      }
      const path = prefix ? `${prefix}.${key}` : key;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) walk(value as Record<string, unknown>, path);
      else out[path] = value;
    }
  };
  walk(record, '');
  return out;
}

/** Sets the leaf at `path` of `target`, making the objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}
