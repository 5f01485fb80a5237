/**
 * computeGradients: the official training loss of one ACT step of a loaded model and its
 * gradient with respect to every trained parameter, as PyTorch's backward would give them
 * (`TinyRecursiveReasoningModel_ACTV1` under `ACTLossHead`, stablemax cross-entropy,
 * no_ACT_continue). For repeated steps use a GradientEngine, which keeps its buffers.
 */
import type { TrmModel } from '../trm-model';
import type { TrainBatch } from './batch';
import { GradientEngine, type GradientEngineOptions, type StepResult } from './engine';

export interface GradientResult extends StepResult {
  /** By state_dict name without checkpoint prefix (e.g. `inner.lm_head.weight`): every trained parameter. */
  grads: Record<string, Float32Array>;
}

/** One ACT step from `batch.carry` (default: the initial carry) and its gradients, off the event loop. */
export async function computeGradients(model: TrmModel, batch: TrainBatch, options?: GradientEngineOptions): Promise<GradientResult> {
  const engine = GradientEngine.fromModel(model, options);
  try {
    const result = await engine.step(batch);
    return { ...result, grads: engine.copyGradients() };
  } finally {
    engine.dispose();
  }
}

/** The same, blocking the calling thread: for scripts. */
export function computeGradientsSync(model: TrmModel, batch: TrainBatch, options?: GradientEngineOptions): GradientResult {
  const engine = GradientEngine.fromModel(model, options);
  try {
    const result = engine.stepSync(batch);
    return { ...result, grads: engine.copyGradients() };
  } finally {
    engine.dispose();
  }
}
