/**
 * The native test executables (native/tests, EXCLUDE_FROM_ALL in CMakeLists.txt): built on
 * demand in the build/ that npm run build:native configured.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT } from './paths';

const BUILD = path.join(REPO_ROOT, 'build');

/** Builds CMake target `target` and returns the executable's path. */
export function buildNativeTool(target: string): string {
  expect(fs.existsSync(path.join(BUILD, 'CMakeCache.txt')), 'build/ is configured by npm run build:native').toBe(true);
  execFileSync('cmake', ['--build', BUILD, '--target', target], { stdio: 'pipe' });
  return path.join(BUILD, target);
}
