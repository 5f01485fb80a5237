/**
 * `GET /v1/models/{name}[/versions/{v}]/example?seed=S`: one held-out example of the model's
 * task, drawn as `trm solve --random` draws it (lib/tasks/splits.ts: a seed at or above
 * EVAL_SEED, the training set's generator options), with its label. The trace page offers it
 * as "a random held-out example"; the seed in the answer reproduces it with
 * `trm solve DIR --random --seed S` (both call `heldOutExample`).
 */
import * as path from 'node:path';
import { randomInt } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { InputError } from '../errors';
import { CONFIG_FILE } from '../model/directory';
import { EVAL_SEED, heldOutExample } from '../tasks/splits';
import { markServed } from './infer';
import { ErrorBody, ModelParams, VersionParams } from './schemas';
import type { LoadedVersion } from './loaded-version';

/** Query values arrive as strings (the server does not coerce types): digits only. */
const ExampleQuery = Type.Object({ seed: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })) }, { additionalProperties: false });

export const ExampleResponse = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  task: Type.String(),
  seed: Type.Integer(),
  /** The input tokens: what the analyze route takes as `input`. */
  inputs: Type.Array(Type.Integer()),
  /** The label at every position (-100 where nothing is asked). */
  labels: Type.Array(Type.Integer()),
  puzzleIdentifier: Type.Integer(),
  /** The input in the task's text form (what analyze parses) when that reads back to these tokens, else null. */
  text: Type.Union([Type.String(), Type.Null()]),
  /** The input as the task renders it for people. */
  display: Type.String(),
  /** The labelled answer as the task renders it. */
  answer: Type.String(),
});

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody };

function drawExample(version: LoadedVersion, seedText: string | undefined) {
  const task = version.task;
  if (!task) {
    throw new InputError('this model has no task to draw examples from', { field: 'name', value: version.name, expected: `a model whose config names a built-in task (${version.taskProblem})` });
  }
  const seed = seedText === undefined ? EVAL_SEED + randomInt(0, 2 ** 31) : Number(seedText);
  if (seed < EVAL_SEED) {
    throw new InputError('that seed draws training examples', { field: 'seed', value: seed, expected: `an integer >= ${EVAL_SEED} (held-out seeds)` });
  }
  const example = heldOutExample(task, version.config, seed, path.join(version.dir, CONFIG_FILE));
  const display = task.format(example.inputs);
  // Offered as editable text only when it reads back to these very tokens.
  let text: string | null = task.inputText ? task.inputText(example.inputs) : display;
  try {
    const parsed = task.parse?.(text);
    if (!parsed || parsed.length !== example.inputs.length || !parsed.every((t, i) => t === example.inputs[i])) text = null;
  } catch {
    text = null;
  }
  return {
    model: version.name,
    version: version.version,
    task: task.name,
    seed,
    inputs: Array.from(example.inputs),
    labels: Array.from(example.labels),
    puzzleIdentifier: example.puzzleIdentifier,
    text,
    display,
    answer: task.format(example.inputs, example.labels),
  };
}

export async function exampleRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const repository = app.trm.repository;
  const schema = { querystring: ExampleQuery, response: { 200: ExampleResponse, ...errors } };
  app.get('/v1/models/:name/example', { schema: { params: ModelParams, ...schema } }, async (req) =>
    repository.use(req.params.name, undefined, async (version) => {
      markServed(req, version);
      return drawExample(version, req.query.seed);
    }));
  app.get('/v1/models/:name/versions/:version/example', { schema: { params: VersionParams, ...schema } }, async (req) =>
    repository.use(req.params.name, req.params.version, async (version) => {
      markServed(req, version);
      return drawExample(version, req.query.seed);
    }));
}
