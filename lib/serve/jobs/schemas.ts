/** The TypeBox schemas of the job, dataset and feedback routes (camelCase, as the TRM v1 routes). */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Free = Type.Record(Type.String(), Type.Unknown());

export const JobRequest = Type.Object({
  kind: Type.Union([Type.Literal('train'), Type.Literal('fine-tune')]),
  /** The model the new version is published under. */
  model: Type.String({ minLength: 1, maxLength: 128 }),
  /** train: a built-in task's generated set, or an uploaded dataset (one of the two). */
  task: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  dataset: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  /** Generator options of the task (as `trm generate`: minBlanks, maxBlanks, ...). */
  taskOptions: Type.Optional(Free),
  trainCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
  /** The training recipe (lib/train/recipe.ts: steps, batch, lr, warmupSteps, emaRate, seed, ...). */
  recipe: Type.Optional(Free),
  evalCount: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  evalEvery: Type.Optional(Type.Integer({ minimum: 1 })),
  /** fine-tune: original training examples replayed per feedback example (default 1). */
  replay: Type.Optional(Type.Number({ minimum: 0, maximum: 1000 })),
  publish: Type.Optional(Type.Boolean()),
  promote: Type.Optional(Type.Union([Type.Literal('never'), Type.Literal('always'), Type.Literal('if-better')])),
}, { additionalProperties: false });
export type JobRequestType = Static<typeof JobRequest>;

const Accuracy = Type.Object({ exact: Type.Number(), correct: Type.Integer(), count: Type.Integer() });
const AccuracySets = Type.Record(Type.String(), Accuracy);
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const JobView = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  model: Type.String(),
  status: Type.String(),
  created: Type.String(),
  started: Nullable(Type.String()),
  finished: Nullable(Type.String()),
  attempts: Type.Integer(),
  cancelRequested: Type.Boolean(),
  progress: Nullable(Type.Object({
    step: Type.Integer(),
    total: Type.Integer(),
    loss: Nullable(Type.Number()),
    actSteps: Nullable(Type.Number()),
    stepsPerSecond: Nullable(Type.Number()),
    etaSeconds: Nullable(Type.Number()),
    heldOut: Nullable(Type.Object({ step: Type.Integer(), sets: AccuracySets })),
    resumedFrom: Nullable(Type.Integer()),
  })),
  error: Nullable(Type.String()),
  /** The version the job published (null until then, or when it does not publish). */
  version: Nullable(Type.Integer()),
  result: Nullable(Type.Object({
    version: Nullable(Type.Integer()),
    promoted: Type.Boolean(),
    promoteReason: Nullable(Type.String()),
    heldOut: Nullable(AccuracySets),
    baseline: Nullable(AccuracySets),
    trainingSeconds: Nullable(Type.Number()),
    deleted: Type.Array(Type.Integer()),
  })),
  spec: Free,
  links: Type.Object({ self: Type.String(), events: Type.String(), model: Type.String() }),
});

export const JobParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const JobListQuery = Type.Object({
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  status: Type.Optional(Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s)))),
}, { additionalProperties: false });
export const JobList = Type.Object({ jobs: Type.Array(JobView) });

export const DatasetQuery = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  /** The built-in task whose encoding the examples use: checked against it, and it gives the model and its augmentation. */
  task: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
}, { additionalProperties: false });
export const DatasetView = Type.Object({
  id: Type.String(),
  name: Nullable(Type.String()),
  task: Nullable(Type.String()),
  count: Type.Integer(),
  seqLen: Type.Integer(),
  vocabSize: Type.Integer(),
  numPuzzleIdentifiers: Type.Integer(),
  sha256: Type.String(),
  bytes: Type.Integer(),
  created: Type.String(),
});
export const DatasetList = Type.Object({ datasets: Type.Array(DatasetView) });

export const FeedbackRequest = Type.Object({
  examples: Type.Array(Type.Object({
    /** The input in the model task's text form, or its tokens. */
    input: Type.Union([Type.String({ maxLength: 100_000 }), Type.Array(Type.Integer())]),
    /** The right answer, in the same forms (tokens may hold -100 for positions not asked). */
    label: Type.Union([Type.String({ maxLength: 100_000 }), Type.Array(Type.Integer())]),
    puzzleIdentifier: Type.Optional(Type.Integer({ minimum: 0 })),
  }, { additionalProperties: false }), { minItems: 1, maxItems: 100_000 }),
}, { additionalProperties: false });
export type FeedbackRequestType = Static<typeof FeedbackRequest>;
export const FeedbackResponse = Type.Object({ model: Type.String(), added: Type.Integer(), total: Type.Integer() });
