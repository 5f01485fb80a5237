/**
 * A job request, checked before it is queued, so a bad one is a 4xx naming the field now
 * rather than a failed job later: the task and its options, the dataset, the recipe (every
 * value through the trainer's own resolveRecipe), the model (a fine-tune needs a served
 * version and feedback), the evaluation cadence.
 */
import { ConflictError, NotFoundError, OptionError, TrmError } from '../../errors';
import { getTask } from '../../tasks';
import { resolveRecipe, type TrainingRecipe } from '../../train/recipe';
import { checkModelName } from '../aliases';
import type { ModelRepository } from '../repository';
import type { JobRequestType } from './schemas';
import type { JobSpec, JobStore } from './store';

export const DEFAULT_EVAL_COUNT = 256;

/** Rethrows a library error with its field put under `prefix` (recipe.lr, taskOptions.minBlanks). */
function under<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TrmError && !(e.field ?? '').startsWith(prefix)) {
      const Class = e.constructor as new (message: string, details: object) => TrmError;
      throw new Class(e.message.split(';')[0], { field: `${prefix}.${e.field ?? ''}`.replace(/\.$/, ''), ...('value' in e ? { value: e.value } : {}), expected: e.expected });
    }
    throw e;
  }
}

export function checkJobRequest(body: JobRequestType, store: JobStore, repository: ModelRepository): JobSpec {
  const model = checkModelName(body.model, 'model');
  const recipe = under('recipe', () => resolveRecipe((body.recipe ?? {}) as Partial<TrainingRecipe>));
  const known = repository.names().includes(model) ? repository.summary(model) : undefined;
  const baseVersion = known?.defaultVersion ?? undefined;
  const spec: JobSpec = {
    kind: body.kind, model, recipe: { ...recipe },
    evalCount: body.evalCount ?? DEFAULT_EVAL_COUNT,
    evalEvery: body.evalEvery ?? Math.max(1, Math.ceil(recipe.steps / 10)),
    publish: body.publish ?? true,
    promote: body.promote ?? 'if-better',
    ...(baseVersion !== undefined ? { baseVersion } : {}),
  };
  if (body.kind === 'fine-tune') {
    for (const field of ['task', 'dataset', 'taskOptions', 'trainCount'] as const) {
      if (body[field] !== undefined) throw new OptionError('a fine-tune trains on the model\'s feedback', { field, value: body[field], expected: `no ${field} (send examples to POST /v1/models/${model}/feedback)` });
    }
    if (baseVersion === undefined) throw new NotFoundError('a fine-tune starts from a served model', { field: 'model', value: model, expected: `one of ${repository.names().join(', ') || '(none)'}` });
    if (store.feedbackCount(model) === 0) throw new ConflictError('the model has no feedback yet', { field: 'model', value: model, expected: `examples sent to POST /v1/models/${model}/feedback first` });
    return { ...spec, replay: body.replay ?? 1 };
  }
  if (body.replay !== undefined) throw new OptionError('replay is for fine-tune jobs', { field: 'replay', value: body.replay, expected: 'no replay on a train job' });
  if ((body.task === undefined) === (body.dataset === undefined)) {
    throw new OptionError('a train job needs exactly one source of examples', { field: body.task === undefined ? 'task' : 'dataset', expected: 'either task (a built-in task) or dataset (an id from POST /v1/datasets)' });
  }
  if (body.task !== undefined) {
    const task = getTask(body.task);
    const options = body.taskOptions ?? {};
    // One example checks every generator option (names, ranges) the way the run will use them.
    under('taskOptions', () => task.generate(1, 0, options));
    return { ...spec, task: task.name, taskOptions: options, ...(body.trainCount !== undefined ? { trainCount: body.trainCount } : {}) };
  }
  for (const field of ['taskOptions', 'trainCount'] as const) {
    if (body[field] !== undefined) throw new OptionError(`${field} is for task jobs`, { field, value: body[field], expected: `no ${field} with a dataset` });
  }
  if (!store.dataset(body.dataset!)) {
    throw new NotFoundError('unknown dataset', { field: 'dataset', value: body.dataset, expected: `an id from GET /v1/datasets (${store.datasets().map((d) => d.id).join(', ') || 'none yet'})` });
  }
  return { ...spec, dataset: body.dataset };
}
