/**
 * The job, dataset and feedback routes. Mutating ones (POST, DELETE) are admin routes: the
 * server's bearer token guards them like its other mutating routes (lib/serve/limits.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorBody, ModelParams } from '../schemas';
import { addDataset } from './datasets';
import { addFeedback } from './feedback';
import {
  DatasetList, DatasetQuery, DatasetView, FeedbackRequest, FeedbackResponse, JobList, JobListQuery, JobParams, JobRequest, JobView,
} from './schemas';
import { checkJobRequest } from './spec';
import type { JobRecord, JobStatus, JobStore } from './store';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody, 415: ErrorBody, 503: ErrorBody };
const ENDED: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);
const EVENTS_POLL_MS = 250;

export interface JobRoutesOptions {
  /** The store, or a function that throws why there is none (a server without --repository). */
  store: () => JobStore;
  /** Tells the runner a job was queued. */
  submitted: (job: JobRecord) => Promise<void> | void;
  datasetBodyLimit: number;
}

export function jobView(job: JobRecord) {
  const self = `/v1/jobs/${job.id}`;
  return {
    id: job.id, kind: job.kind, model: job.model, status: job.status, created: job.created, started: job.started, finished: job.finished,
    attempts: job.attempts, cancelRequested: job.cancelRequested, progress: job.progress, error: job.error,
    version: job.result?.version ?? null, result: job.result, spec: job.spec as unknown as Record<string, unknown>,
    links: { self, events: `${self}/events`, model: `/v1/models` },
  };
}

export async function jobRoutes(root: FastifyInstance, options: JobRoutesOptions): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const repository = app.trm.repository;
  const { store } = options;
  const streams = new Set<() => void>();

  app.addContentTypeParser(['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'], { parseAs: 'string', bodyLimit: options.datasetBodyLimit },
    (_request, body, done) => done(null, body));

  app.post('/v1/jobs', { schema: { body: JobRequest, response: { 202: JobView, ...errors } } }, async (req, reply) => {
    const spec = checkJobRequest(req.body, store(), repository);
    const job = store().createJob(spec);
    await options.submitted(job);
    reply.code(202).header('location', `/v1/jobs/${job.id}`);
    return jobView(store().job(job.id));
  });

  app.get('/v1/jobs', { schema: { querystring: JobListQuery, response: { 200: JobList, ...errors } } }, async (req) => ({
    jobs: store().listJobs({ model: req.query.model, status: req.query.status as JobStatus | undefined }).map(jobView),
  }));

  app.get('/v1/jobs/:id', { schema: { params: JobParams, response: { 200: JobView, ...errors } } }, async (req) => jobView(store().job(req.params.id)));

  app.delete('/v1/jobs/:id', { schema: { params: JobParams, response: { 202: JobView, ...errors } } }, async (req, reply) => {
    const job = store().cancel(req.params.id);
    reply.code(202);
    return jobView(job);
  });

  // Server-sent events: the job as GET /v1/jobs/{id} shows it, each time it changes, then `end` once it has ended.
  app.get('/v1/jobs/:id/events', { schema: { params: JobParams } }, async (req, reply) => {
    let job = store().job(req.params.id);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': req.id });
    let revision = -1;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearInterval(timer);
      streams.delete(finish);
      if (!res.writableEnded) res.end();
    };
    const tick = () => {
      try {
        job = store().job(job.id);
      } catch {
        finish();
        return;
      }
      if (job.revision !== revision) {
        revision = job.revision;
        res.write(`event: ${ENDED.has(job.status) ? 'end' : 'progress'}\nid: ${revision}\ndata: ${JSON.stringify(jobView(job))}\n\n`);
      }
      if (ENDED.has(job.status)) finish();
    };
    streams.add(finish);
    req.raw.on('close', finish);
    timer = setInterval(tick, EVENTS_POLL_MS);
    tick();
  });

  app.addHook('preClose', async () => {
    for (const finish of [...streams]) finish();
  });

  app.post('/v1/datasets', { schema: { querystring: DatasetQuery, response: { 201: DatasetView, ...errors } } }, async (req, reply) => {
    if (typeof req.body !== 'string') {
      reply.code(415);
      return { error: 'a dataset is a JSONL body: send it with Content-Type: application/x-ndjson' };
    }
    const record = addDataset(store(), req.body, { name: req.query.name, task: req.query.task });
    reply.code(201);
    return record;
  });

  app.get('/v1/datasets', { schema: { response: { 200: DatasetList, ...errors } } }, async () => ({ datasets: store().datasets() }));

  app.post('/v1/models/:name/feedback', { schema: { params: ModelParams, body: FeedbackRequest, response: { 200: FeedbackResponse, ...errors } } }, async (req) => {
    const { added, total } = await addFeedback(store(), repository, req.params.name, req.body);
    return { model: req.params.name, added, total };
  });
}
