/**
 * Exponential moving average of the trained weights (the official `models/ema.py`
 * EMAHelper): after every optimizer step `ema = rate * ema + (1 - rate) * weight`, starting
 * from the initial weights. Only tensors with a gradient are averaged, as officially (the
 * buffers H_init / L_init never change, and the puzzle embedding is a buffer too).
 */
export class WeightAverage {
  readonly rate: number;
  /** The averaged copy of each tracked tensor, by name. */
  readonly averages: Map<string, Float32Array>;

  constructor(rate: number, initial: ReadonlyMap<string, Float32Array>) {
    this.rate = rate;
    this.averages = new Map([...initial].map(([name, w]) => [name, w.slice()]));
  }

  update(current: ReadonlyMap<string, Float32Array>): void {
    const keep = this.rate;
    const take = 1 - keep;
    for (const [name, avg] of this.averages) {
      const w = current.get(name)!;
      for (let i = 0; i < avg.length; i++) avg[i] = keep * avg[i] + take * w[i];
    }
  }
}
