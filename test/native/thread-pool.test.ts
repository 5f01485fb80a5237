/**
 * The thread pool (native/core/thread_pool.h) under load: native/tests/pool_check.cc runs
 * thousands of regions on 2, 3 and 5 threads (more threads than this machine's cores, so
 * workers are descheduled mid-region) and checks every index runs exactly once in the pool's
 * chunks, and that a caller whose workers are asleep takes their parts instead of waiting.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths';

const BUILD = path.join(REPO_ROOT, 'build');

describe('thread pool', () => {
  it('runs each part once whoever runs it, and the caller takes sleeping workers\' parts', () => {
    expect(fs.existsSync(path.join(BUILD, 'CMakeCache.txt')), 'build/ is configured by npm run build:native').toBe(true);
    execFileSync('cmake', ['--build', BUILD, '--target', 'trm_pool_check'], { stdio: 'pipe' });
    const run = spawnSync(path.join(BUILD, 'trm_pool_check'), [], { encoding: 'utf8', timeout: 60_000 });
    console.log(run.stdout.trim());
    expect(run.status, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/pool check: 43 case\(s\), 0 failure\(s\)/);
  }, 120_000);
});
