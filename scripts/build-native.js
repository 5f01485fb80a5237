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
// configure, then build: `cmake-js compile` skips the configure step when a build folder
// exists, so a changed TRM_CUDA would be ignored.
// TRM_BUILD_DIR: another build folder (the sanitizer build uses build-asan, so build/Release
// is never clobbered). TRM_SANITIZE=ON: AddressSanitizer + UBSan (npm run test:asan).
const buildDir = env.TRM_BUILD_DIR ?? 'build';
const args = ['--out', buildDir];
if ((env.TRM_SANITIZE ?? 'OFF').toUpperCase() === 'ON') args.push('--CDTRM_SANITIZE=ON');
// TRM_CUDA=AUTO|ON|OFF (default AUTO: CUDA only where nvcc and an NVIDIA driver are both
// present). Always passed, so a later plain build does not inherit a cached ON from the last.
const cuda = (env.TRM_CUDA ?? 'AUTO').toUpperCase();
if (!['AUTO', 'ON', 'OFF'].includes(cuda)) {
  console.error(`trm-node: TRM_CUDA must be AUTO, ON or OFF, got ${JSON.stringify(env.TRM_CUDA)}`);
  process.exit(1);
}
args.push(`--CDTRM_CUDA=${cuda}`);
// CMAKE_CUDA_ARCHITECTURES (e.g. "native" or "90") for the CUDA build; default "80;90".
if (env.TRM_CUDA_ARCHITECTURES) args.push(`--CDCMAKE_CUDA_ARCHITECTURES=${env.TRM_CUDA_ARCHITECTURES}`);
const parallel = Math.max(1, require('node:os').availableParallelism?.() ?? 2);
const run = (command, extra) =>
  spawnSync(process.execPath, [cmakeJs, command, ...args, ...extra], { stdio: 'inherit', env, cwd: path.resolve(__dirname, '..') });
const build = () => {
  const configured = run('configure', []);
  return configured.status === 0 ? run('build', ['--parallel', String(parallel)]) : configured;
};
// Whether the last configure chose to build CUDA (cmake/trm_cuda.cmake records it).
const cudaAttempted = () => {
  try {
    return /^TRM_CUDA_ATTEMPTED:INTERNAL=ON$/m.test(fs.readFileSync(path.resolve(__dirname, '..', buildDir, 'CMakeCache.txt'), 'utf8'));
  } catch {
    return false;
  }
};
let result = build();
if (result.status !== 0 && cuda === 'AUTO' && cudaAttempted()) {
  // AUTO found nvcc and a driver but the CUDA build failed (an old or broken toolkit): a CPU
  // install must not fail for it, so build without CUDA and say so. Any other failure is
  // reported as it is, without a second build.
  console.error('\ntrm-node: the CUDA part of the build failed; building without CUDA (set TRM_CUDA=ON to make this an error, OFF to skip CUDA).');
  args[args.indexOf('--CDTRM_CUDA=AUTO')] = '--CDTRM_CUDA=OFF';
  result = build();
}
if (result.status !== 0) {
  console.error('\ntrm-node: building the native addon failed. It needs cmake >= 3.18 and a C++17 compiler (g++ or clang++)'
    + (cuda === 'ON' ? ', and with TRM_CUDA=ON the CUDA toolkit (nvcc).' : '.'));
  process.exit(result.status ?? 1);
}
