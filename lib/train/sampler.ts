/**
 * The training stream: the training set in a fresh shuffled order every epoch, each example
 * through a random augmentation (the official sets are augmented offline; drawing a new
 * symmetry on every visit gives the same distribution without storing it).
 *
 * Every random choice is a pure function of (seed, stream position): epoch e's order comes
 * from SeededRandom(seed, 'epoch e') and the augmentation of the p-th example drawn from
 * SeededRandom(seed, 'augment p'). The whole state of the stream is therefore one integer,
 * `position`, which a checkpoint saves and a resume restores exactly.
 */
import { SeededRandom } from '../util/seeded-random';
import { Example, permutation } from '../tasks/task';

export type Augmenter = (example: Example, rng: SeededRandom) => Example;

export class TrainingStream {
  /** Examples drawn so far. */
  position: number;
  private readonly examples: readonly Example[];
  private readonly seed: number;
  private readonly augment?: Augmenter;
  private orderEpoch = -1;
  private order: Int32Array = new Int32Array(0);

  constructor(examples: readonly Example[], seed: number, augment?: Augmenter, position = 0) {
    this.examples = examples;
    this.seed = seed;
    this.augment = augment;
    this.position = position;
  }

  get epoch(): number {
    return Math.floor(this.position / this.examples.length);
  }

  next(): Example {
    const n = this.examples.length;
    const epoch = Math.floor(this.position / n);
    if (epoch !== this.orderEpoch) {
      this.order = permutation(n, new SeededRandom(this.seed, `epoch ${epoch}`));
      this.orderEpoch = epoch;
    }
    const example = this.examples[this.order[this.position % n]];
    const drawn = this.augment ? this.augment(example, new SeededRandom(this.seed, `augment ${this.position}`)) : example;
    this.position++;
    return drawn;
  }
}
