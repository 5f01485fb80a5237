/**
 * `trm serve`: the HTTP inference service (lib/serve/) on a port. SIGTERM or SIGINT stops
 * taking requests, lets those in flight finish, frees the models and exits 0; a second
 * signal, or a drain longer than the grace period, exits 1 at once.
 */
import { OptionError } from '../errors';
import { DEFAULT_BATCH_SETTINGS } from '../serve/batcher';
import { DEFAULT_LIMITS, readToken, type AuthMode } from '../serve/limits';
import { createServer } from '../serve/server';
import { Command, intFlag, stringFlag } from './common';

const GRACE_MS = 30_000;

export const serveCommand: Command = {
  usage: `  trm serve [--repository DIR] [--port 8000] [--host 127.0.0.1] [options]
                                    serve models over HTTP (Open Inference Protocol v2 and TRM v1)
    --repository DIR  model repository DIR/<name>/<version>/ (default: the shipped models, read-only)
    --port N          TCP port (default 8000; 0 picks a free one)
    --host H          address to bind (default 127.0.0.1; 0.0.0.0 for every interface)
    --threads N       worker threads per model (default: all cores)
    --token-file F    bearer token for admin routes (default: TRM_SERVE_TOKEN; none: admin routes refused)
    --auth MODE       mutating (default: the token guards load/unload/alias/delete) | all (every route)
    --batch-window MS dynamic batching window (default ${DEFAULT_BATCH_SETTINGS.windowMs}); --max-batch N (default ${DEFAULT_BATCH_SETTINGS.maxBatch})
    --no-batching     run every request alone
    --max-queue N     waiting samples per model version before 503 (default ${DEFAULT_BATCH_SETTINGS.maxQueue})
    --timeout-ms MS   per-request deadline (default ${DEFAULT_BATCH_SETTINGS.timeoutMs})
    --max-samples N   samples per request (default ${DEFAULT_LIMITS.maxSamples}); --body-limit BYTES (default ${DEFAULT_LIMITS.bodyLimit})
    --max-steps N     ACT steps a request may ask for (default ${DEFAULT_LIMITS.maxSteps})
    --quiet           no request log`,
  flags: {
    repository: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, threads: { type: 'string' },
    'token-file': { type: 'string' }, auth: { type: 'string' }, 'batch-window': { type: 'string' }, 'max-batch': { type: 'string' },
    'no-batching': { type: 'boolean' }, 'max-queue': { type: 'string' }, 'timeout-ms': { type: 'string' }, 'max-samples': { type: 'string' },
    'body-limit': { type: 'string' }, 'max-steps': { type: 'string' }, quiet: { type: 'boolean' },
  },
  positionals: { min: 0, max: 0, names: '' },
  async run(_positionals, values) {
    const auth = stringFlag(values, 'auth') ?? 'mutating';
    if (auth !== 'mutating' && auth !== 'all') throw new OptionError('unknown auth mode', { field: '--auth', value: auth, expected: 'mutating or all' });
    const port = intFlag(values, 'port', 0) ?? 8000;
    if (port > 65535) throw new OptionError('not a port', { field: '--port', value: port, expected: 'an integer in [0, 65535]' });
    const app = createServer({
      repository: stringFlag(values, 'repository'),
      threads: intFlag(values, 'threads', 1),
      token: readToken(stringFlag(values, 'token-file')),
      auth: auth as AuthMode,
      batching: {
        enabled: values['no-batching'] !== true,
        ...defined('windowMs', intFlag(values, 'batch-window', 0)),
        ...defined('maxBatch', intFlag(values, 'max-batch', 1)),
        ...defined('maxQueue', intFlag(values, 'max-queue', 1)),
        ...defined('timeoutMs', intFlag(values, 'timeout-ms', 1)),
      },
      limits: {
        ...defined('maxSamples', intFlag(values, 'max-samples', 1)), ...defined('bodyLimit', intFlag(values, 'body-limit', 1)),
        ...defined('maxSteps', intFlag(values, 'max-steps', 1)),
      },
      logger: values.quiet ? false : { level: 'info' },
    });
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        console.error(`trm serve: ${signal} again, exiting without waiting`);
        process.exit(1);
      }
      stopping = true;
      console.error(`trm serve: ${signal}: finishing requests in flight`);
      const force = setTimeout(() => {
        console.error(`trm serve: requests still running after ${GRACE_MS / 1000} s, exiting`);
        process.exit(1);
      }, GRACE_MS);
      force.unref();
      app.close().then(() => {
        console.error('trm serve: stopped');
        process.exit(0);
      }, (e: unknown) => {
        console.error(`trm serve: ${(e as Error).message}`);
        process.exit(1);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    const address = await app.listen({ port, host: stringFlag(values, 'host') ?? '127.0.0.1' });
    const models = app.trm.repository.names();
    console.error(`trm serve: listening on ${address} (${models.length} model${models.length === 1 ? '' : 's'}: ${models.join(', ')}${app.trm.repository.readOnly ? '; shipped, read-only' : ''})`);
    // Serve until a signal: the listening socket keeps the process alive.
    await new Promise<never>(() => undefined);
  },
};

function defined<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}
