/**
 * Where tests find things outside test/. The golden outputs of the official model live in
 * shared/golden beside the repository checkout (not inside it); TRM_GOLDEN_DIR overrides.
 */
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../..');

export const GOLDEN_DIR = process.env.TRM_GOLDEN_DIR ?? path.resolve(__dirname, '../../../shared/golden');
