/**
 * The TypeBox schemas of every route: Fastify validates requests and serializes responses
 * from them. The Open Inference Protocol ones follow the published REST shapes (KServe's V2
 * protocol, Triton's HTTP/REST and its model-repository extension); names are snake_case
 * there and camelCase in the TRM v1 routes, as each protocol's callers expect.
 */
import { Type, type Static } from '@sinclair/typebox';

export const ErrorBody = Type.Object({ error: Type.String() });

const ModelName = Type.String({ minLength: 1, maxLength: 128 });
const VersionRef = Type.String({ minLength: 1, maxLength: 64 });

export const ModelParams = Type.Object({ name: ModelName });
export const VersionParams = Type.Object({ name: ModelName, version: VersionRef });
export type VersionParamsType = Static<typeof VersionParams>;

/** OIP parameters are free-form key/values. */
const Parameters = Type.Record(Type.String(), Type.Unknown());

/** Row-major data, flat or nested to the tensor's shape (checked element by element by the route, which names the index at fault). */
const TensorData = Type.Array(Type.Unknown());

export const RequestInput = Type.Object({
  name: Type.String({ maxLength: 64 }),
  shape: Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 8 }),
  datatype: Type.String({ maxLength: 16 }),
  parameters: Type.Optional(Parameters),
  data: TensorData,
}, { additionalProperties: false });

export const RequestOutput = Type.Object({
  name: Type.String({ maxLength: 64 }),
  parameters: Type.Optional(Parameters),
}, { additionalProperties: false });

export const InferenceRequest = Type.Object({
  id: Type.Optional(Type.String({ maxLength: 256 })),
  parameters: Type.Optional(Parameters),
  inputs: Type.Array(RequestInput, { minItems: 1, maxItems: 8 }),
  outputs: Type.Optional(Type.Array(RequestOutput, { maxItems: 16 })),
}, { additionalProperties: false });
export type InferenceRequestType = Static<typeof InferenceRequest>;

export const ResponseOutput = Type.Object({
  name: Type.String(),
  datatype: Type.String(),
  shape: Type.Array(Type.Integer()),
  data: Type.Array(Type.Number()),
});

export const InferenceResponse = Type.Object({
  model_name: Type.String(),
  model_version: Type.String(),
  id: Type.Optional(Type.String()),
  parameters: Type.Optional(Parameters),
  outputs: Type.Array(ResponseOutput),
});

const MetadataTensor = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()), parameters: Type.Optional(Parameters) });

export const ModelMetadata = Type.Object({
  name: Type.String(),
  versions: Type.Array(Type.String()),
  platform: Type.String(),
  inputs: Type.Array(MetadataTensor),
  outputs: Type.Array(MetadataTensor),
  parameters: Type.Optional(Parameters),
});

export const ServerMetadata = Type.Object({ name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) });
export const Live = Type.Object({ live: Type.Boolean() });
export const Ready = Type.Object({ ready: Type.Boolean() });
export const ModelReady = Type.Object({ name: Type.String(), version: Type.Optional(Type.String()), ready: Type.Boolean() });

export const IndexRequest = Type.Union([Type.Null(), Type.Object({
  repository_name: Type.Optional(Type.String({ maxLength: 128 })),
  ready: Type.Optional(Type.Boolean()),
}, { additionalProperties: false })]);

export const IndexResponse = Type.Array(Type.Object({
  name: Type.String(), version: Type.Optional(Type.String()), state: Type.Optional(Type.String()), reason: Type.Optional(Type.String()),
}));

export const LoadRequest = Type.Union([Type.Null(), Type.Object({
  repository_name: Type.Optional(Type.String({ maxLength: 128 })),
  parameters: Type.Optional(Parameters),
}, { additionalProperties: false })]);

export const Empty = Type.Object({});

/** TRM v1: a sample as the task's text form, or its tokens. */
// A codec model (codec.json) also takes a record as an object, or a text as a string.
const AnalyzeInput = Type.Union([Type.String({ maxLength: 65_536 }), Type.Array(Type.Integer(), { maxItems: 65_536 }), Type.Record(Type.String(), Type.Unknown())]);
/** Inference options by their library names (maxSteps, haltThreshold, ...); the library checks them. */
const AnalyzeOptions = Type.Record(Type.String(), Type.Unknown());

