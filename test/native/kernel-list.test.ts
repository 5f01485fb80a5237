/**
 * native/cpu/kernel_list.inc is the one list of kernel tables and GEMM microkernels: this
 * checks that everything else agrees with it. lib/types.ts IsaName names exactly its ISAs
 * (plus 'auto'); the addon's linearKernels() reports exactly its GEMM entries, in order; the
 * ISAs this CPU runs come in the list's order with scalar last; and every table has, for
 * every dtype, an entry with no CPU condition, so a table never lacks a kernel.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { supportedIsas } from '../../lib';
import { loadAddon } from '../../lib/native/addon';

const ROOT = path.resolve(__dirname, '../..');
const LIST = fs.readFileSync(path.join(ROOT, 'native/cpu/kernel_list.inc'), 'utf8');

function macroArgs(line: string): string[] {
  const inner = line.slice(line.indexOf('(') + 1, line.lastIndexOf(')'));
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const ch of inner) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && ch === '(') depth++;
    if (!quoted && ch === ')') depth--;
    if (!quoted && depth === 0 && ch === ',') {
      out.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current.trim());
  return out;
}

const LINES = LIST.split('\n').map((l) => l.trim());
const ISAS = LINES.filter((l) => l.startsWith('TRM_ISA(')).map((l) => macroArgs(l)[0]);
const GEMMS = LINES.filter((l) => l.startsWith('TRM_GEMM(')).map((l) => {
  const [name, table, dtype, mr, nr, lanes, label, check, prefer] = macroArgs(l);
  return { name, table, dtype, mr: Number(mr), nr: Number(nr), lanes: Number(lanes), label: JSON.parse(label) as string, check, prefer };
});

describe('kernel_list.inc', () => {
  it('lists the ISAs best first with scalar last', () => {
    expect(ISAS.length).toBeGreaterThan(1);
    expect(ISAS[ISAS.length - 1]).toBe('scalar');
  });

  it("is what lib/types.ts IsaName names (with 'auto')", () => {
    const types = fs.readFileSync(path.join(ROOT, 'lib/types.ts'), 'utf8');
    const match = /export type IsaName = ([^;]+);/.exec(types);
    expect(match, 'IsaName in lib/types.ts').not.toBeNull();
    const names = [...match![1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(new Set(names)).toEqual(new Set(['auto', ...ISAS]));
  });

  it('is what the addon reports, entry for entry', () => {
    const reported = loadAddon().kernelProbe.linearKernels();
    const compiled = process.arch === 'x64' ? GEMMS : GEMMS.filter((g) => g.table === 'scalar');
    expect(reported.map(({ name, table, dtype, mr, nr, lanes, label }) => ({ name, table, dtype, mr, nr, lanes, label })))
      .toEqual(compiled.map(({ name, table, dtype, mr, nr, lanes, label }) => ({ name, table, dtype, mr, nr, lanes, label })));
    const absent = reported.filter((k) => !k.runs).map((k) => `${k.name} (${k.table})`);
    console.log(`GEMM kernels that do not run on this CPU (their tests skip): ${absent.join(', ') || 'none'}`);
  });

  it('gives every table an unconditional kernel for every dtype', () => {
    for (const table of ISAS) {
      for (const dtype of ['f32', 'bf16', 'int8']) {
        const fallback = GEMMS.find((g) => g.table === table && g.dtype === dtype && g.check === 'true' && g.prefer === 'true');
        expect(fallback, `${table} ${dtype}`).toBeDefined();
      }
    }
  });

  it('orders the ISAs this CPU runs as the list does', () => {
    const here = supportedIsas();
    expect(here[here.length - 1]).toBe('scalar');
    expect(here).toEqual(ISAS.filter((isa) => here.includes(isa)));
  });
});
