/** What the fuzz runner (fuzz.test.ts) needs of a target; targets.ts lists them. */
import type fc from 'fast-check';

export interface FuzzTarget<I = unknown> {
  /** Names the target in reports and in saved failing inputs. */
  name: string;
  /** Its share of a run's inputs (the shares of all targets are normalised). */
  share: number;
  /** Where the seed corpus comes from. */
  corpus: string;
  /**
   * Mutated seeds; built on first use (seeds may read files or export a model). `smoke`: the
   * few-second run inside `npm test`, where a target may keep to its cheaper seeds.
   */
  arbitrary(smoke: boolean): fc.Arbitrary<I>;
  /** The code under test: returns, or throws. A throw that is not a TrmError is a finding. */
  run(input: I): void | Promise<void>;
  /** The input as bytes, saved when it is a finding so it can be replayed. */
  bytes(input: I): Uint8Array | string;
}
