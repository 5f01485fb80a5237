#!/usr/bin/env node
// Builds the addon with cmake-js without downloading anything: cmake-js fetches Node's
// headers from the internet unless it is pointed at a local copy, so point it at the
// headers that ship with this Node (<prefix>/include/node) when npm has not already.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const env = { ...process.env };
if (!env.npm_config_nodedir) {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const args = [cmakeJs, 'compile', '--out', 'build'];
const parallel = Math.max(1, require('node:os').availableParallelism?.() ?? 2);
args.push('--parallel', String(parallel));
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env, cwd: path.resolve(__dirname, '..') });
if (result.status !== 0) {
  console.error('\ntrm-node: building the native addon failed. It needs cmake >= 3.18 and a C++17 compiler (g++ or clang++).');
  process.exit(result.status ?? 1);
}