export const AnalyzeRequest = Type.Object({
  input: AnalyzeInput,
  puzzleIdentifier: Type.Optional(Type.Integer()),
  options: Type.Optional(AnalyzeOptions),
}, { additionalProperties: false });
export type AnalyzeRequestType = Static<typeof AnalyzeRequest>;

export const BatchAnalyzeRequest = Type.Object({
  inputs: Type.Array(AnalyzeInput, { minItems: 1 }),
  puzzleIdentifiers: Type.Optional(Type.Array(Type.Integer())),
  options: Type.Optional(AnalyzeOptions),
}, { additionalProperties: false });
export type BatchAnalyzeRequestType = Static<typeof BatchAnalyzeRequest>;

export const AnalyzeStep = Type.Object({
  step: Type.Integer(),
  answer: Type.Union([Type.String(), Type.Null()]),
  prediction: Type.Array(Type.Integer()),
  changed: Type.Integer(),
  confidence: Type.Number(),
  haltProbability: Type.Number(),
  halted: Type.Boolean(),
  /** Codec models: the label as it stood after this step, its probability, the step as text. */
  label: Type.Optional(Type.Unknown()),
  labelProbability: Type.Optional(Type.Number()),
  text: Type.Optional(Type.String()),
});

export const Analysis = Type.Object({
  prediction: Type.Array(Type.Integer()),
  answer: Type.Union([Type.String(), Type.Null()]),
  steps: Type.Integer(),
  haltProbability: Type.Number(),
  confidence: Type.Number(),
  stoppedBy: Type.String(),
  /** Codec models: the decoded label and its probability (the product of its slots'). */
  label: Type.Optional(Type.Unknown()),
  labelProbability: Type.Optional(Type.Number()),
  trace: Type.Optional(Type.Array(AnalyzeStep)),
});

export const AnalyzeResponse = Type.Intersect([Type.Object({ model: Type.String(), version: Type.Integer() }), Analysis]);
export const BatchAnalyzeResponse = Type.Object({ model: Type.String(), version: Type.Integer(), results: Type.Array(Analysis) });

const Accuracy = Type.Object({ exact: Type.Number(), correct: Type.Integer(), count: Type.Integer() });
const VersionSummary = Type.Object({
  version: Type.Integer(),
  loaded: Type.Boolean(),
  inFlight: Type.Integer(),
  aliases: Type.Array(Type.String()),
  created: Type.Union([Type.String(), Type.Null()]),
  source: Type.Union([Type.String(), Type.Null()]),
  task: Type.Union([Type.String(), Type.Null()]),
  codec: Type.Union([Type.Literal('record'), Type.Literal('text'), Type.Null()]),
  heldOutAccuracy: Type.Union([Type.Object({ fixed: Type.Optional(Accuracy), adaptive: Type.Optional(Accuracy) }), Type.Null()]),
  trainingSamples: Type.Union([Type.Object({
    distinct: Type.Union([Type.Integer(), Type.Null()]), drawn: Type.Union([Type.Integer(), Type.Null()]), steps: Type.Union([Type.Integer(), Type.Null()]),
  }), Type.Null()]),
});

export const ModelsResponse = Type.Object({
  readOnly: Type.Boolean(),
  models: Type.Array(Type.Object({
    name: Type.String(),
    state: Type.String(),
    reason: Type.Union([Type.String(), Type.Null()]),
    defaultVersion: Type.Union([Type.Integer(), Type.Null()]),
    aliases: Type.Record(Type.String(), Type.Integer()),
    versions: Type.Array(VersionSummary),
  })),
});

export const AliasParams = Type.Object({ name: ModelName, alias: Type.String({ minLength: 1, maxLength: 64 }) });
export const AliasRequest = Type.Object({ version: Type.Union([Type.Integer(), Type.String({ maxLength: 16 })]) }, { additionalProperties: false });
export const AliasResponse = Type.Object({ model: Type.String(), alias: Type.String(), version: Type.Integer(), previous: Type.Union([Type.Integer(), Type.Null()]) });
export const DeleteResponse = Type.Object({ model: Type.String(), deleted: Type.Integer() });
