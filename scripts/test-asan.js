#!/usr/bin/env node
// npm run test:asan: builds the addon with AddressSanitizer + UBSan into build-asan/ (never
// touching build/Release), then runs the native tests against it with the sanitizer runtimes
// preloaded into Node, and fails on any report. Node itself is not instrumented, so leak
// checking is off (LSan would report V8's own allocations); every other check halts.
//   node scripts/test-asan.js [--no-build] [vitest filters...]   (default: the native suites)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
// The suites that drive native code hardest for their time: every kernel of every ISA at tile
// edges (fp32, bf16, int8 and every Linear GEMM of the kernel list), threading, bf16, int8,
// the error paths, worker termination, the gradient engine.
// golden-parity and oracle-matrix are left out by default (minutes under ASan on 2 cores);
// name them to run them.
const DEFAULT_SUITES = [
  'test/native/kernels.test.ts', 'test/native/linear-kernels.test.ts', 'test/native/int8-kernels.test.ts', 'test/native/int8.test.ts',
  'test/native/threading.test.ts', 'test/native/bf16.test.ts', 'test/native/error-mapper.test.ts',
  'test/reliability', 'test/api/errors.test.ts', 'test/api/limits.test.ts', 'test/train/errors.test.ts', 'test/train/engine.test.ts',
];
const argv = process.argv.slice(2);
const build = !argv.includes('--no-build');
const suites = argv.filter((a) => a !== '--no-build');

function runtime(name) {
  const r = spawnSync(process.env.CC ?? 'gcc', [`-print-file-name=${name}`], { encoding: 'utf8' });
  const file = r.stdout.trim();
  if (r.status !== 0 || !path.isAbsolute(file) || !fs.existsSync(file)) {
    console.error(`test:asan: ${name} not found (gcc -print-file-name=${name} gave ${JSON.stringify(file)}); install gcc's sanitizer runtimes`);
    process.exit(1);
  }
  return file;
}

if (build) {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'build-native.js')], {
    stdio: 'inherit', cwd: ROOT, env: { ...process.env, TRM_BUILD_DIR: 'build-asan', TRM_SANITIZE: 'ON', TRM_CUDA: 'OFF' },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const addon = path.join(ROOT, 'build-asan', 'Release', 'trm_node.node');
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-asan-'));
const env = {
  ...process.env,
  TRM_NATIVE_PATH: addon,
  LD_PRELOAD: [runtime('libasan.so'), runtime('libubsan.so'), process.env.LD_PRELOAD].filter(Boolean).join(':'),
  // detect_odr_violation=0: Node's own globals are not instrumented and would be reported.
  // allocator_may_return_null=1: an impossible allocation throws std::bad_alloc as without
  // ASan (the addon maps it to TRM_OUT_OF_MEMORY) instead of aborting.
  ASAN_OPTIONS: `detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_odr_violation=0:allocator_may_return_null=1:log_path=${logDir}/asan`,
  UBSAN_OPTIONS: `halt_on_error=1:print_stacktrace=1:log_path=${logDir}/ubsan`,
};
const started = Date.now();
const vitest = require.resolve('vitest/vitest.mjs');
// Everything runs several times slower under ASan: a test gets 15 minutes, not 2.
const r = spawnSync(process.execPath, [vitest, 'run', '--testTimeout=900000', ...(suites.length > 0 ? suites : DEFAULT_SUITES)], { stdio: 'inherit', cwd: ROOT, env });
const reports = fs.readdirSync(logDir).map((f) => path.join(logDir, f));
for (const file of reports) process.stderr.write(`\n--- ${file}\n${fs.readFileSync(file, 'utf8')}`);
console.log(`test:asan: ${reports.length} sanitizer report(s), vitest exit ${r.status}, ${((Date.now() - started) / 1000).toFixed(0)} s (addon ${path.relative(ROOT, addon)})`);
process.exit(reports.length === 0 && r.status === 0 ? 0 : 1);
