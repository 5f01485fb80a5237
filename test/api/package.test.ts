/**
 * The package as users get it: the built dist/ entry points, CommonJS and ES module, with
 * their type declarations, resolved by name through package.json "exports".
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths';

function node(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('package entry points (needs `npm run build`)', () => {
  it("require('trm-node') exposes the API", () => {
    const r = node(['-e', "const t = require('trm-node'); console.log(typeof t.loadModel, typeof t.createModel, typeof t.InputError)"]);
    expect(r.out.trim()).toBe('function function function');
  });

  it("import ... from 'trm-node' exposes the same API", () => {
    const r = node(['--input-type=module', '-e', "import { loadModel, supportedIsas } from 'trm-node'; console.log(typeof loadModel, supportedIsas().includes('scalar'))"]);
    expect(r.out.trim()).toBe('function true');
  });

  it('ships type declarations for both', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    for (const cond of ['import', 'require']) {
      const types = pkg.exports['.'][cond].types as string;
      expect(fs.existsSync(path.join(REPO_ROOT, types))).toBe(true);
    }
    expect(fs.readFileSync(path.join(REPO_ROOT, 'dist', 'index.d.ts'), 'utf8')).toMatch(/loadModel/);
  });

  it('the CLI runs the shipped example model with adaptive halting', () => {
    const r = node([path.join('dist', 'cli.js'), 'run', 'models/example-untrained', '--batch', '2', '--steps', '4', '--threshold', '0.5']);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/sample 1: stopped by (halt|maxSteps) after [1-4] step/);
    const rules = node([path.join('dist', 'cli.js'), 'run', 'models/example-untrained', '--batch', '2', '--steps', '4', '--confidence', '0', '--h-cycles', '1']);
    expect(rules.status).toBe(0);
    expect(rules.out).toMatch(/sample 1: stopped by confidence after 1 step/);
  });

  it('the CLI reports a bad model directory as a typed error, exit code 1', () => {
    const r = node([path.join('dist', 'cli.js'), 'info', '/nonexistent']);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/ModelFormatError/);
  });
});
