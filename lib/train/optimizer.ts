/**
 * The optimizers of the official recipe (pretrain.py):
 * - AdamW for every trained tensor: Adam moments with bias correction and decoupled weight
 *   decay (`w -= lr * wd * w`, applied to every tensor as torch's AdamW does). The official
 *   code uses AdamATan2, Adam with atan2 in place of the epsilon division; we keep the
 *   familiar epsilon form, which only differs where the second moment is tiny.
 * - Sign-SGD with decoupled weight decay for the rows of the puzzle embedding a step used
 *   (`CastedSparseEmbeddingSignSGD_Distributed`): with a gradient this sparse, Adam would
 *   reduce to its sign anyway.
 * Moments are float32, like the parameters; the arithmetic of one element runs in doubles.
 */
export interface AdamWSettings {
  beta1: number;
  beta2: number;
  weightDecay: number;
  epsilon: number;
}

export class AdamW {
  readonly settings: AdamWSettings;
  /** First and second moments, by tensor name (what a checkpoint saves). */
  readonly firstMoments = new Map<string, Float32Array>();
  readonly secondMoments = new Map<string, Float32Array>();
  /** Updates applied so far (drives the bias correction). */
  updates = 0;

  constructor(settings: AdamWSettings, sizes: ReadonlyMap<string, number>) {
    this.settings = settings;
    for (const [name, n] of sizes) {
      this.firstMoments.set(name, new Float32Array(n));
      this.secondMoments.set(name, new Float32Array(n));
    }
  }

  /**
   * One update of every tensor: `gradScale` multiplies each gradient first (the official
   * `(1 / global_batch_size) * loss` and any clipping factor, folded into one number).
   */
  step(params: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>, lr: number, gradScale: number): void {
    const { beta1, beta2, weightDecay, epsilon } = this.settings;
    this.updates++;
    const correction1 = 1 - beta1 ** this.updates;
    const correction2 = 1 - beta2 ** this.updates;
    const decay = 1 - lr * weightDecay;
    for (const [name, w] of params) {
      const g = grads.get(name)!;
      const m = this.firstMoments.get(name)!;
      const v = this.secondMoments.get(name)!;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] * gradScale;
        const mi = beta1 * m[i] + (1 - beta1) * gi;
        const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = w[i] * decay - (lr * (mi / correction1)) / (Math.sqrt(vi / correction2) + epsilon);
      }
    }
  }
}

/**
 * Sign-SGD on the puzzle-embedding rows a step used: `row = row * (1 - lr * wd) - lr * sign(grad)`.
 * `grad` holds one summed gradient row per id (as the engine returns it, ids distinct).
 */
export function signSgdRows(table: Float32Array, width: number, ids: Int32Array, grad: Float32Array, lr: number, weightDecay: number): void {
  const decay = 1 - lr * weightDecay;
  for (let r = 0; r < ids.length; r++) {
    const row = ids[r] * width;
    for (let j = 0; j < width; j++) {
      const g = grad[r * width + j];
      table[row + j] = table[row + j] * decay - lr * Math.sign(g);
    }
  }
}

/** The L2 norm of all gradients together, scaled by `gradScale` (for clipping). */
export function globalGradientNorm(grads: Iterable<Float32Array>, gradScale: number): number {
  let sum = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  return Math.sqrt(sum) * Math.abs(gradScale);
}
