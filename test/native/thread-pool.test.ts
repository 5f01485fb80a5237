/**
 * The thread pool (native/core/thread_pool.h) under load: native/tests/pool_check.cc runs
 * thousands of regions on 2, 3 and 5 threads (more threads than this machine's cores, so
 * workers are descheduled mid-region) and checks every index runs exactly once in the pool's
 * chunks, and that a caller whose workers are asleep takes their parts instead of waiting.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildNativeTool } from '../helpers/native-tool';

describe('thread pool', () => {
  it('runs each part once whoever runs it, and the caller takes sleeping workers\' parts', () => {
    const run = spawnSync(buildNativeTool('trm_pool_check'), [], { encoding: 'utf8', timeout: 60_000 });
    console.log(run.stdout.trim());
    expect(run.status, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/pool check: 43 case\(s\), 0 failure\(s\)/);
  }, 120_000);
});
