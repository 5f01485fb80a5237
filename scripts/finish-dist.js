#!/usr/bin/env node
// Finishes dist/ after tsc: writes dist/index.mjs, the ES-module entry, which re-exports the
// CommonJS build by name so `import { loadModel } from 'trm-node'` works without a second
// compile; and marks the CLI executable (tsc does not), which `npx trm` needs.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.resolve(__dirname, '..', 'dist');
const names = Object.keys(require(path.join(dist, 'index.js'))).filter((n) => n !== 'default' && n !== '__esModule');
const body = [
  "import cjs from './index.js';",
  ...names.map((n) => `export const ${n} = cjs.${n};`),
  'export default cjs;',
  '',
].join('\n');
fs.writeFileSync(path.join(dist, 'index.mjs'), body);
fs.writeFileSync(path.join(dist, 'index.d.mts'), "export * from './index.js';\n");
fs.chmodSync(path.join(dist, 'cli.js'), 0o755);
