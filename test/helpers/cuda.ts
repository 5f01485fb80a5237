/**
 * Whether the CUDA tests can run here: they need an addon built with CUDA and a usable GPU.
 * Elsewhere they skip, saying why (STYLE.md: CUDA is optional and its tests skip with a message).
 */
import { cudaAvailable, type CudaAvailability } from '../../lib';

function status(): CudaAvailability {
  try {
    return cudaAvailable();
  } catch (e) {
    return { built: false, devices: 0, reason: `the addon did not load: ${(e as Error).message}` };
  }
}

export const CUDA = status();
export const HAS_GPU = CUDA.built && CUDA.devices > 0;

export function announceSkip(suite: string): void {
  if (!HAS_GPU) console.warn(`[${suite}] skipped: no CUDA device for this build (${CUDA.reason ?? 'unknown reason'})`);
}
