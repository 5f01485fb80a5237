/**
 * `GET /v1/models/{name}[/versions/{v}]/codec`: how a codec model (codec.json) reads its
 * input and what it answers, for forms and clients: the kind (record or text), the record
 * fields or the text limits, the label slots and their classes, the lines `trm train`
 * printed about the layout, and an input of the right shape to start from. A token model
 * has no codec: 404.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { NotFoundError } from '../errors';
import { markServed } from './infer';
import { ErrorBody, ModelParams, VersionParams } from './schemas';
import type { LoadedVersion } from './loaded-version';

const Field = Type.Object({
  path: Type.String(),
  type: Type.Union([Type.Literal('category'), Type.Literal('number'), Type.Literal('boolean')]),
  optional: Type.Boolean(),
  /** category: the values it knows (anything else is UNK). */
  values: Type.Optional(Type.Array(Type.String())),
  /** number: the range and the digits after the point. */
  min: Type.Optional(Type.Number()),
  max: Type.Optional(Type.Number()),
  decimals: Type.Optional(Type.Integer()),
});

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

export const CodecResponse = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  kind: Type.Union([Type.Literal('record'), Type.Literal('text')]),
  /** record: the schema's fields, in token order. */
  fields: Type.Optional(Type.Array(Field)),
  /** text: bytes read at most (longer text is truncated and reported), and whether it is lower-cased first. */
  maxLength: Type.Optional(Type.Integer()),
  lowercase: Type.Optional(Type.Boolean()),
  /** What the model answers: one slot per label field (or list entry), each one of its classes. */
  labels: Type.Array(Type.Object({ name: Type.String(), classes: Type.Array(Scalar), allowsNone: Type.Boolean() })),
  /** The layout as `trm train` described it, one line per field. */
  describe: Type.Array(Type.String()),
  /** An input of this shape to start from (analyze's `input`). */
  sample: Type.Union([Type.String(), Type.Record(Type.String(), Type.Unknown())]),
});

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody };

function describeCodec(version: LoadedVersion): Static<typeof CodecResponse> {
  const codec = version.model.codec;
  if (codec === undefined) {
    throw new NotFoundError('this model has no codec: it reads tokens (or its task\'s text form)', {
      field: 'name', value: version.name, expected: 'a model directory with codec.json (trm train --data on records or texts writes one)',
    });
  }
  const labels = codec.labels.slots.map((s) => ({ name: s.name, classes: [...s.classes], allowsNone: s.allowsNone }));
  const common = { model: version.name, version: version.version, labels, describe: codec.describe() };
  if (codec.kind === 'text') return { ...common, kind: 'text', maxLength: codec.maxLength, lowercase: codec.lowercase, sample: codec.sampleInput() };
  const fields = codec.fields.map((f) => ({
    path: f.path, type: f.type, optional: f.optional === true,
    ...(f.type === 'category' && { values: f.values }),
    ...(f.type === 'number' && { min: f.min, max: f.max, decimals: f.decimals }),
  }));
  return { ...common, kind: 'record', fields, sample: codec.sampleInput() };
}

export async function codecRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const repository = app.trm.repository;
  const response = { 200: CodecResponse, ...errors };
  app.get('/v1/models/:name/codec', { schema: { params: ModelParams, response } }, async (req) =>
    repository.use(req.params.name, undefined, async (version) => {
      markServed(req, version);
      return describeCodec(version);
    }));
  app.get('/v1/models/:name/versions/:version/codec', { schema: { params: VersionParams, response } }, async (req) =>
    repository.use(req.params.name, req.params.version, async (version) => {
      markServed(req, version);
      return describeCodec(version);
    }));
}
