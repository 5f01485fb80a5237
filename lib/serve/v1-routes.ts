/**
 * The TRM v1 routes, for callers who do not speak tensors: analyze one input or many (text
 * form or tokens in, rendered answers out), list the models with their versions, metadata and
 * aliases, move an alias (the deployment, and the rollback), delete a version.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { InputError } from '../errors';
import { analysis, analyzeOptions, analyzeTokens } from './analyze';
import { checkedOptions, checkedSamples, checkedWork, markServed } from './infer';
import {
  AliasParams, AliasRequest, AliasResponse, AnalyzeRequest, AnalyzeRequestType, AnalyzeResponse, BatchAnalyzeRequest, BatchAnalyzeRequestType,
  BatchAnalyzeResponse, DeleteResponse,
  ErrorBody, ModelParams, ModelsResponse, VersionParams,
} from './schemas';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody, 503: ErrorBody };

export async function v1Routes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const repository = app.trm.repository;

  const analyzeMany = (request: FastifyRequest, name: string, ref: string | undefined, inputs: Array<string | number[] | Record<string, unknown>>, ids: number[] | undefined, given: Record<string, unknown> | undefined, field: (i: number) => string) =>
    repository.use(name, ref, async (version) => {
      markServed(request, version);
      if (ids !== undefined && ids.length !== inputs.length) {
        throw new InputError('one puzzle identifier per input', { field: 'puzzleIdentifiers', value: ids.length, expected: `${inputs.length} entries` });
      }
      const { options, trace } = analyzeOptions(given);
      checkedOptions(options, version, 'options');
      const rows = inputs.map((input, i) => analyzeTokens(version, input, field(i)));
      const samples = checkedSamples(version, rows, ids, app.trm.limits, 'inputs');
      checkedWork(samples, options, version, app.trm.limits, { steps: 'options.maxSteps', trace: 'options.trace' });
      const result = await version.infer(samples, options);
      return { version, results: rows.map((_, i) => analysis(version, samples.inputs, i, result, options, trace)) };
    });

  const analyzeOne = async (request: FastifyRequest, body: AnalyzeRequestType, name: string, ref: string | undefined) => {
    const { version, results } = await analyzeMany(request, name, ref, [body.input], body.puzzleIdentifier === undefined ? undefined : [body.puzzleIdentifier], body.options, () => 'input');
    return { model: name, version: version.version, ...results[0] };
  };
  const analyzeSchema = { body: AnalyzeRequest, response: { 200: AnalyzeResponse, ...errors } };
  app.post('/v1/models/:name/analyze', { schema: { params: ModelParams, ...analyzeSchema }, config: { access: 'infer' } },
    async (req) => analyzeOne(req, req.body, req.params.name, undefined));
  app.post('/v1/models/:name/versions/:version/analyze', { schema: { params: VersionParams, ...analyzeSchema }, config: { access: 'infer' } },
    async (req) => analyzeOne(req, req.body, req.params.name, req.params.version));

  const batchSchema = { body: BatchAnalyzeRequest, response: { 200: BatchAnalyzeResponse, ...errors } };
  const batchAnalyze = async (request: FastifyRequest, body: BatchAnalyzeRequestType, name: string, ref: string | undefined) => {
    const { version, results } = await analyzeMany(request, name, ref, body.inputs, body.puzzleIdentifiers, body.options, (i) => `inputs[${i}]`);
    return { model: name, version: version.version, results };
  };
  app.post('/v1/models/:name/batch-analyze', { schema: { params: ModelParams, ...batchSchema }, config: { access: 'infer' } },
    async (req) => batchAnalyze(req, req.body, req.params.name, undefined));
  app.post('/v1/models/:name/versions/:version/batch-analyze', { schema: { params: VersionParams, ...batchSchema }, config: { access: 'infer' } },
    async (req) => batchAnalyze(req, req.body, req.params.name, req.params.version));

  app.get('/v1/models', { schema: { response: { 200: ModelsResponse, ...errors } } }, async () => ({
    readOnly: repository.readOnly,
    models: repository.summaries().map((m) => ({
      name: m.name,
      state: m.state,
      reason: m.reason,
      defaultVersion: m.defaultVersion,
      aliases: m.aliases,
      versions: m.versions.map((v) => ({
        version: v.version,
        loaded: v.loaded,
        inFlight: v.inFlight,
        aliases: Object.keys(m.aliases).filter((a) => m.aliases[a] === v.version).sort(),
        created: v.metadata?.created ?? null,
        source: v.metadata?.source ?? null,
        task: v.metadata?.task ?? null,
        codec: v.metadata?.codec ?? null,
        heldOutAccuracy: v.metadata?.heldOutAccuracy ?? null,
        trainingSamples: v.metadata?.trainingSamples ?? null,
      })),
    })),
  }));

  app.put('/v1/models/:name/aliases/:alias', { schema: { params: AliasParams, body: AliasRequest, response: { 200: AliasResponse, ...errors } } }, async (req) => {
    const previous = await repository.setAlias(req.params.name, req.params.alias, req.body.version);
    return { model: req.params.name, alias: req.params.alias, version: Number(req.body.version), previous };
  });

  app.delete('/v1/models/:name/versions/:version', { schema: { params: VersionParams, response: { 200: DeleteResponse, ...errors } } }, async (req) => {
    repository.deleteVersion(req.params.name, req.params.version);
    return { model: req.params.name, deleted: Number(req.params.version) };
  });
}
