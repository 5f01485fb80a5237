/**
 * Servers for the serve tests: a repository in a temporary directory holding copies of the
 * shipped models (published the way `trm publish` does), and a server on an ephemeral
 * loopback port. Every server and directory made here is closed and removed by `cleanup`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelRepository } from '../../lib/serve/repository';
import { createServer, type ServeApp, type ServerOptions } from '../../lib/serve/server';
import { REPO_ROOT } from './paths';

export const SHIPPED = path.join(REPO_ROOT, 'models');
/** The shipped models' names as a server lists them (sorted), read from models/ rather than written here. */
export const SHIPPED_NAMES = fs.readdirSync(SHIPPED).filter((d) => fs.existsSync(path.join(SHIPPED, d, 'config.json'))).sort();
export const TOKEN = 'test-token-0123456789';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

const made: Array<() => Promise<void>> = [];

/** A fresh repository directory with `versions` copies of each model given (model name -> shipped directory name). */
export async function makeRepository(models: Record<string, string>, versions = 1): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-serve-'));
  made.push(async () => fs.rmSync(root, { recursive: true, force: true }));
  const repository = new ModelRepository({ root });
  for (const [name, shipped] of Object.entries(models)) {
    for (let v = 0; v < versions; v++) await repository.publish(path.join(SHIPPED, shipped), { name });
  }
  return root;
}

/** A server (not listening) that tests close at the end. */
export async function makeServer(options: ServerOptions = {}): Promise<ServeApp> {
  const app = createServer({ threads: 2, token: TOKEN, ...options });
  made.push(() => app.close());
  await app.ready();
  return app;
}

/** A server listening on an ephemeral loopback port; returns it and its base URL. */
export async function listeningServer(options: ServerOptions = {}): Promise<{ app: ServeApp; url: string }> {
  const app = await makeServer(options);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url };
}

export async function cleanup(): Promise<void> {
  while (made.length > 0) await made.pop()!();
}

/** One OIP input tensor for `rows` (each seq_len tokens). */
export function oipBody(rows: ArrayLike<number>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    inputs: [{ name: 'inputs', shape: [rows.length, rows[0].length], datatype: 'INT32', data: rows.flatMap((r) => Array.from(r)) }],
    ...extra,
  };
}

export function output(body: { outputs: Array<{ name: string; data: number[] }> }, name: string): number[] {
  const tensor = body.outputs.find((o) => o.name === name);
  if (!tensor) throw new Error(`no output ${name} in ${JSON.stringify(body.outputs.map((o) => o.name))}`);
  return tensor.data;
}
