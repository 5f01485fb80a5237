/**
 * `createServer(options)`: the Fastify instance of `trm serve`, not yet listening. The core
 * is three encapsulated plugins (the Open Inference Protocol routes, the TRM v1 routes, the
 * metrics route) over one repository; what every route shares lives on the root: the token
 * check, request ids, the metrics hook, errors as `{"error": ...}`, and `app.trm`, through
 * which a plugin (the trace page, training jobs) reaches the repository:
 *
 *   const app = createServer({ repository: 'models-repo', plugins: [jobsPlugin] });
 *   // or: app.register(jobsPlugin) before app.listen(); inside, app.trm.repository.use(...)
 *
 * Models load when the server gets ready (`app.ready()` or `app.listen()`); closing the server
 * stops taking requests, lets those in flight finish, and frees the models.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { UnavailableError } from '../errors';
import type { LoadOptions } from '../types';
import type { BatchSettings } from './batcher';
import { codecRoutes } from './codec-route';
import { exampleRoutes } from './example-route';
import { sendError } from './http-errors';
import { AuthMode, DEFAULT_LIMITS, ServeLimits, checkAccess } from './limits';
import { ServerMetrics } from './metrics';
import { oipRoutes } from './oip-routes';
import { tracePage } from './page';
import { ModelRepository } from './repository';
import { v1Routes } from './v1-routes';

export interface ServerOptions {
  /** A repository directory (`DIR/<name>/<version>/`), a repository object, or nothing for the shipped models. */
  repository?: string | ModelRepository;
  /** Worker threads of each model (default: all cores). */
  threads?: number;
  /** Other load options of every model (isa, precision). */
  load?: Omit<LoadOptions, 'backend' | 'threads'>;
  batching?: Partial<BatchSettings>;
  limits?: Partial<ServeLimits>;
  /** The bearer token of admin routes (and of every route with auth 'all'); null: admin routes are refused. */
  token?: string | null;
  auth?: AuthMode;
  /** Versions retention keeps besides `current` when the server publishes. Default 3. */
  keepVersions?: number;
  /** Fastify's logger option; default off (the CLI turns it on). */
  logger?: FastifyServerOptions['logger'];
  /** Plugins registered after the core routes, each seeing `app.trm`. */
  plugins?: Array<FastifyPluginAsync | { plugin: FastifyPluginAsync<Record<string, unknown>>; options?: Record<string, unknown> }>;
}

/** What every route and plugin reaches as `app.trm`. */
export interface ServeContext {
  repository: ModelRepository;
  metrics: ServerMetrics;
  limits: ServeLimits;
  batching: BatchSettings;
  /** True once shutdown began: new requests get 503. */
  draining: boolean;
  version: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    trm: ServeContext;
  }
  interface FastifyRequest {
    /** The model version a request was served by, for the metrics labels. */
    served: { model: string; version: string } | null;
  }
}

export type ServeApp = FastifyInstance;

function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
let requestCounter = 0;

export function createServer(options: ServerOptions = {}): ServeApp {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const metrics = new ServerMetrics();
  const repository = options.repository instanceof ModelRepository
    ? options.repository
    : new ModelRepository({
      root: options.repository,
      load: { ...options.load, ...(options.threads !== undefined && { threads: options.threads }) },
      batch: options.batching,
      keepVersions: options.keepVersions,
    });
  repository.attach(metrics.observer());
  const token = options.token ?? null;
  const auth = options.auth ?? 'mutating';

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyLimit,
    // Our own 503 (with Retry-After and an {"error"} body) answers requests during shutdown.
    return503OnClosing: false,
    requestIdHeader: 'x-request-id',
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req-${(++requestCounter).toString(36)}`;
    },
    // Types are checked as sent: "5" is not the integer 5, and nothing unknown is dropped silently.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Every body is JSON; text is refused as an unsupported media type rather than read as a string.
  app.removeContentTypeParser('text/plain');

  const context: ServeContext = {
    repository, metrics, limits, batching: { ...repository.batchSettings }, draining: false, version: packageVersion(),
  };
  app.decorate('trm', context);
  app.decorateRequest('served', null);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (context.draining) throw new UnavailableError('the server is shutting down', { retryAfterSeconds: 5 });
    checkAccess(request, token, auth);
  });
  // While draining, each answered connection is closed, so the server can finish closing
  // instead of waiting out the clients' keep-alive.
  app.addHook('onSend', async (_request, reply) => {
    if (context.draining) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.request(route, request.method, request.served?.model ?? '', request.served?.version ?? '', reply.statusCode, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }));

  app.addHook('onReady', async () => {
    await repository.start();
  });
  app.addHook('preClose', async () => {
    context.draining = true;
  });
  app.addHook('onClose', async () => {
    await repository.close();
  });

  app.register(oipRoutes);
  app.register(v1Routes);
  app.register(exampleRoutes);
  app.register(codecRoutes);
  app.register(tracePage);
  app.get('/metrics', { config: { access: 'read' } }, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  for (const entry of options.plugins ?? []) {
    if (typeof entry === 'function') app.register(entry);
    else app.register(entry.plugin, entry.options ?? {});
  }
  return app as unknown as ServeApp;
}
