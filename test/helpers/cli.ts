/**
 * Running the built `trm` (dist/cli.js) from tests. A dist/ older than its sources would test
 * yesterday's CLI, so suites skip (saying why) unless it is newer than every source given.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './paths';

export const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

/** True when dist/cli.js exists and is newer than every file of `sources` (files or directories under the repository root). */
export function cliIsFresh(sources: string[]): boolean {
  if (!fs.existsSync(CLI)) return false;
  const built = fs.statSync(CLI).mtimeMs;
  const files = sources.flatMap((s) => {
    const full = path.join(REPO_ROOT, s);
    return fs.statSync(full).isDirectory() ? fs.readdirSync(full).map((f) => path.join(full, f)) : [full];
  });
  return files.every((f) => built >= fs.statSync(f).mtimeMs);
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr. */
  out: string;
}

export interface TrmOptions { cwd?: string; env?: Record<string, string | undefined> }

function childEnv(options: TrmOptions): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `trm args...`; `env` adds to (or with undefined, removes from) the environment. */
export function trm(args: string[], options: TrmOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: options.cwd ?? REPO_ROOT, encoding: 'utf8', env: childEnv(options) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, out: `${r.stdout}${r.stderr}` };
}

/**
 * `trm` without blocking: for commands that run for minutes, during which a blocked worker
 * would miss vitest's calls and the run would end in an "onTaskUpdate" timeout error.
 */
export function trmAsync(args: string[], options: TrmOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? REPO_ROOT, env: childEnv(options) });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, out: `${stdout}${stderr}` }));
  });
}
