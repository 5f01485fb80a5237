/**
 * `createServer` from the built package entry (CommonJS and ES module), where the server
 * module loads on the first call; and that requiring the package alone does not load Fastify.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliIsFresh } from '../helpers/cli';
import { REPO_ROOT } from '../helpers/paths';

const built = cliIsFresh(['lib/index.ts', 'lib/serve']);

function node(args: string[]): string {
  const r = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim();
}

const SCRIPT = `const app = createServer({ logger: false });
app.inject('/v2/health/ready').then(async (r) => { console.log(r.statusCode, r.body); await app.close(); });`;

describe.skipIf(!built)('createServer from the package (needs `npm run build:ts`)', () => {
  it('serves the shipped models through require and import', () => {
    expect(node(['-e', `const { createServer } = require('trm-node'); ${SCRIPT}`])).toBe('200 {"ready":true}');
    expect(node(['--input-type=module', '-e', `import { createServer } from 'trm-node'; ${SCRIPT}`])).toBe('200 {"ready":true}');
  });

  it('does not load Fastify until it is called', () => {
    expect(node(['-e', "require('trm-node'); console.log(Object.keys(require.cache).some((f) => f.includes('/node_modules/fastify/')))"])).toBe('false');
  });
});
