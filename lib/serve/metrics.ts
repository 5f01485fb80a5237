/**
 * Prometheus metrics (prom-client) on the server's own registry, so two servers in one
 * process (tests, an embedding service) never share counters. Labels are the route pattern,
 * never the raw URL, and a model's name only once the repository knows it, so a caller
 * cannot grow the label space with made-up names.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { InferResult } from '../types';
import type { RepositoryObserver } from './repository';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'trm_requests_total', help: 'HTTP requests answered, by route pattern, model, version and status code',
    labelNames: ['route', 'method', 'model', 'version', 'status'] as const, registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'trm_request_duration_seconds', help: 'Time from request to response, by route pattern, model and version',
    labelNames: ['route', 'method', 'model', 'version'] as const, buckets: LATENCY_BUCKETS, registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'trm_batch_size', help: 'Samples per batch sent to the model',
    labelNames: ['model', 'version'] as const, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [this.registry],
  });
  readonly batchRequests = new Histogram({
    name: 'trm_batch_requests', help: 'Requests merged into one batch',
    labelNames: ['model', 'version'] as const, buckets: [1, 2, 4, 8, 16, 32, 64], registers: [this.registry],
  });
  readonly actSteps = new Histogram({
    name: 'trm_act_steps', help: 'ACT steps each answered sample ran',
    labelNames: ['model', 'version'] as const, buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64], registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'trm_queue_depth', help: 'Samples waiting for a batch',
    labelNames: ['model', 'version'] as const, registers: [this.registry],
  });
  readonly loadSeconds = new Histogram({
    name: 'trm_model_load_seconds', help: 'Time to load a model version',
    labelNames: ['model', 'version'] as const, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry],
  });

  /** The hooks the repository calls. */
  observer(): RepositoryObserver {
    return {
      loaded: (model, version, seconds) => this.loadSeconds.observe({ model, version: String(version) }, seconds),
      batch: (model, version, samples, requests) => {
        this.batchSize.observe({ model, version: String(version) }, samples);
        this.batchRequests.observe({ model, version: String(version) }, requests);
      },
      queueDepth: (model, version, samples) => this.queueDepth.set({ model, version: String(version) }, samples),
      answered: (model, version, result: InferResult) => {
        const labels = { model, version: String(version) };
        for (const steps of result.steps) this.actSteps.observe(labels, steps);
      },
    };
  }

  request(route: string, method: string, model: string, version: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, model, version, status: String(status) });
    this.latency.observe({ route, method, model, version }, seconds);
  }
}
