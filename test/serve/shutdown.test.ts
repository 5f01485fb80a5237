/**
 * `trm serve` as a child process: it serves the shipped models without --repository, and on
 * SIGTERM stops taking connections, finishes every request in flight and exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cliIsFresh } from '../helpers/cli';
import { REPO_ROOT } from '../helpers/paths';
import { SHIPPED_NAMES } from '../helpers/serve';

const built = cliIsFresh(['lib/cli.ts', 'lib/cli', 'lib/serve']);
if (!built) console.log('skipping the trm serve process tests: dist/cli.js is missing or older than lib/ (run `npm run build:ts`)');

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts `trm serve --port 0` and resolves with its URL once it listens. */
function serve(args: string[] = []): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null>; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--quiet', '--threads', '1', '--batch-window', '20', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /listening on (http:\/\/[^ ]+)/.exec(stderr);
      if (m) resolve({ child, url: m[1], exited, stderr: () => stderr });
    });
    exited.then((code) => reject(new Error(`trm serve exited ${code} before listening:\n${stderr}`)));
  });
}

describe.skipIf(!built)('trm serve', () => {
  it('finishes the requests in flight on SIGTERM, then exits 0', async () => {
    const { child, url, exited, stderr } = await serve();
    expect(stderr()).toContain(`${SHIPPED_NAMES.length} models: ${SHIPPED_NAMES.join(', ')}; shipped, read-only`);
    // 12 requests of 200 fixed steps on the 4x4 Sudoku model, batched after a 20 ms window: caught in flight.
    const body = JSON.stringify({ inputs: [{ name: 'inputs', shape: [1, 16], datatype: 'INT32', data: new Array(16).fill(1) }], parameters: { max_steps: 200 } });
    const inFlight = Array.from({ length: 12 }, () => fetch(`${url}/v2/models/sudoku-4x4/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then(async (r) => ({ status: r.status, steps: (await r.json()).outputs?.[1]?.data?.[0] })));
    // Wait until the server holds them all.
    const holding = async () => {
      const models = (await (await fetch(`${url}/v1/models`)).json()).models as Array<{ name: string; versions: Array<{ inFlight: number }> }>;
      return models.find((m) => m.name === 'sudoku-4x4')!.versions[0].inFlight;
    };
    while (await holding() < 12) await new Promise((resolve) => setTimeout(resolve, 5));
    child.kill('SIGTERM');
    const answers = await Promise.all(inFlight);
    expect(answers).toEqual(new Array(12).fill({ status: 200, steps: 200 }));
    expect(await exited).toBe(0);
    expect(stderr()).toMatch(/SIGTERM: finishing requests in flight[\s\S]*stopped/);
    await expect(fetch(`${url}/v2/health/live`)).rejects.toThrow();
  });

  it('refuses a bad flag with a typed error', async () => {
    await expect(serve(['--auth', 'sometimes'])).rejects.toThrow(/OptionError: unknown auth mode; field: --auth/);
  });
});
